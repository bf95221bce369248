"""Merging two cases of one customer (like Zendesk's merge): the customer wrote twice about one
matter, so the desk keeps one case.

The source's messages move into the target and the target's conversation is renumbered in time
order (message ids never change, so read receipts and links stay valid; an idempotency key a
client used on the source still answers a retry there with the moved message). The tags are
united, the source is closed with a note "merged into #N" and becomes read-only, and both cases
get their audit entry from the one action. Sockets that follow either case receive a
``case.merged`` frame naming the target (the portal and the desk move there); the hub
(web/hub.py) forwards it and resets its delivery counter for the renumbered target.

Read-only is enforced for every path at once: a flush that changes a merged case (other than its
read receipts) or adds a message, tag or file to it is refused with a 409."""

from __future__ import annotations

from enum import StrEnum
from typing import Any

from sqlalchemy import event as sa_event
from sqlalchemy import select, update
from sqlalchemy.orm import Session, attributes

from kefu.core import audit
from kefu.core.actions import action
from kefu.core.db import utcnow
from kefu.core.errors import Conflict
from kefu.core.events import emit
from kefu.core.i18n import t
from kefu.core.security import User, require
from kefu.desk import lifecycle
from kefu.desk.access import visible_case
from kefu.desk.conversation import add_message
from kefu.desk.merge_keys import MERGING, merged_refusal, moved_key
from kefu.desk.models import Attachment, Case, CaseTag, Message
from kefu.desk.sla_policies import refresh_next_due
from kefu.desk.tags import MAX_TAGS
from kefu.desk.validation import field_error

__all__ = ["MergeAudit", "merge_cases"]

_MERGING = MERGING
#: what may still change on a merged case: who has read how far
_STILL_WRITABLE = {"customer_read_id", "agent_read_id"}


class MergeAudit(StrEnum):
    merge = "case.merge"


@action
def merge_cases(db: Session, *, actor: User, source_id: int, target_id: int) -> Case:
    """Merges case ``source_id`` into ``target_id`` (same customer, neither merged before) and
    returns the target."""
    require(actor, "case.update")
    if source_id == target_id:
        raise field_error("target_id", "a case cannot be merged into itself", key="merge_self")
    source = visible_case(db, viewer=actor, case_id=source_id)
    target = visible_case(db, viewer=actor, case_id=target_id)
    if source.merged_into_id is not None:
        raise Conflict(
            key="errors.merged_already",
            params={"case": source.id, "into": source.merged_into_id},
        )
    if target.merged_into_id is not None:
        raise Conflict(
            key="errors.merge_into_that",
            params={"case": target.id, "into": target.merged_into_id},
        )
    if source.customer_id != target.customer_id:
        raise Conflict(key="errors.merge_customers", params={"case": source.id, "other": target.id})
    tags = target.tags + [x for x in source.tags if x not in target.tags]
    if len(tags) > MAX_TAGS:
        raise Conflict(key="errors.merge_tags", params={"n": len(tags), "max": MAX_TAGS})
    now = utcnow()
    # both rows locked in id order (concurrent writers to either case wait for the merge)
    db.execute(
        update(Case)
        .where(Case.id.in_(sorted((source.id, target.id))))
        .values(updated_at=now)
        .execution_options(synchronize_session=False)
    )
    db.info[_MERGING] = True
    try:
        moved = _move_messages(db, source, target)
        old_tags = target.tags
        target.tag_rows = list(target.tag_rows) + [
            CaseTag(case_id=target.id, tag=x) for x in tags if x not in old_tags
        ]
        if target.first_response_at is None:
            target.first_response_at = source.first_response_at
        if source.last_message_at and (
            target.last_message_at is None or source.last_message_at > target.last_message_at
        ):
            target.last_message_at = source.last_message_at
        target.customer_read_id = max(target.customer_read_id, source.customer_read_id)
        target.agent_read_id = max(target.agent_read_id, source.agent_read_id)
        lang_s, lang_t = source.language, target.language
        add_message(
            db,
            case=source,
            actor=None,
            kind="system",
            body=t("views.merged_into", lang_s, target=target.id),
            at=now,
        )
        lifecycle.change_status(db, case=source, actor=actor, key="closed", now=now)
        source.merged_into_id = target.id
        emit(
            db,
            f"case:{target.id}",
            {
                "type": "case.merged",
                "case_id": target.id,
                "source_id": source.id,
                "target_id": target.id,
                "last_seq": target.last_seq,
            },
        )
        add_message(
            db,
            case=target,
            actor=None,
            kind="system",
            body=t("views.merged_from", lang_t, source=source.id),
            at=now,
        )
        target.updated_at = now
        refresh_next_due(target)
        data: dict[str, Any] = {
            "source_id": source.id,
            "target_id": target.id,
            "messages": moved,
            "old": {"tags": old_tags},
            "new": {"tags": sorted(tags)},
        }
        audit.record(
            db,
            actor_id=actor.id,
            action=MergeAudit.merge,
            entity="case",
            entity_id=target.id,
            data=data,
        )
        audit.record(
            db,
            actor_id=actor.id,
            action=MergeAudit.merge,
            entity="case",
            entity_id=source.id,
            data={**data, "old": {"merged_into_id": None}, "new": {"merged_into_id": target.id}},
        )
        emit(
            db,
            f"case:{source.id}",
            {
                "type": "case.merged",
                "case_id": source.id,
                "source_id": source.id,
                "target_id": target.id,
            },
        )
        emit(db, "desk", {"type": "case.updated", "case_id": source.id})
        emit(db, "desk", {"type": "case.updated", "case_id": target.id})
        db.flush()
    finally:
        db.info.pop(_MERGING, None)
    return target


def _move_messages(db: Session, source: Case, target: Case) -> list[int]:
    """Moves the source's messages (and files) into the target and numbers the target's
    conversation 1, 2, 3 … in time order; returns the moved message ids."""
    db.flush()
    taken = set(
        db.scalars(
            select(Message.idempotency_key).where(
                Message.case_id == target.id, Message.idempotency_key.is_not(None)
            )
        )
    )
    moving = list(db.scalars(select(Message).where(Message.case_id == source.id)))
    for m in moving:
        if m.idempotency_key is not None and m.idempotency_key in taken:
            m.idempotency_key = moved_key(source.id, m.idempotency_key)
        m.case_id = target.id
    db.flush()
    for a in db.scalars(select(Attachment).where(Attachment.case_id == source.id)):
        a.case_id = target.id
    everything = list(
        db.scalars(
            select(Message)
            .where(Message.case_id == target.id)
            .order_by(Message.created_at, Message.id)
        )
    )
    for i, m in enumerate(everything, start=1):
        m.seq = i
    target.last_seq = len(everything)
    # the relationship collections still list the old owners: drop them from the session's view
    for c in (source, target):
        db.expire(c, ["messages"])
    db.flush()
    return [m.id for m in moving]


@sa_event.listens_for(Session, "before_flush")
def _merged_cases_are_read_only(session: Session, _context: Any, _instances: Any) -> None:
    if session.info.get(_MERGING):
        return
    for obj in session.dirty:
        if isinstance(obj, Case) and obj.merged_into_id is not None:
            state = attributes.instance_state(obj)
            changed = {a.key for a in state.attrs if a.history.has_changes()}
            if changed - _STILL_WRITABLE - {"messages"}:
                _refuse(obj)
    for obj in session.new:
        if isinstance(obj, Message | CaseTag | Attachment) and obj.case_id is not None:
            with session.no_autoflush:
                case = session.get(Case, obj.case_id)
            if case is not None and case.merged_into_id is not None:
                _refuse(case)


def _refuse(case: Case) -> None:
    raise Conflict(merged_refusal(case) or f"case #{case.id} is read-only")
