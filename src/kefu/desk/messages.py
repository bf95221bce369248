"""Messages of a case: the customer's and the agent's replies, internal notes and system lines.

Every message is screened by the compliance guard before it is stored (agents are blocked on a
violation; customers' personal data is masked for staff), written with its audit entry, and
announced to the case's sockets after the transaction commits.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from contextlib import nullcontext
from typing import Any

from sqlalchemy import bindparam, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kefu.compliance.service import screen_message
from kefu.core import audit
from kefu.core.actions import action, in_batch, unchanged
from kefu.core.db import utcnow
from kefu.core.errors import Conflict
from kefu.core.events import emit
from kefu.core.security import Role, User, can, require
from kefu.customers.service import users_with_customers
from kefu.customers.suitability import guard_level
from kefu.desk import lifecycle, mailout
from kefu.desk.access import visible_case
from kefu.desk.audit import DeskAudit
from kefu.desk.conversation import add_message, original_body
from kefu.desk.merge_keys import merged_refusal, prior_after_merge
from kefu.desk.models import Attachment, Case, Message
from kefu.desk.sla_policies import refresh_next_due
from kefu.desk.validation import check_body, field_error


def visible_messages(db: Session, *, viewer: User, case: Case, after_id: int = 0) -> list[Message]:
    """The conversation as ``viewer`` may read it (customers never see internal notes)."""
    stmt = select(Message).where(Message.case_id == case.id, Message.id > after_id)
    if viewer.role == Role.customer:
        stmt = stmt.where(Message.kind != "note")
    return list(db.scalars(stmt.order_by(Message.seq, Message.id)))


def last_customer_text(case: Case) -> str:
    """What the customer said last (personal data masked), or the subject when they have not
    written yet: what the knowledge panel answers."""
    last = next((m for m in reversed(case.messages) if m.kind == "customer"), None)
    return last.redacted if last else case.subject


#: session.info key: (case_id, idempotency_key) pairs :func:`prepare_posts` found unused
_UNUSED_KEYS = "kefu_desk_unused_keys"
_PREPARED = "kefu_desk_prepared"


#: built once: its compiled form is cached (an IN list is one expanding parameter)
_CASES_BY_ID = select(Case).where(Case.id.in_(bindparam("ids", expanding=True)))


def prepare_posts(
    db: Session,
    *,
    user_ids: Iterable[int],
    posts: Iterable[tuple[int, str | None]],
    check_keys: bool = True,
) -> None:
    """Reads in three queries what a batch of :func:`post_message` calls in this session would
    otherwise read one by one: the users with the customer records of the customers among
    them, the cases (``posts`` are (case_id, idempotency_key) pairs), and which of the keys
    are still unused. The chat sockets' group-commit writer calls it once per batch; every
    check of ``post_message`` still runs, on what is now in the session.

    ``check_keys=False`` skips the keys' query and takes them as unused: a key used before
    then fails the message's INSERT on the unique (case, key) constraint, and the writer runs
    the batch again with the query (a retry is rare; the query is paid on every batch)."""
    users = users_with_customers(db, set(user_ids))
    posts = list(posts)
    case_ids = {c for c, _ in posts}
    cases = db.scalars(_CASES_BY_ID, {"ids": sorted(case_ids)}).all() if case_ids else []
    # the session holds its objects weakly: keep these for as long as it lives, so the
    # writer's and post_message's lookups by id find them without a query
    db.info.setdefault(_PREPARED, []).extend([*users.values(), *cases])
    wanted = {(c, k) for c, k in posts if k is not None}
    if wanted and not check_keys:
        # at most one message per key in the batch is taken as new: a second one asks
        db.info.setdefault(_UNUSED_KEYS, set()).update(wanted)
    elif wanted:
        used = {
            (c, k)
            for c, k in db.execute(
                select(Message.case_id, Message.idempotency_key).where(
                    Message.case_id.in_({c for c, _ in wanted}),
                    Message.idempotency_key.in_({k for _, k in wanted}),
                )
            )
        }
        db.info.setdefault(_UNUSED_KEYS, set()).update(wanted - used)


def _prior(db: Session, case: Case, idempotency_key: str | None) -> Message | None:
    if idempotency_key is None:
        return None
    unused: set[tuple[int, str]] = db.info.get(_UNUSED_KEYS, set())
    if (case.id, idempotency_key) in unused:
        # known unused when the batch began; good for one answer (a second send with this key
        # in the same batch asks the database, which then holds the first)
        unused.discard((case.id, idempotency_key))
        return None
    return db.scalar(
        select(Message).where(
            Message.case_id == case.id, Message.idempotency_key == idempotency_key
        )
    )


@action
def post_message(
    db: Session,
    *,
    actor: User,
    case_id: int,
    body: str,
    internal: bool = False,
    idempotency_key: str | None = None,
    confirm_warning: bool = False,
    attachments: Sequence[Attachment] = (),
) -> tuple[Message, bool]:
    """Adds a reply or note (with the files of ``attachments``, already checked and stored by
    kefu.desk.attachments). Returns (message, created); a repeated idempotency key returns the
    first message and ``created=False`` without writing anything."""
    case = visible_case(db, viewer=actor, case_id=case_id)
    if idempotency_key is not None:
        if not (1 <= len(idempotency_key) <= 64):
            raise field_error("idempotency_key", "1–64 characters")
        prior = _prior(db, case, idempotency_key) or prior_after_merge(db, case, idempotency_key)
        if prior is not None:
            if prior.author_id != actor.id:
                raise Conflict("this idempotency key was used by someone else")
            if original_body(prior) != body or (prior.kind == "note") != internal:
                raise Conflict(
                    "this idempotency key was already used for a different message; "
                    "send a new key for a new message"
                )
            unchanged(db)
            return prior, False
    check_body(body)
    if internal:
        require(actor, "message.note")
        kind = "note"
    else:
        require(actor, "message.reply")
        kind = "customer" if actor.role == Role.customer else "agent"
    if case.status_category == "closed" and kind != "note":
        raise Conflict(merged_refusal(case) or "the case is closed; open a new case instead")
    redacted, guard = screen_message(
        db,
        actor=actor,
        case_id=case.id,
        body=body,
        internal=internal,
        confirm_warning=confirm_warning,
        suitability=guard_level(db, case.customer_id) if kind == "agent" else None,
    )
    now = utcnow()
    try:
        # in a batch (the chat's group-commit writer) a lost race with a retry fails the whole
        # unit, which the writer redoes one savepoint per write, so this one comes back here
        with nullcontext() if in_batch(db) else db.begin_nested():
            msg = add_message(
                db,
                case=case,
                actor=actor,
                kind=kind,
                body=body,
                at=now,
                idempotency_key=idempotency_key,
                redacted=redacted,
                guard=guard,
                attachments=attachments,
            )
    except IntegrityError:
        if in_batch(db):
            raise
        # a concurrent retry with the same key won the race: return its message
        db.expire(case, ["last_seq", "updated_at", "last_message_at"])  # rolled back with it
        prior = _prior(db, case, idempotency_key)
        if prior is None:
            raise
        unchanged(db)
        return prior, False
    if kind == "agent" and case.first_response_at is None:
        case.first_response_at = now
    if kind == "agent":
        lifecycle.open_if_new(db, case=case, actor=actor, now=now)
        # screened and stored: the e-mail it implies is queued now, sent after commit
        mailout.queue_agent_message(db, case=case, message=msg)
    if kind == "customer" and case.status_category in ("pending", "resolved"):
        # the customer answered: the case is live again and its clock runs (on record)
        lifecycle.change_status(db, case=case, actor=actor, key="open", now=now)
    refresh_next_due(case)
    return msg, True


@action
def mark_read(db: Session, *, actor: User, case_id: int, message_id: int) -> dict[str, Any]:
    """A read receipt: the reader's side has seen the conversation up to ``message_id``. Staff who
    only read conversations (compliance, trainers) leave the agent's receipt where it is."""
    case = visible_case(db, viewer=actor, case_id=case_id)
    side = "customer" if actor.role == Role.customer else "agent"
    attr = "customer_read_id" if side == "customer" else "agent_read_id"
    old = getattr(case, attr)
    if message_id <= old or (side == "agent" and not can(actor, "case.update")):
        unchanged(db)
        return {"case_id": case.id, "by": side, "message_id": old}
    setattr(case, attr, message_id)
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.message_read,
        entity="case",
        entity_id=case.id,
        data={"by": side, "old": old, "new": message_id},
    )
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
    return {"case_id": case.id, "by": side, "message_id": message_id}
