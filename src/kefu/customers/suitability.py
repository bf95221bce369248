"""Investor suitability: the customer takes the risk-tolerance questionnaire (at most the
registry's number of attempts a local day, enforced here), gets a category valid for the
registry's months, asks for products that are matched against it; a mismatch shows the special
risk warning and needs the customer's explicit confirmation, which stays on record; the lowest
category is refused (CSRC suitability measures art. 19). Compliance records professional
investors. The rules themselves are the pure engine in suitability_rules.py.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action, record_refusal, unchanged
from kefu.core.config import get_settings
from kefu.core.db import utcnow
from kefu.core.errors import (
    Conflict,
    Forbidden,
    NotFound,
    Phrase,
    TooManyRequests,
    ValidationFailed,
    by_language,
)
from kefu.core.security import Role, User, require
from kefu.customers import content
from kefu.customers.audit import CustomerAudit
from kefu.customers.kyc import local_today, plain_text
from kefu.customers.models import Customer, CustomerTask, ProductRequest, SuitabilityAssessment
from kefu.customers.service import customer_for_user, get_customer
from kefu.customers.suitability_rules import (
    AnswerError,
    add_months,
    allowed_range,
    assess,
    attempts_left,
    match,
    pitch_findings,
    state,
)

__all__ = [
    "check_product",
    "confirm_product",
    "guard_level",
    "latest",
    "pitch_findings_for",
    "product_list",
    "profile",
    "recent_requests",
    "request_of",
    "request_product",
    "requests_for_review",
    "set_professional",
    "submit_assessment",
]


def _own_customer(db: Session, actor: User) -> Customer:
    if actor.role != Role.customer:
        raise Forbidden(key="customers.errors.customers_only")
    me = customer_for_user(db, actor)
    if me is None:
        raise NotFound(key="customers.errors.no_record")
    return me


def _day_bounds(day: date) -> tuple[datetime, datetime]:
    zone = ZoneInfo(get_settings().timezone)
    start = datetime.combine(day, time.min, tzinfo=zone)
    return start, start + timedelta(days=1)


def attempts_today(db: Session, customer_id: int, now: datetime | None = None) -> int:
    start, end = _day_bounds(local_today(now))
    return int(
        db.scalar(
            select(func.count())
            .select_from(SuitabilityAssessment)
            .where(
                SuitabilityAssessment.customer_id == customer_id,
                SuitabilityAssessment.taken_at >= start,
                SuitabilityAssessment.taken_at < end,
            )
        )
        or 0
    )


def latest(db: Session, customer_id: int) -> SuitabilityAssessment | None:
    return db.scalar(
        select(SuitabilityAssessment)
        .where(SuitabilityAssessment.customer_id == customer_id)
        .order_by(SuitabilityAssessment.taken_at.desc(), SuitabilityAssessment.id.desc())
        .limit(1)
    )


@action
def submit_assessment(
    db: Session, *, actor: User, answers: dict[str, str], now: datetime | None = None
) -> SuitabilityAssessment:
    """Scores the customer's own answer sheet and stores the result; the third attempt of a
    local day is refused (and the refusal kept on record)."""
    me = _own_customer(db, actor)
    at = now or utcnow()
    questionnaire, nums = content.checked(local_today(at))
    if attempts_today(db, me.id, at) >= nums.attempts_per_day:
        record_refusal(
            db,
            actor_id=actor.id,
            action=CustomerAudit.assessment_refused,
            entity="customer",
            entity_id=me.id,
            data={"reason": "attempts", "limit": nums.attempts_per_day},
        )
        raise TooManyRequests(
            key="errors.suitability_attempts", params={"n": nums.attempts_per_day}
        )
    try:
        result = assess(questionnaire, answers, nums.bands)
    except AnswerError as exc:
        # the question by its id in English (as the API said it), by its text in Chinese
        asked = next((q for q in questionnaire.questions if q.id == exc.field), None)
        raise ValidationFailed(
            key="customers.errors.answer",
            params={
                "question": by_language(asked.zh if asked else exc.field, exc.field),
                "message": Phrase(f"customers.errors.answer_{exc.key}", exc.message, exc.params),
            },
            fields=[{"field": f"answers.{exc.field}", "message": exc.message}],
        ) from exc
    row = SuitabilityAssessment(
        customer_id=me.id,
        version=questionnaire.version,
        answers=dict(result.answers),
        score=result.score,
        category=result.category,
        lowest_because=list(result.lowest_because),
        taken_at=at,
        valid_until=add_months(local_today(at), nums.validity_months),
        taken_by_id=actor.id,
    )
    db.add(row)
    old_level = me.risk_level
    me.risk_level = "C1" if result.category == "lowest" else result.category
    for task in db.scalars(
        select(CustomerTask).where(
            CustomerTask.customer_id == me.id,
            CustomerTask.kind == "suitability_reassessment",
            CustomerTask.status == "open",
        )
    ):
        task.status, task.closed_at, task.closed_by_id = "done", at, actor.id
        task.note = "reassessed"
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=CustomerAudit.assessment,
        entity="customer",
        entity_id=me.id,
        data={
            "assessment_id": row.id,
            "version": row.version,
            "score": row.score,
            "category": row.category,
            "lowest_because": row.lowest_because,
            "valid_until": row.valid_until.isoformat(),
            "risk_level": {"old": old_level, "new": me.risk_level},
        },
    )
    return row


@action
def set_professional(
    db: Session, *, actor: User, customer_id: int, professional: bool, basis: str
) -> Customer:
    """Records (or withdraws) professional-investor status (measures art. 8), with the evidence
    it rests on."""
    require(actor, "kyc.review")
    c = get_customer(db, viewer=actor, customer_id=customer_id)
    basis = plain_text("basis", basis)
    if not basis:
        raise ValidationFailed(
            key="customers.errors.basis",
            fields=[{"field": "basis", "message": "required"}],
        )
    if c.professional == professional:
        unchanged(db)
        return c
    c.professional = professional
    audit.record(
        db,
        actor_id=actor.id,
        action=CustomerAudit.professional,
        entity="customer",
        entity_id=c.id,
        data={"professional": {"old": not professional, "new": professional}, "basis": basis},
    )
    return c


# --- reads -----------------------------------------------------------------------------------


def profile(db: Session, customer: Customer, lang: str = "zh-CN") -> dict[str, Any]:
    """The customer's category, validity, what it allows and the attempts left today."""
    day = local_today()
    questionnaire, nums = content.checked(day)
    a = latest(db, customer.id)
    st = state(a.valid_until if a else None, day, nums.reminder_days)
    category = a.category if a and st != "expired" else None
    return {
        "customer_id": customer.id,
        "assessment_id": a.id if a else None,
        "category": a.category if a else None,
        "label": questionnaire.label(a.category, lang) if a else None,
        "score": a.score if a else None,
        "version": a.version if a else None,
        "taken_at": a.taken_at.isoformat() if a else None,
        "valid_until": a.valid_until.isoformat() if a else None,
        "state": st,
        "professional": customer.professional,
        "allowed": allowed_range(category, customer.professional) if category else None,
        "lowest_because": list(a.lowest_because) if a else [],
        "attempts_left": attempts_left(attempts_today(db, customer.id), nums.attempts_per_day),
        "attempts_per_day": nums.attempts_per_day,
        "validity_months": nums.validity_months,
    }


def guard_level(db: Session, customer_id: int) -> tuple[str, bool] | None:
    """(category, professional) of a customer with a valid assessment, for the guard's
    suitability check of an agent's reply; None when no valid assessment is on file."""
    a = latest(db, customer_id)
    if a is None or a.valid_until < local_today():
        return None
    c = db.get(Customer, customer_id)
    return a.category, bool(c and c.professional)


def pitch_findings_for(text: str, level: tuple[str, bool]) -> list[dict[str, Any]]:
    """The guard's suitability findings for a reply to a customer of ``level``."""
    category, professional = level
    return pitch_findings(
        text,
        content.catalogue(),
        content.questionnaire(),
        category=category,
        professional=professional,
    )


def product_list(lang: str = "zh-CN") -> list[dict[str, Any]]:
    """The catalogue as shown (products on offer only; prohibited record types apart)."""
    return [
        {"code": p.code, "name": p.name(lang), "kind": p.kind(lang), "risk": p.risk}
        for p in content.catalogue().products
    ]


def _product(code: str) -> Any:
    cat = content.catalogue()
    banned = cat.banned(code)
    if banned is not None:
        raise ValidationFailed(
            key="errors.suitability_banned",
            params={
                "product": banned.name,
                "reason": lambda lang: banned.reason_en if lang == "en" else banned.reason_zh,
            },
            fields=[{"field": "product", "message": "not a product on offer"}],
        )
    product = cat.product(code)
    if product is None:
        raise NotFound(key="customers.errors.product_missing", params={"code": repr(code)})
    return product


def check_product(
    db: Session, *, viewer: User, customer_id: int, code: str, lang: str = "zh-CN"
) -> dict[str, Any]:
    """Match or mismatch of one product for a customer (the desk's 360 panel); a read."""
    c = get_customer(db, viewer=viewer, customer_id=customer_id)
    product = _product(code)
    level = guard_level(db, c.id)
    out: dict[str, Any] = {
        "code": product.code,
        "name": product.name(lang),
        "risk": product.risk,
        "category": level[0] if level else None,
    }
    if level is None:
        out |= {"ok": False, "may_insist": False, "allowed": None, "reason": "no_assessment"}
        return out
    m = match(level[0], product.risk, level[1])
    return out | {"ok": m.ok, "may_insist": m.may_insist, "allowed": m.allowed, "reason": None}


def warning_text(lang: str, category: str, product_risk: str) -> str:
    q = content.questionnaire()
    text = q.warning["en" if lang.startswith("en") else "zh"]
    return text.format(category=q.label(category, lang), product_risk=product_risk)


def refusal_text(lang: str) -> str:
    return content.questionnaire().refusal["en" if lang.startswith("en") else "zh"]


@action
def request_product(db: Session, *, actor: User, code: str) -> ProductRequest:
    """The customer asks for a product: matched against their valid assessment and kept on
    record — ``match``, ``mismatch`` (the special warning is shown; the customer may confirm)
    or ``refused`` (the lowest category above R1)."""
    me = _own_customer(db, actor)
    product = _product(code)
    a = latest(db, me.id)
    if a is None or a.valid_until < local_today():
        raise Conflict(key="errors.suitability_no_assessment")
    m = match(a.category, product.risk, me.professional)
    outcome = "match" if m.ok else "mismatch" if m.may_insist else "refused"
    row = ProductRequest(
        customer_id=me.id,
        assessment_id=a.id,
        product_code=product.code,
        product_risk=product.risk,
        category=a.category,
        professional=me.professional,
        outcome=outcome,
        warning_version=content.questionnaire().warning_version if outcome == "mismatch" else None,
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=CustomerAudit.product_request,
        entity="customer",
        entity_id=me.id,
        data={
            "request_id": row.id,
            "product": product.code,
            "product_risk": product.risk,
            "category": a.category,
            "professional": me.professional,
            "outcome": outcome,
        },
    )
    return row


@action
def confirm_product(
    db: Session, *, actor: User, request_id: int, acknowledged: bool
) -> ProductRequest:
    """The customer insists on a mismatched product after reading the special risk warning.
    Needs an explicit acknowledgement; the lowest category is refused (kept on record)."""
    me = _own_customer(db, actor)
    row = db.get(ProductRequest, request_id)
    if row is None or row.customer_id != me.id:
        raise NotFound(key="customers.errors.request_missing", params={"id": request_id})
    if row.outcome == "confirmed":
        unchanged(db)
        return row
    if row.outcome == "refused" or row.category == "lowest":
        record_refusal(
            db,
            actor_id=actor.id,
            action=CustomerAudit.product_confirm_refused,
            entity="customer",
            entity_id=me.id,
            data={"request_id": row.id, "product": row.product_code, "category": row.category},
        )
        raise Conflict(
            key="errors.as_said", params={"text": refusal_text}, reason="lowest_category"
        )
    if row.outcome != "mismatch":
        raise Conflict(key="errors.suitability_nothing_to_confirm")
    if not acknowledged:
        raise ValidationFailed(
            key="errors.suitability_acknowledge",
            fields=[{"field": "acknowledged", "message": "must be true"}],
        )
    a = latest(db, me.id)
    if a is None or a.id != row.assessment_id or a.valid_until < local_today():
        raise Conflict(key="errors.suitability_changed")
    row.outcome, row.confirmed_at = "confirmed", utcnow()
    audit.record(
        db,
        actor_id=actor.id,
        action=CustomerAudit.product_confirm,
        entity="customer",
        entity_id=me.id,
        data={
            "request_id": row.id,
            "product": row.product_code,
            "product_risk": row.product_risk,
            "category": row.category,
            "warning_version": row.warning_version,
            "outcome": {"old": "mismatch", "new": "confirmed"},
        },
    )
    return row


def request_view(row: ProductRequest, lang: str = "zh-CN") -> dict[str, Any]:
    cat = content.catalogue()
    product = cat.product(row.product_code)
    return {
        "id": row.id,
        "customer_id": row.customer_id,
        "product": row.product_code,
        "name": product.name(lang) if product else row.product_code,
        "risk": row.product_risk,
        "category": row.category,
        "label": content.questionnaire().label(row.category, lang),
        "allowed": allowed_range(row.category, row.professional),
        "outcome": row.outcome,
        "warning_version": row.warning_version,
        "requested_at": row.requested_at.isoformat(),
        "confirmed_at": row.confirmed_at.isoformat() if row.confirmed_at else None,
    }


def recent_requests(
    db: Session, *, viewer: User, customer_id: int, lang: str = "zh-CN", limit: int = 10
) -> list[dict[str, Any]]:
    get_customer(db, viewer=viewer, customer_id=customer_id)
    rows = db.scalars(
        select(ProductRequest)
        .where(ProductRequest.customer_id == customer_id)
        .order_by(ProductRequest.requested_at.desc(), ProductRequest.id.desc())
        .limit(limit)
    )
    return [request_view(r, lang) for r in rows]


def requests_for_review(
    db: Session,
    *,
    viewer: User,
    outcomes: tuple[str, ...] = ("mismatch", "confirmed", "refused"),
    since: date | None = None,
    until: date | None = None,
    lang: str = "zh-CN",
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Mismatches, insistence confirmations and refusals for the compliance console."""
    require(viewer, "audit.read")
    stmt = select(ProductRequest, Customer).join(
        Customer, Customer.id == ProductRequest.customer_id
    )
    stmt = stmt.where(ProductRequest.outcome.in_(outcomes))
    if since is not None:
        stmt = stmt.where(ProductRequest.requested_at >= _day_bounds(since)[0])
    if until is not None:
        stmt = stmt.where(ProductRequest.requested_at < _day_bounds(until)[1])
    rows = db.execute(stmt.order_by(ProductRequest.requested_at.desc()).limit(limit)).all()
    return [request_view(r, lang) | {"customer": c.name_for(lang), "code": c.code} for r, c in rows]


def request_of(db: Session, *, viewer: User, request_id: int) -> ProductRequest:
    """One product request: the customer's own (another's answers 404) or any for staff."""
    row = db.get(ProductRequest, request_id)
    if row is None:
        raise NotFound(key="customers.errors.request_missing", params={"id": request_id})
    get_customer(db, viewer=viewer, customer_id=row.customer_id)
    return row
