"""The outbox of the e-mail channel: an agent's reply on an e-mail case (or on a web ticket whose
customer wants notifications) is queued here in the reply's own transaction, and sent by
:mod:`kefu.desk.email_channel` only after that transaction commits."""

from __future__ import annotations

import secrets
from email.utils import parseaddr

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.config import get_settings
from kefu.core.db import utcnow
from kefu.core.events import emit
from kefu.core.i18n import t
from kefu.customers import service as customers
from kefu.desk.conversation import add_message
from kefu.desk.mail_audit import MailAudit
from kefu.desk.mail_models import MailMessage
from kefu.desk.models import Case, Message

#: the broker topic that wakes the sender when a mail is queued (published after commit)
TOPIC = "mail"


def desk_address() -> tuple[str, str]:
    """(display name, address) of KEFU_MAIL_FROM; the address is empty when it is unset."""
    name, addr = parseaddr(get_settings().mail_from)
    return name, addr.strip()


def new_message_id(case_id: int) -> str:
    """A Message-ID of the desk's own: unique, and naming the case for whoever reads headers."""
    domain = desk_address()[1].rpartition("@")[2] or "kefu.localhost"
    return f"kefu.{case_id}.{secrets.token_hex(8)}@{domain}"


def thread_of(db: Session, case_id: int) -> tuple[str, list[str]]:
    """(In-Reply-To, References) for the desk's next mail on a case: the customer's latest
    mail, and every message id of the case's thread in order (the last 20)."""
    ids = list(
        db.scalars(
            select(MailMessage.message_id)
            .where(
                MailMessage.case_id == case_id,
                MailMessage.status.not_in(("rejected", "dropped")),
                MailMessage.kind.in_(("mail", "reply", "notify")),
            )
            .order_by(MailMessage.id)
        )
    )
    last_in = db.scalar(
        select(MailMessage.message_id)
        .where(
            MailMessage.case_id == case_id,
            MailMessage.direction == "in",
            MailMessage.kind == "mail",
        )
        .order_by(MailMessage.id.desc())
        .limit(1)
    )
    return (last_in or (ids[-1] if ids else "")), ids[-20:]


def queue_agent_message(db: Session, *, case: Case, message: Message) -> MailMessage | None:
    """Called by the desk when an agent's reply is stored (after the guard let it through):
    queues the e-mail it implies. An e-mail case always gets one — marked failed, with a note
    the agent sees, when it cannot be sent; a web ticket only when its customer has an address
    and has not turned notifications off. Chats and calls get none."""
    if case.channel == "email":
        kind = "reply"
    elif case.channel == "web":
        kind = "notify"
    else:
        return None
    settings = get_settings()
    if kind == "notify" and not settings.smtp_url:
        return None  # notifications are optional: without a sender there are none
    customer = customers.customers_by_id(db, [case.customer_id]).get(case.customer_id)
    has_address = customer is not None and bool(customer.email_enc)
    if kind == "notify" and not (
        settings.smtp_url and has_address and customer is not None and customer.email_notify
    ):
        return None
    status, reason = "queued", ""
    if not settings.smtp_url or not desk_address()[1]:
        status, reason = "failed", "mail.not_configured"
    elif not has_address:
        status, reason = "failed", "mail.no_address"
    detail = t(reason, "en") if reason else ""  # the record's detail is for operators: English
    in_reply_to, references = thread_of(db, case.id)
    now = utcnow()
    row = MailMessage(
        message_id=new_message_id(case.id),
        direction="out",
        kind=kind,
        status=status,
        case_id=case.id,
        desk_message_id=message.id,
        detail=detail,
        in_reply_to=in_reply_to,
        references=" ".join(references),
        next_attempt_at=now if status == "queued" else None,
        created_at=now,
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor_id=message.author_id,
        action=MailAudit.queued if status == "queued" else MailAudit.failed,
        entity="case",
        entity_id=case.id,
        data={"mail_id": row.id, "kind": kind, "status": status, "detail": detail},
    )
    if status == "queued":
        emit(db, TOPIC, {"type": "mail.queued", "mail_id": row.id})
    else:
        add_message(
            db,
            case=case,
            actor=None,
            kind="note",
            body=t("mail.note_not_sent", case.language, detail=t(reason, case.language)),
            at=now,
        )
    return row


def outbox_of(db: Session, case_id: int) -> list[MailMessage]:
    """The case's e-mail record, in and out, oldest first."""
    return list(
        db.scalars(
            select(MailMessage).where(MailMessage.case_id == case_id).order_by(MailMessage.id)
        )
    )
