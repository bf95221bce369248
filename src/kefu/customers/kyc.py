"""KYC: a customer's identity document (number encrypted, shown masked, revealed only through the
audited reveal), its expiry, the verification status and its history, the declared source of
funds, the reviewer; and the follow-up tasks the expiry scan raises (a document about to expire
or expired, an assessment due for renewal).

Recording and reviewing are two people's work: whoever submitted the document may not verify it
(maker–checker), so no single member of staff can pass a customer's due diligence alone.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.config import get_settings
from kefu.core.db import utcnow
from kefu.core.errors import Conflict, NotFound, Phrase, ValidationFailed, refused_field
from kefu.core.masking import mask_id_number
from kefu.core.security import User, get_crypto, require
from kefu.customers import content
from kefu.customers.audit import CustomerAudit
from kefu.customers.models import (
    DOC_TYPES,
    FUNDS_SOURCES,
    TASK_KINDS,
    Customer,
    CustomerTask,
    KycEvent,
    KycRecord,
    SuitabilityAssessment,
)
from kefu.customers.service import get_customer

__all__ = [
    "close_task",
    "kyc_of",
    "local_today",
    "open_tasks",
    "plain_text",
    "record_kyc",
    "review_kyc",
    "scan",
]


def local_today(now: datetime | None = None) -> date:
    """Today in the configured zone (Asia/Shanghai): expiry and attempts count local days."""
    return (now or utcnow()).astimezone(ZoneInfo(get_settings().timezone)).date()


def _field(name: str, message: str, key: str, **params: Any) -> ValidationFailed:
    """A refused field said by key (``customers.errors.<key>``); ``message`` is its English."""
    return refused_field(
        name, message, key=f"customers.errors.{key}", names="customers.errors.fields", **params
    )


def _status(status: str) -> Callable[[str], str]:
    """A KYC status: its code in English (as the API said it), in words in Chinese."""
    word = Phrase(f"code.kyc.{status}", status)
    return lambda lang: status if lang == "en" else word(lang)


def plain_text(name: str, value: str, limit: int = 500) -> str:
    """A free-text field (a note, a reason): trimmed, within ``limit``, no control characters
    (PostgreSQL refuses NUL in text, and no reader wants the others)."""
    bad = [ch for ch in value if (ord(ch) < 32 and ch not in "\n\r\t") or ord(ch) == 127]
    if bad:
        code = f"U+{ord(bad[0]):04X}"
        raise _field(name, f"contains control character {code}", "control_char", code=code)
    value = value.strip()
    if len(value) > limit:
        raise _field(name, f"at most {limit} characters", "at_most_chars", n=limit)
    return value


def _mask(doc_type: str, number: str) -> str:
    if doc_type == "resident_id":
        return mask_id_number(number)
    keep = number[-3:] if len(number) > 5 else ""
    return number[:2] + "*" * max(len(number) - 2 - len(keep), 3) + keep


def _record(db: Session, customer_id: int) -> KycRecord | None:
    return db.scalar(select(KycRecord).where(KycRecord.customer_id == customer_id))


def _event(
    db: Session, record: KycRecord, actor: User | None, old: str | None, new: str, note: str = ""
) -> None:
    db.add(
        KycEvent(
            record_id=record.id,
            actor_id=actor.id if actor else None,
            from_status=old,
            to_status=new,
            note=note[:500],
        )
    )


@action
def record_kyc(
    db: Session,
    *,
    actor: User | None,
    customer_id: int,
    doc_type: str,
    doc_number: str,
    doc_expires_on: date | None,
    funds_source: str,
    funds_note: str = "",
    today: date | None = None,
) -> KycRecord:
    """Records (or replaces) the customer's identity document and source of funds; the record
    goes back to ``pending`` until someone else verifies it. ``actor`` None is the back office."""
    if actor is not None:
        require(actor, "kyc.manage")
        get_customer(db, viewer=actor, customer_id=customer_id)
    elif db.get(Customer, customer_id) is None:
        raise NotFound(key="customers.errors.customer_missing", params={"id": customer_id})
    number = "".join(doc_number.split()).upper()
    if doc_type not in DOC_TYPES:
        choices = ", ".join(DOC_TYPES)
        raise _field("doc_type", f"must be one of {choices}", "one_of", choices=choices)
    if not 5 <= len(number) <= 32 or not number.isalnum():
        raise _field("doc_number", "5–32 letters and digits", "doc_number")
    if doc_type == "resident_id" and len(number) != 18:
        raise _field(
            "doc_number", "a resident identity card number has 18 characters", "resident_id"
        )
    if funds_source not in FUNDS_SOURCES:
        choices = ", ".join(FUNDS_SOURCES)
        raise _field("funds_source", f"must be one of {choices}", "one_of", choices=choices)
    funds_note = plain_text("funds_note", funds_note)
    if funds_source == "other" and not funds_note:
        raise _field(
            "funds_note", "say where the funds come from when the source is 'other'", "funds_note"
        )
    if doc_expires_on is not None and doc_expires_on < (today or local_today()):
        raise _field("doc_expires_on", "the document has already expired", "doc_expired")
    crypto = get_crypto()
    row = _record(db, customer_id)
    old = row.status if row else None
    if row is None:
        row = KycRecord(customer_id=customer_id)
        db.add(row)
    row.doc_type = doc_type
    row.doc_number_enc = crypto.encrypt(number)
    row.doc_number_masked = _mask(doc_type, number)
    row.doc_number_index = crypto.blind_index(number)
    row.doc_expires_on = doc_expires_on
    row.funds_source = funds_source
    row.funds_note = funds_note.strip()[:500]
    row.status = "pending"
    row.reviewer_id, row.reviewed_at = None, None
    row.updated_at = utcnow()
    db.flush()
    _event(db, row, actor, old, "pending", "document recorded")
    customer = db.get(Customer, customer_id)
    assert customer is not None
    customer.kyc_status = "pending"
    _close_tasks(
        db, actor, customer_id, ("kyc_document_expiring", "kyc_document_expired"), "new document"
    )
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=CustomerAudit.kyc_record,
        entity="customer",
        entity_id=customer_id,
        data={
            "doc_type": doc_type,
            "doc_number": row.doc_number_masked,
            "doc_expires_on": doc_expires_on.isoformat() if doc_expires_on else None,
            "funds_source": funds_source,
            "status": {"old": old, "new": "pending"},
        },
    )
    return row


@action
def review_kyc(
    db: Session,
    *,
    actor: User,
    customer_id: int,
    status: str,
    note: str = "",
    today: date | None = None,
) -> KycRecord:
    """Verifies or rejects the pending document (compliance). The person who recorded it may
    not verify it; an expired document cannot be verified; a rejection needs a reason."""
    require(actor, "kyc.review")
    get_customer(db, viewer=actor, customer_id=customer_id)
    row = _record(db, customer_id)
    if row is None:
        raise NotFound(key="customers.errors.no_kyc", params={"id": customer_id})
    if status not in ("verified", "rejected"):
        raise _field("status", "must be verified or rejected", "review_status")
    note = plain_text("note", note)
    if status == "rejected" and not note:
        raise _field("note", "a rejection needs a reason the customer can act on", "reject_reason")
    if row.status != "pending":
        raise Conflict(key="customers.errors.not_pending", params={"status": _status(row.status)})
    if status == "verified":
        if row.doc_expires_on is not None and row.doc_expires_on < (today or local_today()):
            raise Conflict(key="customers.errors.document_expired")
        maker = db.scalar(
            select(KycEvent.actor_id)
            .where(KycEvent.record_id == row.id, KycEvent.to_status == "pending")
            .order_by(KycEvent.id.desc())
            .limit(1)
        )
        if maker == actor.id:
            raise Conflict(key="customers.errors.four_eyes")
    old = row.status
    row.status, row.reviewer_id, row.reviewed_at = status, actor.id, utcnow()
    row.updated_at = row.reviewed_at
    _event(db, row, actor, old, status, note.strip())
    customer = db.get(Customer, customer_id)
    assert customer is not None
    customer.kyc_status = status
    audit.record(
        db,
        actor_id=actor.id,
        action=CustomerAudit.kyc_review,
        entity="customer",
        entity_id=customer_id,
        data={"status": {"old": old, "new": status}, "note": note.strip()[:500]},
    )
    return row


def _close_tasks(
    db: Session, actor: User | None, customer_id: int, kinds: tuple[str, ...], note: str
) -> None:
    """Closes the customer's open tasks of ``kinds`` (a renewed document, a superseded
    reminder); each closure is part of the calling action's entry."""
    for task in db.scalars(
        select(CustomerTask).where(
            CustomerTask.customer_id == customer_id,
            CustomerTask.kind.in_(kinds),
            CustomerTask.status == "open",
        )
    ):
        task.status, task.closed_at = "done", utcnow()
        task.closed_by_id, task.note = (actor.id if actor else None), note


def _raise_task(
    db: Session, actor: User | None, customer_id: int, kind: str, due_on: date, note: str
) -> bool:
    assert kind in TASK_KINDS
    exists = db.scalar(
        select(CustomerTask.id).where(
            CustomerTask.customer_id == customer_id,
            CustomerTask.kind == kind,
            CustomerTask.due_on == due_on,
        )
    )
    if exists is not None:
        return False
    task = CustomerTask(customer_id=customer_id, kind=kind, due_on=due_on, note=note)
    db.add(task)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=CustomerAudit.task_raise,
        entity="customer",
        entity_id=customer_id,
        data={"task_id": task.id, "kind": kind, "due_on": due_on.isoformat()},
    )
    return True


@action
def scan(db: Session, *, actor: User | None = None, today: date | None = None) -> dict[str, int]:
    """The daily KYC scan (``kefu kyc scan``): expired documents make the record ``expired``;
    documents expiring within the registry's notice and assessments lapsing within its
    reminder raise a task each (once per due date). Returns the counts."""
    if actor is not None:
        require(actor, "kyc.review")
    day = today or local_today()
    nums = content.numbers(day)
    counts = {"expired": 0, "expiring": 0, "reassessment": 0}
    horizon = day + timedelta(days=nums.expiry_notice_days)
    records = db.scalars(
        select(KycRecord).where(
            KycRecord.doc_expires_on.is_not(None), KycRecord.doc_expires_on <= horizon
        )
    )
    for row in records:
        assert row.doc_expires_on is not None
        if row.doc_expires_on < day:
            if row.status != "expired":
                old, row.status, row.updated_at = row.status, "expired", utcnow()
                _event(db, row, actor, old, "expired", "document expired")
                customer = db.get(Customer, row.customer_id)
                assert customer is not None
                customer.kyc_status = "expired"
                audit.record(
                    db,
                    actor_id=actor.id if actor else None,
                    action=CustomerAudit.kyc_expire,
                    entity="customer",
                    entity_id=row.customer_id,
                    data={"status": {"old": old, "new": "expired"}},
                )
                counts["expired"] += 1
                _close_tasks(
                    db, actor, row.customer_id, ("kyc_document_expiring",), "document expired"
                )
            _raise_task(db, actor, row.customer_id, "kyc_document_expired", row.doc_expires_on, "")
        elif row.status != "expired" and _raise_task(
            db, actor, row.customer_id, "kyc_document_expiring", row.doc_expires_on, ""
        ):
            counts["expiring"] += 1
    latest = _latest_assessments(db)
    for a in latest:
        if a.valid_until <= day + timedelta(days=nums.reminder_days) and _raise_task(
            db, actor, a.customer_id, "suitability_reassessment", a.valid_until, ""
        ):
            counts["reassessment"] += 1
    if not any(counts.values()):
        unchanged(db)
    return counts


def _latest_assessments(db: Session) -> list[SuitabilityAssessment]:
    rows = db.scalars(
        select(SuitabilityAssessment).order_by(
            SuitabilityAssessment.customer_id, SuitabilityAssessment.taken_at.desc()
        )
    )
    seen: set[int] = set()
    out = []
    for a in rows:
        if a.customer_id not in seen:
            seen.add(a.customer_id)
            out.append(a)
    return out


@action
def close_task(db: Session, *, actor: User, task_id: int, note: str = "") -> CustomerTask:
    """Marks a task done (the document was renewed, the customer was reminded)."""
    require(actor, "kyc.manage")
    note = plain_text("note", note)
    task = db.get(CustomerTask, task_id)
    if task is None:
        raise NotFound(key="customers.errors.task_missing", params={"id": task_id})
    if task.status == "done":
        unchanged(db)
        return task
    task.status, task.closed_at, task.closed_by_id = "done", utcnow(), actor.id
    task.note = note.strip()[:500]
    audit.record(
        db,
        actor_id=actor.id,
        action=CustomerAudit.task_close,
        entity="customer",
        entity_id=task.customer_id,
        data={"task_id": task.id, "kind": task.kind, "note": task.note},
    )
    return task


# --- reads -----------------------------------------------------------------------------------


def kyc_view(db: Session, row: KycRecord, today: date | None = None) -> dict[str, Any]:
    day = today or local_today()
    events = db.scalars(select(KycEvent).where(KycEvent.record_id == row.id).order_by(KycEvent.id))
    return {
        "customer_id": row.customer_id,
        "doc_type": row.doc_type,
        "doc_number": row.doc_number_masked,
        "doc_expires_on": row.doc_expires_on.isoformat() if row.doc_expires_on else None,
        "days_to_expiry": (row.doc_expires_on - day).days if row.doc_expires_on else None,
        "status": row.status,
        "funds_source": row.funds_source,
        "funds_note": row.funds_note,
        "reviewer_id": row.reviewer_id,
        "reviewed_at": row.reviewed_at.isoformat() if row.reviewed_at else None,
        "updated_at": row.updated_at.isoformat(),
        "history": [
            {
                "at": e.at.isoformat(),
                "actor_id": e.actor_id,
                "from": e.from_status,
                "to": e.to_status,
                "note": e.note,
            }
            for e in events
        ],
    }


def kyc_of(db: Session, *, viewer: User, customer_id: int) -> dict[str, Any] | None:
    """The customer's KYC record, masked (a customer reads their own, staff need
    customer.read); None when nothing is on file."""
    get_customer(db, viewer=viewer, customer_id=customer_id)
    row = _record(db, customer_id)
    return None if row is None else kyc_view(db, row)


def open_tasks(
    db: Session, *, viewer: User, customer_id: int | None = None, limit: int = 200
) -> list[dict[str, Any]]:
    """Open follow-ups, soonest first (agents, supervisors and compliance see them)."""
    require(viewer, "customer.read")
    stmt = select(CustomerTask, Customer).join(Customer, Customer.id == CustomerTask.customer_id)
    stmt = stmt.where(CustomerTask.status == "open")
    if customer_id is not None:
        stmt = stmt.where(CustomerTask.customer_id == customer_id)
    rows = db.execute(stmt.order_by(CustomerTask.due_on, CustomerTask.id).limit(limit)).all()
    return [
        {
            "id": t.id,
            "customer_id": c.id,
            "customer": c.name_zh,
            "customer_en": c.name_en,
            "code": c.code,
            "kind": t.kind,
            "due_on": t.due_on.isoformat(),
            "note": t.note,
        }
        for t, c in rows
    ]


def document_cipher(db: Session, customer_id: int) -> str:
    """The KYC document's ciphertext for the audited reveal (customers/service.py)."""
    row = _record(db, customer_id)
    return row.doc_number_enc if row else ""
