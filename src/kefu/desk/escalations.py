"""Escalation actions: an agent hands a case to a team (funds operations, technical support,
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
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.compliance.service import screen_message
from kefu.core import audit
from kefu.core.actions import action
from kefu.core.db import utcnow
from kefu.core.errors import Conflict, Forbidden, NotFound, ValidationFailed, by_language
from kefu.core.events import emit
from kefu.core.security import User, can, get_crypto, require
from kefu.desk import sla
from kefu.desk.access import visible_case
from kefu.desk.assignment import assign_case
from kefu.desk.audit import DeskAudit
from kefu.desk.models import BusinessCalendar, Case
from kefu.desk.sla_policies import calendar_of
from kefu.desk.teams import is_member, member_ids
from kefu.desk.teams_models import Escalation, EscalationMessage, Team
from kefu.desk.validation import as_field, check_body, field_error

__all__ = [
    "answer_escalation",
    "close_escalation",
    "escalate_case",
    "ola_calendar",
    "post_escalation_message",
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
        raise as_field(exc, "note") from None
    if case.status_category == "closed":
        raise Conflict(key="errors.case_closed_new")
    busy = db.scalar(
        select(Escalation.id).where(
            Escalation.case_id == case.id,
            Escalation.team_id == team.id,
            Escalation.status != "closed",
        )
    )
    if busy is not None:
        raise Conflict(
            key="errors.already_escalated",
            params={
                "case": case.id,
                "team": by_language(team.name_zh, team.name_en),
                "escalation": busy,
            },
        )
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
        raise Conflict(key="errors.escalation_closed", params={"id": esc.id})
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
        raise Conflict(key="errors.escalation_already_closed", params={"id": esc.id})
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
