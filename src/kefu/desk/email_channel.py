"""The e-mail channel: mail received over SMTP becomes a customer's message on their case (or a
new case), and the desk's queued replies are sent over SMTP after their transaction commits.

Incoming mail is threaded by Message-ID / In-Reply-To / References against the ids the desk has
stored, with the case number in the subject as fallback. The customer's words go through the
desk's own post path (:func:`kefu.desk.messages.post_message`, as the customer's login), so the
guard masks personal data and the words as written are sealed at rest, as in every channel.
Bounces and auto-replies never create or reopen a case: on a known case they become an internal
note; otherwise they are dropped with a log line. Mail from an address no customer has on file is
refused at the SMTP stage (550), so nothing of a stranger's is stored or shown.
"""

from __future__ import annotations

import asyncio
import hashlib
import logging
import socket
from dataclasses import dataclass
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.compliance.service import screen_text
from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.config import get_settings
from kefu.core.db import Database
from kefu.core.errors import KefuError
from kefu.core.i18n import t
from kefu.core.security import User, require
from kefu.customers import service as customers
from kefu.desk import mailparse
from kefu.desk.access import visible_case
from kefu.desk.cases import create_case
from kefu.desk.conversation import add_message
from kefu.desk.mail_audit import MailAudit
from kefu.desk.mail_delivery import deliver_due, masked_addresses, run_sender
from kefu.desk.mail_models import MailMessage
from kefu.desk.mailout import desk_address, outbox_of
from kefu.desk.merge_keys import follow_merge
from kefu.desk.messages import post_message
from kefu.desk.models import Case, Message

__all__ = [
    "Receipt",
    "deliver_due",
    "mail_record",
    "outbox_of",
    "receive_mail",
    "receive_raw",
    "run_sender",
    "start_smtp_server",
]

log = logging.getLogger("kefu.mail")

REFUSED_UNKNOWN = (
    "550 5.7.1 This address is not on file with us. Please write from the e-mail address "
    "registered with your account, or use the customer portal."
)


@dataclass(frozen=True)
class Receipt:
    """What became of one incoming message, and the SMTP reply that says so."""

    outcome: str  # created | threaded | noted | dropped | rejected | duplicate
    case_id: int | None
    reply: str


# --- incoming -------------------------------------------------------------------------------------


def _thread_case(
    db: Session, mail: mailparse.ParsedMail, *, by_subject: bool = True
) -> Case | None:
    """The case a message answers: a stored message id it names, else the subject's number."""
    ids = mail.thread_ids
    if ids:
        found = {
            mid: cid
            for mid, cid in db.execute(
                select(MailMessage.message_id, MailMessage.case_id).where(
                    MailMessage.message_id.in_(ids), MailMessage.case_id.is_not(None)
                )
            )
        }
        for mid in ids:
            if mid in found and found[mid] is not None:
                return follow_merge(db, db.get(Case, found[mid]))
    number = mailparse.case_number(mail.subject) if by_subject else None
    return follow_merge(db, db.get(Case, number)) if number is not None else None


def _record(
    db: Session,
    *,
    mail: mailparse.ParsedMail,
    kind: str,
    outcome: str,
    case_id: int | None = None,
    desk_message_id: int | None = None,
    detail: str = "",
    actor_id: int | None = None,
) -> MailMessage:
    row = MailMessage(
        # a message without an id is stored under a digest of its headers: never threaded to
        message_id=mail.message_id or f"none.{hashlib.sha256(repr(mail).encode()).hexdigest()}",
        direction="in",
        kind=kind,
        status=outcome,
        case_id=case_id,
        desk_message_id=desk_message_id,
        sender_index=customers.email_lookup_key(mail.from_addr) if mail.from_addr else "",
        detail=detail[:500],
        in_reply_to=(mail.in_reply_to[0] if mail.in_reply_to else "")[:255],
        references=" ".join(mail.references[-20:]),
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor_id=actor_id,
        action=MailAudit.received,
        entity="case" if case_id else "mail",
        entity_id=case_id or row.id,
        data={"mail_id": row.id, "kind": kind, "outcome": outcome, "detail": detail[:200]},
    )
    return row


def _automatic(db: Session, mail: mailparse.ParsedMail) -> Receipt:
    """A bounce or an auto-reply: a note on the case it concerns (the case's status stays as it
    is), a bounce also marks the undelivered mail; with no case to concern, dropped."""
    case = _thread_case(db, mail, by_subject=False)
    if case is None:  # a case number in the subject counts only from the case's own customer
        sender = customers.customer_by_email(db, mail.from_addr)
        case = _thread_case(db, mail)
        if case is not None and (sender is None or sender.id != case.customer_id):
            case = None
    if case is None:
        log.info("mail: %s dropped (%s), no case of ours", mail.kind, mail.reason)
        _record(db, mail=mail, kind=mail.kind, outcome="dropped", detail=mail.reason)
        return Receipt("dropped", None, "250 2.0.0 OK: automatic message, not filed")
    if mail.kind == "bounce":
        status = masked_addresses(mail.bounce_status or mail.reason)
        body = t("mail.note_bounce", case.language, status=status)
        for row in db.scalars(
            select(MailMessage).where(
                MailMessage.message_id.in_(mail.bounced_ids or mail.thread_ids),
                MailMessage.direction == "out",
            )
        ):
            row.status, row.detail = "bounced", status[:500]
            audit.record(
                db,
                actor_id=None,
                action=MailAudit.bounced,
                entity="case",
                entity_id=case.id,
                data={"mail_id": row.id, "status": row.detail},
            )
    else:
        body = t("mail.note_auto_reply", case.language, reason=mail.reason, text=mail.text[:500])
    # what a mailbox says automatically may hold personal data: masked like a customer's words
    screened = screen_text(body, "customer")
    pii = [f for f in screened["findings"] if f["category"] == "pii"]
    note = add_message(
        db,
        case=case,
        actor=None,
        kind="note",
        body=body,
        redacted=str(screened["redacted"]),
        guard={"verdict": "allow", "findings": pii} if pii else None,
    )
    _record(
        db,
        mail=mail,
        kind=mail.kind,
        outcome="noted",
        case_id=case.id,
        desk_message_id=note.id,
        detail=mail.reason,
    )
    return Receipt("noted", case.id, f"250 2.0.0 OK: noted on case #{case.id}")


def _fit(text: str, lang: str) -> str:
    limit = get_settings().max_message_chars
    if len(text) <= limit:
        return text
    tail = "\n" + t("mail.truncated", lang)
    return text[: limit - len(tail)] + tail


def _new_subject(mail: mailparse.ParsedMail) -> str:
    subject = mailparse.clean_subject(mail.subject)
    if not subject:
        first = next((line for line in mail.text.splitlines() if line.strip()), "")
        subject = first.strip()[:60] or t("mail.no_subject", mail.language)
    return subject[:200]


@action
def receive_mail(db: Session, *, raw: bytes, envelope_from: str | None = None) -> Receipt:
    """Files one incoming message (see the module's docstring for the rules)."""
    mail = mailparse.parse(raw, envelope_from=envelope_from)
    if mail.message_id and db.scalar(
        select(MailMessage.id).where(MailMessage.message_id == mail.message_id)
    ):
        unchanged(db)  # a redelivery: the first copy was filed
        return Receipt("duplicate", None, "250 2.0.0 OK: already received")
    if mail.kind != "mail":
        return _automatic(db, mail)
    ours = desk_address()[1].lower()
    if ours and mail.from_addr == ours:
        log.info("mail: dropped a message from the desk's own address (loop)")
        _record(db, mail=mail, kind="mail", outcome="dropped", detail="from the desk's address")
        return Receipt("dropped", None, "250 2.0.0 OK: not filed")
    customer = customers.customer_by_email(db, mail.from_addr)
    user = db.get(User, customer.user_id) if customer and customer.user_id else None
    if customer is None or user is None or not user.is_active:
        why = "unknown sender" if customer is None else "customer without an active login"
        log.info("mail: refused a message (%s)", why)
        _record(db, mail=mail, kind="mail", outcome="rejected", detail=why)
        return Receipt("rejected", None, REFUSED_UNKNOWN)
    text = _fit(mail.text.strip() or t("mail.no_text", mail.language), mail.language)
    case = _thread_case(db, mail)
    detail = ""
    if case is not None and case.customer_id != customer.id:
        detail, case = f"names case #{case.id} of another customer", None
    elif case is not None and case.status_category == "closed":
        detail, case = f"case #{case.id} is closed", None
    if case is not None:
        key = "mail:" + hashlib.sha256(mail.message_id.encode()).hexdigest()[:40]
        msg, _created = post_message(
            db, actor=user, case_id=case.id, body=text, idempotency_key=key
        )
        _record(
            db,
            mail=mail,
            kind="mail",
            outcome="threaded",
            case_id=case.id,
            desk_message_id=msg.id,
            actor_id=user.id,
        )
        return Receipt("threaded", case.id, f"250 2.0.0 OK: added to case #{case.id}")
    case = create_case(
        db,
        actor=user,
        channel="email",
        subject=_new_subject(mail),
        body=text,
        language=mail.language,
    )
    first = db.scalar(
        select(Message.id).where(Message.case_id == case.id).order_by(Message.id.desc()).limit(1)
    )
    _record(
        db,
        mail=mail,
        kind="mail",
        outcome="created",
        case_id=case.id,
        desk_message_id=first,
        detail=detail,
        actor_id=user.id,
    )
    return Receipt("created", case.id, f"250 2.0.0 OK: case #{case.id} opened")


def receive_raw(database: Database, raw: bytes, envelope_from: str | None = None) -> Receipt:
    """One SMTP delivery in one transaction. A rule of ours refusing it answers 5xx (the sender
    is told); anything unexpected answers 4xx, so the sending server tries again later."""
    try:
        with database.write_lock, database.session() as db:
            return receive_mail(db, raw=raw, envelope_from=envelope_from)
    except KefuError as exc:
        log.warning("mail: refused (%s): %s", exc.__class__.__name__, exc)
        if exc.status >= 500:
            return Receipt("error", None, "451 4.3.0 Temporarily unable to file the message")
        return Receipt("rejected", None, "554 5.6.0 The message could not be filed")
    except Exception:
        log.exception("mail: filing failed")
        return Receipt("error", None, "451 4.3.0 Temporarily unable to file the message")


class InboundHandler:
    """The aiosmtpd handler: each message is filed off the SMTP loop, in a worker thread."""

    def __init__(self, database: Database) -> None:
        self.database = database

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:
        raw = envelope.original_content or envelope.content
        data = raw if isinstance(raw, bytes) else str(raw).encode()
        receipt = await asyncio.to_thread(receive_raw, self.database, data, envelope.mail_from)
        return receipt.reply


def start_smtp_server(database: Database, listen: str) -> Any:
    """Starts the embedded SMTP server on ``host:port`` (its own thread); returns the aiosmtpd
    Controller, whose ``stop()`` shuts it down."""
    from aiosmtpd.controller import Controller

    host, _sep, port = listen.rpartition(":")
    if not host or not (port.isascii() and port.isdigit()):
        raise ValueError(f"KEFU_SMTP_LISTEN must be host:port, not {listen!r}")
    controller = Controller(
        InboundHandler(database),
        hostname=host,
        port=int(port),
        data_size_limit=get_settings().mail_max_bytes,
        server_hostname=socket.getfqdn(),
        ready_timeout=10,
    )
    controller.start()
    log.info("mail: SMTP server listening on %s", listen)
    return controller


# --- outgoing -------------------------------------------------------------------------------------


def mail_record(db: Session, *, viewer: User, case_id: int) -> list[MailMessage]:
    """A case's e-mail record for staff: each message in and out, with its delivery state."""
    require(viewer, "case.read_all")
    case = visible_case(db, viewer=viewer, case_id=case_id)
    return outbox_of(db, case.id)
