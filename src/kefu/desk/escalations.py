"""Escalation: an agent hands a case to a team (funds operations, technical support,
compliance …) with an internal note. The case stays the agent's; the team owes an answer by its
internal target (OLA, counted on the team's business calendar) and talks with the agent in an
internal thread the customer never sees. The customer sees only a plain status naming the team
and the time of the expected answer in their local time.

Who may do what (besides the role's permission, ``escalation.work``):

- escalate: whoever may update the case (``case.update``);
- write in the thread: the team's members, the case's agent and the one who escalated, and the
  team managers (``team.manage``);
- answer as the team: the team's members and the team managers only;
- close: anyone who may write in the thread.

Thread text is screened by the guard as internal notes are: personal data masked for other
staff (the words as written sealed for their author), never blocked, never sent to anyone
outside the desk."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import case as sql_case
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.compliance.service import screen_message
from kefu.core import audit, i18n
from kefu.core.actions import action
from kefu.core.config import get_settings
from kefu.core.db import utcnow
from kefu.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kefu.core.events import emit
from kefu.core.security import Role, User, can, get_crypto, require
from kefu.desk import sla
from kefu.desk.access import visible_case
from kefu.desk.assignment import assign_case
from kefu.desk.audit import DeskAudit
from kefu.desk.models import BusinessCalendar, Case
from kefu.desk.sla_policies import calendar_of
from kefu.desk.teams import get_team, is_member, member_ids, teams_of_user
from kefu.desk.teams_models import ESCALATION_STATUSES, Escalation, EscalationMessage, Team
from kefu.desk.validation import check_body, check_choice, field_error
from kefu.identity import service as identity

__all__ = [
    "answer_escalation",
    "case_escalations",
    "close_escalation",
    "customer_status",
    "escalate_case",
    "escalation_detail",
    "escalation_summary",
    "ola_calendar",
    "post_escalation_message",
    "team_queue",
]

#: the share of the OLA after which its countdown shows "near"
NEAR_PERCENT = 80


def ola_calendar(db: Session, team: Team) -> sla.Calendar:
    """The team's business calendar; a team whose calendar was removed counts round the clock."""
    row = db.scalar(select(BusinessCalendar).where(BusinessCalendar.name == team.calendar))
    return calendar_of(row) if row is not None else sla.ALWAYS


def _seal(db: Session, actor: User, case_id: int, body: str) -> tuple[str, str | None]:
    """(masked text, sealed original or None): screened as an internal note is."""
    masked, _guard = screen_message(db, actor=actor, case_id=case_id, body=body, internal=True)
    return masked, (get_crypto().encrypt(body) if masked != body else None)


def _owner_id(case: Case, esc: Escalation) -> int | None:
    """The agent who answers for the case: its assignee, else whoever escalated it."""
    return case.assignee_id or esc.opened_by_id


def _agent_side(case: Case, esc: Escalation, user: User) -> bool:
    return user.id in {case.assignee_id, esc.opened_by_id}


def _may_write(db: Session, case: Case, esc: Escalation, user: User) -> bool:
    return (
        _agent_side(case, esc, user)
        or is_member(db, esc.team_id, user.id)
        or can(user, "team.manage")
    )


def _notify(
    db: Session,
    user_ids: Sequence[int | None],
    *,
    actor: User,
    case: Case,
    esc: Escalation,
    team: Team,
    event: str,
) -> None:
    """An alert on each user's desk feed (web/hub.py forwards it; the desk rings): the same
    notification as a customer's reply, naming the escalation. Never to the actor."""
    alert = {
        "type": "alert",
        "kind": "escalation",
        "event": event,
        "case_id": case.id,
        "escalation_id": esc.id,
        "team": team.code,
        "team_zh": team.name_zh,
        "team_en": team.name_en,
        "channel": case.channel,
        "subject": case.subject,
    }
    for uid in dict.fromkeys(u for u in user_ids if u and u != actor.id):
        emit(db, f"user:{uid}", alert)
    emit(db, "desk", {"type": "escalation.updated", "case_id": case.id, "escalation_id": esc.id})


def _get(db: Session, escalation_id: int) -> tuple[Escalation, Case, Team]:
    esc = db.get(Escalation, escalation_id)
    if esc is None:
        raise NotFound(f"escalation {escalation_id} does not exist")
    case = db.get(Case, esc.case_id)
    team = db.get(Team, esc.team_id)
    assert case is not None and team is not None  # foreign keys
    return esc, case, team


@action
def escalate_case(
    db: Session,
    *,
    actor: User,
    case_id: int,
    team_id: int,
    note: str,
    now: datetime | None = None,
) -> Escalation:
    """Hands the case to a team with an internal note; the team's OLA starts now. The case keeps
    its agent (taken by the one who escalates when nobody had it)."""
    require(actor, "escalation.work")
    case = visible_case(db, viewer=actor, case_id=case_id)
    require(actor, "case.update")
    team = db.get(Team, team_id)
    if team is None or not team.active:
        raise field_error("team_id", f"no active team {team_id}")
    try:
        check_body(note)
    except ValidationFailed as exc:
        raise field_error("note", exc.detail.split(": ", 1)[-1]) from None
    if case.status_category == "closed":
        raise Conflict("the case is closed; open a new case instead")
    busy = db.scalar(
        select(Escalation.id).where(
            Escalation.case_id == case.id,
            Escalation.team_id == team.id,
            Escalation.status != "closed",
        )
    )
    if busy is not None:
        raise Conflict(f"case #{case.id} is already with {team.name_en} (escalation {busy})")
    if case.assignee_id is None and can(actor, "case.take"):
        # the case stays with an agent while the team works: the one who escalates it
        assign_case(db, actor=actor, case=case, to=actor.id)
    now = now or utcnow()
    masked, sealed = _seal(db, actor, case.id, note)
    esc = Escalation(
        case_id=case.id,
        team_id=team.id,
        status="open",
        opened_by_id=actor.id,
        note=masked,
        note_sealed=sealed,
        created_at=now,
        ola_due_at=sla.add_business_minutes(ola_calendar(db, team), now, team.ola_minutes),
    )
    db.add(esc)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.escalation_open,
        entity="case",
        entity_id=case.id,
        data={
            "escalation_id": esc.id,
            "team": team.code,
            "note": masked,
            "ola_due_at": esc.ola_due_at.isoformat(),
        },
    )
    _notify(db, member_ids(db, team.id), actor=actor, case=case, esc=esc, team=team, event="opened")
    return esc


@action
def post_escalation_message(
    db: Session, *, actor: User, escalation_id: int, body: str, now: datetime | None = None
) -> EscalationMessage:
    """A line in the internal thread: a team member's question or the agent's reply. The other
    side is notified; the agent writing on an answered escalation opens it again (the team owes
    a further answer)."""
    require(actor, "escalation.work")
    esc, case, team = _get(db, escalation_id)
    visible_case(db, viewer=actor, case_id=case.id)
    if not _may_write(db, case, esc, actor):
        raise Forbidden(
            f"only the members of {team.name_en} and the case's agent write in this thread"
        )
    if esc.status == "closed":
        raise Conflict(f"escalation {esc.id} is closed")
    check_body(body)
    now = now or utcnow()
    member = is_member(db, team.id, actor.id)
    side = "agent" if _agent_side(case, esc, actor) and not member else "team"
    masked, sealed = _seal(db, actor, case.id, body)
    msg = EscalationMessage(
        escalation_id=esc.id,
        author_id=actor.id,
        side=side,
        kind="message",
        body=masked,
        sealed=sealed,
        created_at=now,
    )
    db.add(msg)
    reopened = side == "agent" and esc.status == "answered"
    if reopened:
        esc.status, esc.answered_at, esc.answered_by_id = "open", None, None
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.escalation_message,
        entity="case",
        entity_id=case.id,
        data={
            "escalation_id": esc.id,
            "message_id": msg.id,
            "side": side,
            "body": masked,
            **({"reopened": True} if reopened else {}),
        },
    )
    to = [_owner_id(case, esc)] if side == "team" else member_ids(db, team.id)
    _notify(db, to, actor=actor, case=case, esc=esc, team=team, event=f"{side}_message")
    return msg


@action
def answer_escalation(
    db: Session, *, actor: User, escalation_id: int, body: str, now: datetime | None = None
) -> Escalation:
    """The team's answer: written in the thread, the escalation marked answered (its OLA met or
    missed at this moment) and the case's agent notified."""
    require(actor, "escalation.work")
    esc, case, team = _get(db, escalation_id)
    visible_case(db, viewer=actor, case_id=case.id)
    if not (is_member(db, team.id, actor.id) or can(actor, "team.manage")):
        raise Forbidden(f"only the members of {team.name_en} answer for the team")
    if esc.status != "open":
        raise Conflict(f"escalation {esc.id} is {esc.status}, not open")
    check_body(body)
    now = now or utcnow()
    masked, sealed = _seal(db, actor, case.id, body)
    msg = EscalationMessage(
        escalation_id=esc.id,
        author_id=actor.id,
        side="team",
        kind="answer",
        body=masked,
        sealed=sealed,
        created_at=now,
    )
    db.add(msg)
    esc.status, esc.answered_at, esc.answered_by_id = "answered", now, actor.id
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.escalation_answer,
        entity="case",
        entity_id=case.id,
        data={
            "escalation_id": esc.id,
            "message_id": msg.id,
            "body": masked,
            "ola_met": now <= esc.ola_due_at,
        },
    )
    _notify(
        db, [_owner_id(case, esc)], actor=actor, case=case, esc=esc, team=team, event="answered"
    )
    return esc


@action
def close_escalation(
    db: Session, *, actor: User, escalation_id: int, now: datetime | None = None
) -> Escalation:
    require(actor, "escalation.work")
    esc, case, team = _get(db, escalation_id)
    visible_case(db, viewer=actor, case_id=case.id)
    if not _may_write(db, case, esc, actor):
        raise Forbidden(f"only the members of {team.name_en} and the case's agent close it")
    if esc.status == "closed":
        raise Conflict(f"escalation {esc.id} is already closed")
    old = esc.status
    esc.status, esc.closed_at = "closed", now or utcnow()
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.escalation_close,
        entity="case",
        entity_id=case.id,
        data={"escalation_id": esc.id, "old": {"status": old}, "new": {"status": "closed"}},
    )
    side = [_owner_id(case, esc)] if is_member(db, team.id, actor.id) else member_ids(db, team.id)
    _notify(db, side, actor=actor, case=case, esc=esc, team=team, event="closed")
    return esc


# --- reads --------------------------------------------------------------------------------------


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
