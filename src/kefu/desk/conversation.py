"""The conversation log of a case: the one place a message row is written, with its audit
entry and the events that carry it to the case's sockets after commit."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy import Table, bindparam, insert, update
from sqlalchemy.orm import Session, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

from kefu.core import audit
from kefu.core.db import utcnow
from kefu.core.errors import Conflict
from kefu.core.events import emit
from kefu.core.security import User, get_crypto
from kefu.core.textsearch import index_text
from kefu.desk.audit import MESSAGE_AUDIT
from kefu.desk.merge_keys import MERGING, merged_refusal
from kefu.desk.models import Attachment, Case, Message

MESSAGES: Table = Message.__table__  # type: ignore[assignment]
CASES: Table = Case.__table__  # type: ignore[assignment]

#: the case's next seq and activity stamp (the per-conversation lock), as one statement
_BUMP_SEQ = (
    update(CASES)
    .where(CASES.c.id == bindparam("case"))
    .values(
        last_seq=CASES.c.last_seq + 1,
        updated_at=bindparam("at"),
        last_message_at=bindparam("at_msg"),
    )
    .returning(CASES.c.last_seq)
)
#: a message row, its id returned (the values come as parameters: one statement to cache)
_INSERT_MESSAGE = insert(MESSAGES).returning(MESSAGES.c.id)


def add_message(
    db: Session,
    *,
    case: Case,
    actor: User | None,
    kind: str,
    body: str,
    at: datetime | None = None,
    idempotency_key: str | None = None,
    redacted: str | None = None,
    guard: dict[str, Any] | None = None,
    attachments: Sequence[Attachment] = (),
) -> Message:
    """Stores a message the calling action has already checked and screened, with its audit
    entry and its events. Used by the desk's actions (and the demo loader), never by views."""
    refusal = None if db.info.get(MERGING) else merged_refusal(case)
    if refusal is not None:
        # the message row is written with a Core INSERT, which the ORM's before-flush check of
        # merged cases (kefu.desk.merge) never sees: a merged case is refused here
        raise Conflict(refusal)
    at = at or utcnow()
    # the case row is the per-conversation lock: concurrent writers to one case take turns, so
    # seq order, id order and commit order agree and sockets can deliver strictly in order.
    # The same statement stamps the case's activity, so the action's closing flush has no
    # second UPDATE of the row.
    conn = db.connection()  # Core statements built once: no ORM layer, a cached compile
    seq = conn.execute(_BUMP_SEQ, {"case": case.id, "at": at, "at_msg": at}).scalar_one()
    for attr, value in (("last_seq", seq), ("updated_at", at), ("last_message_at", at)):
        set_committed_value(case, attr, value)  # already written
    masked = body if redacted is None else redacted
    values: dict[str, Any] = {
        "case_id": case.id,
        "seq": seq,
        "kind": kind,
        "author_id": actor.id if actor else None,
        # personal data never sits in clear at rest: the masked text is stored, the words as
        # written are sealed for the viewers who may read them (the customer, the author)
        "body": masked,
        "sealed": get_crypto().encrypt(body) if masked != body else None,
        "redacted": masked,
        "created_at": at,
        "idempotency_key": idempotency_key,
        "guard": guard,
        "search_text": index_text(masked),
    }
    # one INSERT … RETURNING id instead of a unit-of-work flush; the row joins the session as
    # a loaded object, as if it had been read back
    msg_id = conn.execute(_INSERT_MESSAGE, values).scalar_one()
    msg = Message(id=msg_id, **values)
    make_transient_to_detached(msg)
    db.add(msg)
    for a in attachments:
        a.message_id, a.case_id = msg.id, case.id
        db.add(a)
    if attachments:
        db.flush()
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=MESSAGE_AUDIT[kind],
        entity="case",
        entity_id=case.id,
        data={"message_id": msg.id, "body": msg.redacted},
    )
    emit(
        db,
        f"case:{case.id}",
        {
            "type": "message",
            "case_id": case.id,
            "message_id": msg.id,
            "message": message_payload(msg, actor, attachments),
        },
    )
    emit(db, "desk", {"type": "case.updated", "case_id": case.id})
    if kind == "customer":
        _alert(db, case, "new_chat" if case.channel == "chat" and seq == 1 else "reply")
    return msg


def _alert(db: Session, case: Case, kind: str) -> None:
    """The desk's notification of a customer's words: to the case's agent, or, for a chat nobody
    has taken yet, to every agent's feed (web/hub.py forwards them; the desk beeps)."""
    alert = {
        "type": "alert",
        "kind": kind,
        "case_id": case.id,
        "channel": case.channel,
        "subject": case.subject,
    }
    if case.assignee_id is not None:
        emit(db, f"user:{case.assignee_id}", alert)
    elif case.channel == "chat":
        emit(db, "desk:alerts", alert)


def original_body(msg: Message) -> str:
    """The words as written: decrypted when they held personal data, else the body itself."""
    return get_crypto().decrypt(msg.sealed) if msg.sealed else msg.body


def message_payload(
    msg: Message, author: User | None, attachments: Sequence[Attachment] = ()
) -> dict[str, Any]:
    """What sockets push: both the body and its redacted form (each viewer gets the right one
    through desk.schemas.MessageOut.for_viewer), and the message's files."""
    return {
        "id": msg.id,
        "seq": msg.seq,
        "case_id": msg.case_id,
        "kind": msg.kind,
        "author_id": msg.author_id,
        "author": author.display_name if author else None,
        "author_en": (author.display_name_en or author.display_name) if author else None,
        "body": original_body(msg),
        "redacted": msg.redacted,
        "created_at": msg.created_at.isoformat(),
        "guard": msg.guard,
        "attachments": [attachment_payload(a) for a in attachments],
    }


def attachment_payload(a: Attachment) -> dict[str, Any]:
    """What a message carries of its file (every viewer of the message may have it)."""
    return {
        "id": a.id,
        "name": a.filename,
        "mime": a.mime,
        "size": a.size,
        "image": a.mime.startswith("image/"),
        "width": a.width,
        "height": a.height,
        "url": f"/api/v1/attachments/{a.id}",
    }
