"""Live-chat use cases: start, queue position, read receipts, hand-over, end (the chat stays a
case with its whole history)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.db import utcnow
from kefu.core.errors import Conflict, NotFound, ValidationFailed
from kefu.core.events import emit
from kefu.core.i18n import t
from kefu.core.security import Role, User, require
from kefu.desk import routing, service
from kefu.desk.models import AgentProfile, Case

#: average minutes an agent spends on a chat, for the customer's expected wait
AVG_CHAT_MINUTES = 6.0


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
        raise ValidationFailed("only customers start chats; agents open cases")
    subject = subject.strip() or (
        body.strip()[:60] if body.strip() else t("channel.chat", language)
    )
    return service.create_case(
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
    if case.assignee_id is not None or case.status_category != "open":
        return {"position": 0, "wait_minutes": 0, "assigned": case.assignee_id is not None}
    ahead = db.scalar(
        select(func.count())
        .select_from(Case)
        .where(
            Case.channel == "chat",
            Case.assignee_id.is_(None),
            Case.status_category == "open",
            Case.id < case.id,
        )
    )
    position = int(ahead or 0) + 1
    online = (
        db.scalar(
            select(func.count()).select_from(AgentProfile).where(AgentProfile.presence == "online")
        )
        or 0
    )
    return {
        "position": position,
        "wait_minutes": routing.expected_wait_minutes(position, int(online), AVG_CHAT_MINUTES),
        "assigned": False,
        "agents_online": int(online),
    }


def mark_read(db: Session, *, actor: User, case_id: int, message_id: int) -> dict[str, Any]:
    case = service.visible_case(db, viewer=actor, case_id=case_id)
    side = "customer" if actor.role == Role.customer else "agent"
    attr = "customer_read_id" if side == "customer" else "agent_read_id"
    if message_id > getattr(case, attr):
        setattr(case, attr, message_id)
        emit(
            db,
            f"case:{case.id}",
            {
                "type": "read",
                "case_id": case.id,
                "by": side,
                "message_id": message_id,
                "user_id": actor.id,
            },
        )
    return {"case_id": case.id, "by": side, "message_id": getattr(case, attr)}


def hand_over(db: Session, *, actor: User, case_id: int, to_user_id: int, note: str = "") -> Case:
    """Passes a chat to another agent with a system line both sides see, and an optional note."""
    require(actor, "case.take")
    case = service.visible_case(db, viewer=actor, case_id=case_id)
    target = db.get(User, to_user_id)
    if target is None or target.role not in (Role.agent, Role.supervisor):
        raise NotFound(f"agent {to_user_id} does not exist")
    if case.assignee_id not in (None, actor.id) and actor.role != Role.supervisor:
        raise Conflict("only the assigned agent or a supervisor can hand this chat over")
    old = case.assignee_id
    case.assignee_id = target.id
    prof = db.get(AgentProfile, target.id)
    if prof is not None:
        prof.last_assigned_at = utcnow()
    lang = case.language
    service._add_message(
        db,
        case=case,
        actor=None,
        kind="system",
        body=t("system.case_assigned", lang, agent=target.name_for(lang)),
    )
    if note.strip():
        service._add_message(db, case=case, actor=actor, kind="note", body=note.strip())
    audit.record(
        db,
        actor_id=actor.id,
        action="case.handover",
        entity="case",
        entity_id=case.id,
        data={"from": old, "to": target.id},
    )
    emit(db, f"user:{target.id}", {"type": "case.assigned", "case_id": case.id})
    return case


def end_chat(db: Session, *, actor: User, case_id: int, resolve: bool = False) -> Case:
    """Ends the live conversation. The case keeps every message; an agent may resolve it."""
    case = service.visible_case(db, viewer=actor, case_id=case_id)
    if case.channel != "chat":
        raise Conflict("this case is not a chat")
    lang = case.language
    service._add_message(
        db,
        case=case,
        actor=None,
        kind="system",
        body=t("system.chat_to_case", lang, ref=f"#{case.id}"),
    )
    emit(db, f"case:{case.id}", {"type": "chat.ended", "case_id": case.id})
    if resolve and actor.role != Role.customer:
        service.update_case(db, actor=actor, case_id=case.id, status="resolved")
    return case
