"""Live-chat use cases: start, queue position, read receipts, hand-over, end (the chat stays a
case with its whole history)."""

from __future__ import annotations

from bisect import bisect_left
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.compliance.service import screen_message
from kefu.core import audit
from kefu.core.actions import action
from kefu.core.db import utcnow
from kefu.core.errors import Conflict, Forbidden, NotFound, by_language
from kefu.core.events import emit
from kefu.core.i18n import t
from kefu.core.security import Role, User, can, require
from kefu.desk import routing
from kefu.desk.access import visible_case
from kefu.desk.assignment import agent_slots, assign_case
from kefu.desk.audit import DeskAudit
from kefu.desk.cases import create_case, set_case_status
from kefu.desk.conversation import add_message
from kefu.desk.lifecycle import open_if_new
from kefu.desk.messages import mark_read
from kefu.desk.models import AgentProfile, Case
from kefu.desk.sla_policies import apply_sla
from kefu.desk.validation import check_body

#: average minutes an agent spends on a chat, for the customer's expected wait
AVG_CHAT_MINUTES = 6.0


__all__ = ["end_chat", "hand_over", "leave_message", "mark_read", "queue_info", "start_chat"]


def start_chat(
    db: Session,
    *,
    actor: User,
    body: str = "",
    category: str | None = None,
    language: str = "zh",
    subject: str = "",
) -> Case:
    """A customer opens a chat: it is a case on the chat channel from the first second, routed
    to a queue from the first message unless the customer chose a category."""
    if actor.role != Role.customer:
        raise Forbidden("only customers start chats; staff open cases")
    subject = subject.strip() or (
        body.strip()[:60] if body.strip() else t("channel.chat", language)
    )
    return create_case(
        db,
        actor=actor,
        channel="chat",
        subject=subject,
        category=category,
        language=language,
        body=body,
        status="new",
    )


def queue_info(db: Session, case: Case) -> dict[str, Any]:
    """Where a waiting chat stands: 1-based position among unassigned chats, expected wait."""
    return queue_infos(db, [case])[case.id]


def queue_infos(db: Session, cases: Sequence[Case]) -> dict[int, dict[str, Any]]:
    """:func:`queue_info` of each case, in at most two queries however many are waiting (the
    chat sockets answer many customers at once after a restart)."""
    waiting = [
        c
        for c in cases
        if c.assignee_id is None and c.status_category == "open" and c.channel == "chat"
    ]
    out = {
        c.id: {"position": 0, "wait_minutes": 0, "assigned": c.assignee_id is not None}
        for c in cases
    }
    if not waiting:
        return out
    # the waiting chats ahead of the last of these: each one's position is its rank among them
    ahead = list(
        db.scalars(
            select(Case.id)
            .where(
                Case.channel == "chat",
                Case.assignee_id.is_(None),
                Case.status_category == "open",
                Case.id < max(c.id for c in waiting),
            )
            .order_by(Case.id)
        )
    )
    online = int(
        db.scalar(
            select(func.count()).select_from(AgentProfile).where(AgentProfile.presence == "online")
        )
        or 0
    )
    for c in waiting:
        position = bisect_left(ahead, c.id) + 1
        out[c.id] = {
            "position": position,
            "wait_minutes": routing.expected_wait_minutes(position, online, AVG_CHAT_MINUTES),
            "assigned": False,
            "agents_online": online,
        }
    return out


@action
def hand_over(
    db: Session,
    *,
    actor: User,
    case_id: int,
    to_user_id: int,
    note: str = "",
    confirm: bool = False,
) -> Case:
    """Passes a chat to another agent with a system line both sides see, and an optional note.
    An agent who is not online, or already at capacity, would leave the customer waiting: that
    hand-over is refused (409, ``needs_confirm``) unless the caller confirms it."""
    require(actor, "case.take")
    case = visible_case(db, viewer=actor, case_id=case_id)
    target = db.get(User, to_user_id)
    if target is None or target.role not in (Role.agent, Role.supervisor):
        raise NotFound(f"agent {to_user_id} does not exist")
    if case.assignee_id not in (None, actor.id) and actor.role != Role.supervisor:
        raise Conflict(key="errors.handover_not_owner", lang=actor.language)
    if not confirm:
        slot = next((a for a in agent_slots(db) if a.agent_id == target.id), None)
        # the question reads in the language of the request, else the acting agent's
        name = by_language(target.name_for("zh-CN"), target.name_for("en"))
        if slot is None or slot.presence != "online":
            raise Conflict(
                key="ui.handover_offline",
                params={"agent": name},
                lang=actor.language,
                needs_confirm=True,
                reason="offline",
            )
        if slot.open_cases >= slot.capacity:
            raise Conflict(
                key="ui.handover_full",
                params={"agent": name, "load": slot.open_cases, "capacity": slot.capacity},
                lang=actor.language,
                needs_confirm=True,
                reason="full",
            )
    assign_case(db, actor=actor, case=case, to=target.id, how="handover")
    lang = case.language
    add_message(
        db,
        case=case,
        actor=None,
        kind="system",
        body=t("system.case_assigned", lang, agent=target.name_for(lang)),
    )
    if note.strip():
        # an internal note like any other: its personal data masked at rest and for staff who
        # may not reveal it, the words sealed for the author
        body = note.strip()
        check_body(body)
        masked, guard = screen_message(db, actor=actor, case_id=case.id, body=body, internal=True)
        add_message(
            db, case=case, actor=actor, kind="note", body=body, redacted=masked, guard=guard
        )
    return case


@action
def end_chat(db: Session, *, actor: User, case_id: int, resolve: bool = False) -> Case:
    """Ends the live conversation. The case keeps every message; an agent may resolve it.
    The customer ends their own chat; on the staff side only those who work cases may."""
    case = visible_case(db, viewer=actor, case_id=case_id)
    if actor.role != Role.customer:
        require(actor, "case.update")
    if case.channel != "chat":
        raise Conflict(key="errors.not_a_chat")
    lang = case.language
    add_message(
        db,
        case=case,
        actor=None,
        kind="system",
        body=t("system.chat_ended", lang),
    )
    emit(db, f"case:{case.id}", {"type": "chat.ended", "case_id": case.id})
    if resolve and actor.role != Role.customer:
        set_case_status(db, actor=actor, case_id=case.id, status="resolved")
    elif actor.role != Role.customer:
        open_if_new(db, case=case, actor=actor)
    return case


@action
def leave_message(db: Session, *, actor: User, case_id: int) -> Case:
    """With nobody to answer it live, a waiting chat is left as a message: the case moves from
    the chat channel to the web-ticket channel, so it is answered in turn under the ticket SLA
    (hours, not seconds) and leaves the waiting-chat list; a system line tells both sides. The
    customer does it for their own chat (the portal offers it when no agent is online); staff who
    may update cases may do it for a chat nobody has taken."""
    case = visible_case(db, viewer=actor, case_id=case_id)
    if actor.role != Role.customer and not can(actor, "case.update"):
        raise Forbidden("your role may not change this case")
    if case.channel != "chat":
        raise Conflict(key="errors.not_a_chat")
    if case.assignee_id is not None:
        raise Conflict(key="errors.chat_taken")
    if case.status_category not in ("open", "pending"):
        raise Conflict(key="errors.chat_finished")
    case.channel = "web"
    case.updated_at = utcnow()
    apply_sla(db, case)
    add_message(db, case=case, actor=None, kind="system", body=t("system.chat_left", case.language))
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.chat_left_as_message,
        entity="case",
        entity_id=case.id,
        data={"old": {"channel": "chat"}, "new": {"channel": "web"}},
    )
    emit(
        db,
        f"case:{case.id}",
        {"type": "case.updated", "case_id": case.id, "changes": {"channel": "web"}},
    )
    emit(db, "desk", {"type": "case.updated", "case_id": case.id})
    return case
