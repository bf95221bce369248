"""Outbound e-mail: the desk's queued replies are claimed (leased to one worker), composed,
sent over SMTP after their transaction commits, and retried with back-off until they are
delivered or marked failed; server messages are stored with addresses masked."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
import smtplib
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from urllib.parse import unquote, urlsplit

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action
from kefu.core.config import get_settings
from kefu.core.db import Database, utcnow
from kefu.core.errors import KefuError
from kefu.core.events import get_broker
from kefu.core.i18n import t
from kefu.core.masking import mask_email
from kefu.customers import service as customers
from kefu.desk import mailparse
from kefu.desk.conversation import add_message, original_body
from kefu.desk.mail_audit import MailAudit
from kefu.desk.mail_models import MailMessage
from kefu.desk.mailout import TOPIC, desk_address
from kefu.desk.models import Case, Message

__all__ = ["deliver_due", "masked_addresses", "record_delivery", "run_sender"]

log = logging.getLogger("kefu.mail")

#: waits between delivery attempts of one mail; after the last, it is marked failed
RETRY_DELAYS = (
    timedelta(minutes=1),
    timedelta(minutes=5),
    timedelta(minutes=30),
    timedelta(hours=2),
)
#: how long a claimed mail is left to the worker that claimed it before another may retry it
LEASE = timedelta(minutes=5)


_ADDRESS = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")


def masked_addresses(text: str) -> str:
    """Server messages quote addresses ("<wang@example.com>: user unknown"): masked for staff."""
    return _ADDRESS.sub(lambda m: mask_email(m.group()), text)


@dataclass(frozen=True)
class _Claimed:
    mail_id: int
    sender: str
    recipient: str
    message: EmailMessage


def _compose(db: Session, row: MailMessage) -> _Claimed | None:
    case = db.get(Case, row.case_id) if row.case_id else None
    msg = db.get(Message, row.desk_message_id) if row.desk_message_id else None
    customer = (
        customers.customers_by_id(db, [case.customer_id]).get(case.customer_id) if case else None
    )
    if case is None or msg is None or customer is None:
        return None
    address = customers.email_of(customer)
    lang = case.language
    name = customer.name_for(lang)
    words = original_body(msg)  # the customer reads the reply as the agent wrote it
    if row.kind == "notify":
        parts = [
            t("mail.notify_intro", lang, name=name, case_id=case.id, subject=case.subject),
            words,
        ]
        base = get_settings().public_url.rstrip("/")
        if base:
            parts.append(t("mail.notify_link", lang, url=f"{base}/cases/{case.id}"))
        parts.append(t("mail.notify_optout", lang))
        text = "\n\n".join(parts)
    else:
        text = words + "\n\n-- \n" + t("mail.footer_reply", lang)
    from_name, from_addr = desk_address()
    out = mailparse.Outgoing(
        message_id=row.message_id,
        from_addr=from_addr,
        from_name=from_name,
        to_addr=address,
        to_name=name,
        subject=mailparse.reply_subject(case.subject, case.id, lang),
        text=text,
        date=row.created_at,
        in_reply_to=row.in_reply_to,
        references=tuple(row.references.split()),
        auto_generated=row.kind == "notify",
    )
    return _Claimed(row.id, from_addr, address, mailparse.compose(out))


def _claim(database: Database, now: datetime, limit: int) -> list[_Claimed | int]:
    """Takes the mail that is due, leasing each to this worker for LEASE (a worker that dies
    mid-send leaves it to be retried, under the same Message-ID)."""
    with database.write_lock, database.session() as db:
        rows = list(
            db.scalars(
                select(MailMessage)
                .where(
                    MailMessage.direction == "out",
                    MailMessage.status == "queued",
                    MailMessage.next_attempt_at <= now,
                )
                .order_by(MailMessage.next_attempt_at, MailMessage.id)
                .limit(limit)
                .with_for_update(skip_locked=True)
            )
        )
        claimed: list[_Claimed | int] = []
        for row in rows:
            row.next_attempt_at = now + LEASE
            item = _compose(db, row)
            claimed.append(row.id if item is None else item)  # an id alone: nothing to send
        return claimed


def _send(url: str, item: _Claimed) -> None:
    parts = urlsplit(url)
    scheme = parts.scheme.lower()
    if scheme not in ("smtp", "smtps", "smtp+starttls") or not parts.hostname:
        raise ValueError(
            f"KEFU_SMTP_URL must be smtp://host:port (or smtps://, smtp+starttls://): {url!r}"
        )
    port = parts.port or (465 if scheme == "smtps" else 25)
    client: smtplib.SMTP = (
        smtplib.SMTP_SSL(parts.hostname, port, timeout=30)
        if scheme == "smtps"
        else smtplib.SMTP(parts.hostname, port, timeout=30)
    )
    with client:
        if scheme == "smtp+starttls":
            client.starttls()
        if parts.username:
            client.login(unquote(parts.username), unquote(parts.password or ""))
        client.send_message(item.message, from_addr=item.sender, to_addrs=[item.recipient])


def _permanent(exc: Exception) -> bool:
    if isinstance(exc, smtplib.SMTPRecipientsRefused):
        return all(code >= 500 for code, _msg in exc.recipients.values())
    if isinstance(exc, smtplib.SMTPResponseException):
        return exc.smtp_code >= 500
    return isinstance(exc, ValueError)


@action
def record_delivery(
    db: Session, *, mail_id: int, error: str = "", permanent: bool = False
) -> MailMessage:
    """The outcome of one delivery attempt: sent; or queued again after a wait; or, after the
    last attempt or a permanent refusal, failed — with a note on the case the agent sees."""
    row = db.get(MailMessage, mail_id)
    if row is None:
        raise KefuError(f"mail {mail_id} does not exist")
    now = utcnow()
    row.attempts += 1
    if not error:
        row.status, row.sent_at, row.next_attempt_at, row.detail = "sent", now, None, ""
        name = MailAudit.sent
    elif permanent or row.attempts > len(RETRY_DELAYS):
        row.status, row.next_attempt_at, row.detail = "failed", None, error[:500]
        name = MailAudit.failed
        case = db.get(Case, row.case_id) if row.case_id else None
        if case is not None:
            add_message(
                db,
                case=case,
                actor=None,
                kind="note",
                body=t(
                    "mail.note_failed", case.language, attempts=row.attempts, detail=error[:300]
                ),
                at=now,
            )
    else:
        row.next_attempt_at = now + RETRY_DELAYS[row.attempts - 1]
        row.detail = error[:500]
        name = MailAudit.retry
    audit.record(
        db,
        actor_id=None,
        action=name,
        entity="case" if row.case_id else "mail",
        entity_id=row.case_id or row.id,
        data={
            "mail_id": row.id,
            "attempt": row.attempts,
            "status": row.status,
            "error": error[:200],
        },
    )
    return row


def deliver_due(
    database: Database,
    *,
    now: datetime | None = None,
    limit: int = 50,
    send: Callable[[str, _Claimed], None] = _send,
) -> list[tuple[int, str]]:
    """Sends the mail that is due, each outside any database transaction, and records each
    outcome in a transaction of its own. Returns (mail id, status) per mail tried."""
    url = get_settings().smtp_url
    if not url:
        return []
    results: list[tuple[int, str]] = []
    for item in _claim(database, now or utcnow(), limit):
        if isinstance(item, int):  # its reply is gone: fail it rather than lease it forever
            with database.write_lock, database.session() as db:
                row = record_delivery(
                    db, mail_id=item, error="the reply no longer exists", permanent=True
                )
                results.append((row.id, row.status))
            continue
        error, permanent = "", False
        try:
            send(url, item)
        except Exception as exc:  # every failure is recorded and retried or reported
            error = masked_addresses(f"{exc.__class__.__name__}: {exc}")[:500]
            permanent = _permanent(exc)
            log.warning("mail: delivery of %s failed: %s", item.mail_id, error)
        with database.write_lock, database.session() as db:
            row = record_delivery(db, mail_id=item.mail_id, error=error, permanent=permanent)
            results.append((row.id, row.status))
    return results


async def run_sender(database: Database, every: float) -> None:
    """The sender loop of a web worker: wakes when a reply is queued (the event is published
    after the reply's commit) and every ``every`` seconds for retries."""
    wake = asyncio.Event()

    async def listen() -> None:
        async for _event in get_broker().subscribe([TOPIC]):
            wake.set()

    listener = asyncio.create_task(listen())
    try:
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(wake.wait(), timeout=every)
            wake.clear()
            try:
                await asyncio.to_thread(deliver_due, database)
            except Exception:  # the next pass tries again; the sender must not stop
                log.exception("mail: sender pass failed")
    finally:
        listener.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await listener
