"""Escalation reads: a case's escalations, one escalation with its thread, a team's queue in
OLA order, the supervisor's summary by team, and the plain status line the customer sees. The
actions that change an escalation are in ``kefu.desk.escalations``."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.core import i18n
from kefu.core.config import get_settings
from kefu.core.db import utcnow
from kefu.core.errors import Forbidden
from kefu.core.security import Role, User, can, get_crypto, require
from kefu.desk import sla
from kefu.desk.access import visible_case
from kefu.desk.escalations import NEAR_PERCENT, _get, _may_write, ola_calendar
from kefu.desk.models import Case
from kefu.desk.teams import get_team, is_member, teams_of_user
from kefu.desk.teams_models import ESCALATION_STATUSES, Escalation, EscalationMessage, Team
from kefu.desk.validation import check_choice
from kefu.identity import service as identity

__all__ = [
    "case_escalations",
    "customer_status",
    "escalation_detail",
    "escalation_summary",
    "team_queue",
]


def _clock(db: Session, esc: Escalation, team: Team, now: datetime) -> dict[str, Any]:
    if esc.status == "closed" and esc.answered_at is None:
        c = sla.SlaClock(esc.ola_due_at, "none", None)
    else:
        c = sla.sla_state(
            ola_calendar(db, team),
            started=esc.created_at,
            due=esc.ola_due_at,
            now=now,
            completed_at=esc.answered_at,
            near_percent=NEAR_PERCENT,
        )
    return {
        "due": c.due.isoformat() if c.due else None,
        "state": c.state,
        "remaining_minutes": c.remaining_minutes,
    }


def _body_for(viewer: User, author_id: int | None, body: str, sealed: str | None) -> str:
    """Other staff read the masked text; the author reads their own words."""
    if sealed and author_id == viewer.id:
        return get_crypto().decrypt(sealed)
    return body


def _rows(
    db: Session,
    escs: Sequence[Escalation],
    *,
    viewer: User,
    lang: str,
    now: datetime,
    thread: bool = False,
) -> list[dict[str, Any]]:
    if not escs:
        return []
    teams = {
        t.id: t for t in db.scalars(select(Team).where(Team.id.in_({e.team_id for e in escs})))
    }
    cases = {
        c.id: c for c in db.scalars(select(Case).where(Case.id.in_({e.case_id for e in escs})))
    }
    msgs: dict[int, list[EscalationMessage]] = {e.id: [] for e in escs}
    if thread:
        for m in db.scalars(
            select(EscalationMessage)
            .where(EscalationMessage.escalation_id.in_(list(msgs)))
            .order_by(EscalationMessage.id)
        ):
            msgs[m.escalation_id].append(m)
    user_ids: set[int | None] = set()
    for e in escs:
        user_ids |= {e.opened_by_id, e.answered_by_id, cases[e.case_id].assignee_id}
    for ms in msgs.values():
        user_ids |= {m.author_id for m in ms}
    users = identity.users_by_id(db, user_ids)

    def name(uid: int | None) -> str | None:
        return users[uid].name_for(lang) if uid in users else None

    out = []
    for e in escs:
        team, case = teams[e.team_id], cases[e.case_id]
        member = is_member(db, team.id, viewer.id)
        writable = (
            e.status != "closed"
            and _may_write(db, case, e, viewer)
            and can(viewer, "escalation.work")
        )
        out.append(
            {
                "id": e.id,
                "case_id": case.id,
                "case_subject": case.subject,
                "team_id": team.id,
                "team_code": team.code,
                "team": team.name_for(lang),
                "status": e.status,
                "status_name": i18n.t(f"teams.status_{e.status}", lang),
                "opened_by_id": e.opened_by_id,
                "opened_by": name(e.opened_by_id),
                "owner_id": case.assignee_id,
                "owner": name(case.assignee_id),
                "note": _body_for(viewer, e.opened_by_id, e.note, e.note_sealed),
                "created_at": e.created_at,
                "ola_due_at": e.ola_due_at,
                "ola": _clock(db, e, team, now),
                "answered_at": e.answered_at,
                "answered_by": name(e.answered_by_id),
                "closed_at": e.closed_at,
                "may_write": writable,
                "may_answer": e.status == "open"
                and can(viewer, "escalation.work")
                and (member or can(viewer, "team.manage")),
                "messages": [
                    {
                        "id": m.id,
                        "author_id": m.author_id,
                        "author": name(m.author_id),
                        "side": m.side,
                        "kind": m.kind,
                        "body": _body_for(viewer, m.author_id, m.body, m.sealed),
                        "created_at": m.created_at,
                    }
                    for m in msgs[e.id]
                ],
            }
        )
    return out


def _staff_only(viewer: User) -> None:
    if viewer.role == Role.customer:
        raise Forbidden("escalations are internal to the desk")
    require(viewer, "case.read_all")


def case_escalations(
    db: Session, *, viewer: User, case_id: int, lang: str, now: datetime | None = None
) -> list[dict[str, Any]]:
    """Every escalation of a case with its thread, newest first (staff only)."""
    _staff_only(viewer)
    case = visible_case(db, viewer=viewer, case_id=case_id)
    escs = list(
        db.scalars(
            select(Escalation).where(Escalation.case_id == case.id).order_by(Escalation.id.desc())
        )
    )
    return _rows(db, escs, viewer=viewer, lang=lang, now=now or utcnow(), thread=True)


def escalation_detail(
    db: Session, *, viewer: User, escalation_id: int, lang: str, now: datetime | None = None
) -> dict[str, Any]:
    _staff_only(viewer)
    esc, case, _team = _get(db, escalation_id)
    visible_case(db, viewer=viewer, case_id=case.id)
    return _rows(db, [esc], viewer=viewer, lang=lang, now=now or utcnow(), thread=True)[0]


def team_queue(
    db: Session,
    *,
    viewer: User,
    lang: str,
    team_id: int | None = None,
    status: str = "open",
    limit: int = 100,
    now: datetime | None = None,
) -> list[dict[str, Any]]:
    """A team's escalations in OLA order (earliest due first). Without ``team_id``: the teams
    the viewer belongs to (every team for the team managers). ``status`` is open, answered,
    closed or all."""
    _staff_only(viewer)
    check_choice("status", status, (*ESCALATION_STATUSES, "all"))
    stmt = select(Escalation)
    if team_id is not None:
        get_team(db, team_id)
        stmt = stmt.where(Escalation.team_id == team_id)
    elif not can(viewer, "team.manage"):
        mine = [t.id for t in teams_of_user(db, viewer.id)]
        stmt = stmt.where(Escalation.team_id.in_(mine))
    if status != "all":
        stmt = stmt.where(Escalation.status == status)
    order = (Escalation.ola_due_at, Escalation.id) if status == "open" else (Escalation.id.desc(),)
    escs = list(db.scalars(stmt.order_by(*order).limit(max(1, min(limit, 500)))))
    return _rows(db, escs, viewer=viewer, lang=lang, now=now or utcnow())


def escalation_summary(
    db: Session, *, viewer: User, lang: str, now: datetime | None = None, days: int = 30
) -> list[dict[str, Any]]:
    """For supervisors, per team: escalations open now, those of them past their OLA, and of
    the answers of the last ``days`` days how many came late."""
    require(viewer, "case.assign")
    now = now or utcnow()
    since = now - timedelta(days=days)
    teams = list(db.scalars(select(Team).order_by(Team.id)))
    counts: dict[int, dict[str, int]] = {
        t.id: {"open": 0, "overdue": 0, "answered": 0, "answered_late": 0} for t in teams
    }
    open_rows = db.execute(
        select(
            Escalation.team_id,
            func.count(),
            func.sum(sql_case((Escalation.ola_due_at < now, 1), else_=0)),
        )
        .where(Escalation.status == "open")
        .group_by(Escalation.team_id)
    )
    for tid, n, overdue in open_rows:
        counts[int(tid)]["open"] = int(n)
        counts[int(tid)]["overdue"] = int(overdue or 0)
    answered_rows = db.execute(
        select(
            Escalation.team_id,
            func.count(),
            func.sum(sql_case((Escalation.answered_at > Escalation.ola_due_at, 1), else_=0)),
        )
        .where(Escalation.answered_at.is_not(None), Escalation.answered_at >= since)
        .group_by(Escalation.team_id)
    )
    for tid, n, late in answered_rows:
        counts[int(tid)]["answered"] = int(n)
        counts[int(tid)]["answered_late"] = int(late or 0)
    overdue_escs = list(
        db.scalars(
            select(Escalation)
            .where(Escalation.status == "open", Escalation.ola_due_at < now)
            .order_by(Escalation.ola_due_at, Escalation.id)
            .limit(50)
        )
    )
    breaches = _rows(db, overdue_escs, viewer=viewer, lang=lang, now=now)
    return [
        {
            "team_id": t.id,
            "code": t.code,
            "name": t.name_for(lang),
            "active": t.active,
            "ola_minutes": t.ola_minutes,
            **counts[t.id],
            "breaches": [b for b in breaches if b["team_id"] == t.id],
        }
        for t in teams
        if t.active or counts[t.id]["open"]
    ]


def _when(due: datetime, now: datetime, lang: str) -> str:
    """'今天 17:00' / 'today 17:00', '明天 10:30', else the date: in the customer's zone."""
    tz = ZoneInfo(get_settings().timezone)
    local, today = due.astimezone(tz), now.astimezone(tz).date()
    clock = local.strftime("%H:%M")
    if local.date() == today:
        return i18n.t("teams.today_at", lang, time=clock)
    if local.date() == today + timedelta(days=1):
        return i18n.t("teams.tomorrow_at", lang, time=clock)
    return i18n.t("teams.date_at", lang, month=local.month, day=local.day, time=clock)


def customer_status(
    db: Session, *, viewer: User, case_id: int, lang: str, now: datetime | None = None
) -> list[dict[str, Any]]:
    """What the customer is told of the case's open escalations: the team's name and the time of
    the expected answer in their local time (Asia/Shanghai by default) — never the note or the
    thread. Past the internal target, no time is promised."""
    case = visible_case(db, viewer=viewer, case_id=case_id)
    now = now or utcnow()
    rows = db.execute(
        select(Escalation, Team)
        .join(Team, Team.id == Escalation.team_id)
        .where(
            Escalation.case_id == case.id,
            Escalation.status == "open",
        )
        .order_by(Escalation.id)
    ).all()
    out = []
    for esc, team in rows:
        name = team.name_for(lang)
        if esc.ola_due_at > now:
            text = i18n.t(
                "teams.customer_status", lang, team=name, when=_when(esc.ola_due_at, now, lang)
            )
        else:
            text = i18n.t("teams.customer_status_late", lang, team=name)
        out.append(
            {
                "team": name,
                "expected_by": esc.ola_due_at if esc.ola_due_at > now else None,
                "text": text,
            }
        )
    return out
