"""Who works a case: manual assignment, round-robin routing to online agents with room, and
hand-over. One action, :func:`assign_case`, changes the assignee whichever way it happens, so
every assignment writes the same audit entry and the same events (the agent's own queue, the
case's sockets, the desk list)."""

from __future__ import annotations

from typing import Literal

from sqlalchemy import func, select, text
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.db import utcnow
from kefu.core.events import emit
from kefu.core.security import Role, User, require
from kefu.desk import routing
from kefu.desk.audit import DeskAudit
from kefu.desk.lifecycle import open_if_new
from kefu.desk.models import CATEGORIES, AgentProfile, Case
from kefu.desk.validation import check_choice, field_error

How = Literal["manual", "auto", "handover"]


def agent_slots(db: Session) -> list[routing.AgentSlot]:
    rows = db.execute(
        select(Case.assignee_id, func.count())
        .where(Case.status_category.in_(("open", "pending")), Case.assignee_id.is_not(None))
        .group_by(Case.assignee_id)
    ).all()
    loads: dict[int, int] = {int(r[0] or 0): int(r[1]) for r in rows}
    return [
        routing.AgentSlot(
            agent_id=p.user_id,
            presence=p.presence,
            open_cases=int(loads.get(p.user_id, 0)),
            capacity=p.capacity,
            languages=frozenset(p.languages or ()),
            categories=frozenset(p.categories or ()),
            last_assigned_at=p.last_assigned_at,
        )
        for p in db.scalars(select(AgentProfile))
    ]


def agent_profiles(db: Session) -> list[AgentProfile]:
    return list(db.scalars(select(AgentProfile).order_by(AgentProfile.user_id)))


@action
def assign_case(
    db: Session, *, actor: User | None, case: Case, to: int | None, how: How = "manual"
) -> Case:
    """Gives ``case`` to agent ``to`` (None: back to the queue). ``manual`` checks the actor's
    right to assign others; ``auto`` is the router; ``handover`` is checked by the chat."""
    if to == case.assignee_id:
        unchanged(db)
        return case
    if how == "manual":
        assert actor is not None
        if to is not None and to != actor.id:
            require(actor, "case.assign")
    if to is not None:
        agent = db.get(User, to)
        if agent is None or agent.role not in (Role.agent, Role.supervisor):
            raise field_error(
                "assignee_id", f"user {to} is not an agent", key="not_an_agent", user=to
            )
    now = utcnow()
    old = case.assignee_id
    case.assignee_id = to
    case.updated_at = now
    if to is not None:
        prof = db.get(AgentProfile, to)
        if prof is not None:
            prof.last_assigned_at = now
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=DeskAudit.case_assign,
        entity="case",
        entity_id=case.id,
        data={"old": {"assignee_id": old}, "new": {"assignee_id": to}, "how": how},
    )
    changes = {"assignee_id": to}
    emit(db, f"case:{case.id}", {"type": "case.updated", "case_id": case.id, "changes": changes})
    emit(db, "desk", {"type": "case.updated", "case_id": case.id})
    if to is not None:
        emit(
            db,
            f"user:{to}",
            {
                "type": "case.assigned",
                "case_id": case.id,
                "by": actor.id if actor else None,
                "channel": case.channel,
                "subject": case.subject,
            },
        )
        open_if_new(db, case=case, actor=actor, now=now)
    return case


def assign_automatically(db: Session, *, case: Case, actor: User | None) -> int | None:
    """Round-robin among online agents with room, matching language (hard) and category (soft)."""
    if db.get_bind().dialect.name == "postgresql":
        # serialise concurrent auto-assignments so two workers never overfill one agent
        db.execute(text("SELECT pg_advisory_xact_lock(4242)"))
    chosen = routing.choose_agent(agent_slots(db), language=case.language, category=case.category)
    if chosen is None:
        return None
    assign_case(db, actor=actor, case=case, to=chosen, how="auto")
    return chosen


def assign_waiting(db: Session) -> int:
    """Hands unassigned open cases (oldest due first) to agents with room; returns how many."""
    n = 0
    waiting = db.scalars(
        select(Case)
        .where(Case.assignee_id.is_(None), Case.status_category == "open")
        .order_by(Case.next_due_at.asc().nulls_last(), Case.id)
        .limit(200)
    ).all()
    for case in waiting:
        if assign_automatically(db, case=case, actor=None) is not None:
            n += 1
    return n


@action
def set_presence(db: Session, *, actor: User, presence: str) -> AgentProfile:
    """Online, away or offline; going online picks up waiting cases."""
    require(actor, "presence.set")
    check_choice("presence", presence, ("online", "away", "offline"))
    prof = db.get(AgentProfile, actor.id)
    if prof is None:
        prof = AgentProfile(user_id=actor.id, languages=["zh"], categories=list(CATEGORIES))
        db.add(prof)
    old = prof.presence
    prof.presence, prof.presence_at = presence, utcnow()
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.agent_presence,
        entity="user",
        entity_id=actor.id,
        data={"old": old, "new": presence},
    )
    emit(db, "desk", {"type": "presence", "user_id": actor.id, "presence": presence})
    if presence == "online":
        assign_waiting(db)
    return prof
