"""Customer API: search, the 360° view, the audited PII reveal, KYC records and tasks, the
suitability questionnaire, product requests and their confirmations."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from kefu.core.errors import NotFound
from kefu.core.http import CurrentUser, DbSession, Id, Lang, language
from kefu.core.security import require
from kefu.customers import content, kyc, service, suitability

router = APIRouter(prefix="/api/v1", tags=["customers"])
CustomerId = Path(ge=1, le=2**31 - 1)


class RevealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: Literal["phone", "email", "id_number", "card", "kyc_document"]
    reason: str = Field(min_length=1, max_length=500)
    card_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


@router.get("/customers")
def search(
    user: CurrentUser,
    db: DbSession,
    q: str = Query("", max_length=100),
    limit: int = Query(50, ge=1, le=200),
) -> list[dict[str, Any]]:
    return [
        {
            "id": c.id,
            "code": c.code,
            "name_zh": c.name_zh,
            "name_en": c.name_en,
            "phone": c.phone_masked,
            "kyc_status": c.kyc_status,
            "risk_level": c.risk_level,
        }
        for c in service.search_customers(db, viewer=user, q=q, limit=limit)
    ]


@router.get("/customers/{customer_id}")
def customer_360(
    request: Request,
    user: CurrentUser,
    db: DbSession,
    customer_id: int = CustomerId,
) -> dict[str, Any]:
    return service.customer_360(db, viewer=user, customer_id=customer_id, lang=language(request))


@router.post("/customers/{customer_id}/reveal")
def reveal(
    body: RevealIn,
    user: CurrentUser,
    db: DbSession,
    customer_id: int = CustomerId,
) -> dict[str, str]:
    value = service.reveal(
        db,
        actor=user,
        customer_id=customer_id,
        field=body.field,
        reason=body.reason,
        card_id=body.card_id,
    )
    return {"field": body.field, "value": value}


# --- KYC -------------------------------------------------------------------------------------


class KycIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    doc_type: str = Field(max_length=24)
    doc_number: str = Field(min_length=1, max_length=40)
    doc_expires_on: date | None = None
    funds_source: str = Field(max_length=16)
    funds_note: str = Field(default="", max_length=500)


class KycReviewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    status: Literal["verified", "rejected"]
    note: str = Field(default="", max_length=500)


class TaskCloseIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    note: str = Field(default="", max_length=500)


@router.get("/customers/{customer_id}/kyc")
def get_kyc(user: CurrentUser, db: DbSession, customer_id: int = CustomerId) -> dict[str, Any]:
    found = kyc.kyc_of(db, viewer=user, customer_id=customer_id)
    if found is None:
        raise NotFound(key="customers.errors.no_kyc", params={"id": customer_id})
    return found


@router.put("/customers/{customer_id}/kyc")
def put_kyc(
    body: KycIn, user: CurrentUser, db: DbSession, customer_id: int = CustomerId
) -> dict[str, Any]:
    row = kyc.record_kyc(db, actor=user, customer_id=customer_id, **body.model_dump())
    return kyc.kyc_view(db, row)


@router.post("/customers/{customer_id}/kyc/review")
def review_kyc(
    body: KycReviewIn, user: CurrentUser, db: DbSession, customer_id: int = CustomerId
) -> dict[str, Any]:
    row = kyc.review_kyc(db, actor=user, customer_id=customer_id, **body.model_dump())
    return kyc.kyc_view(db, row)


@router.get("/kyc/tasks")
def kyc_tasks(
    user: CurrentUser,
    db: DbSession,
    customer_id: int | None = Query(None, ge=1, le=2**31 - 1),
) -> list[dict[str, Any]]:
    return kyc.open_tasks(db, viewer=user, customer_id=customer_id)


@router.post("/kyc/tasks/{task_id}/close")
def close_task(task_id: Id, body: TaskCloseIn, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    task = kyc.close_task(db, actor=user, task_id=task_id, note=body.note)
    return {"id": task.id, "status": task.status}


@router.post("/kyc/scan")
def kyc_scan(user: CurrentUser, db: DbSession) -> dict[str, int]:
    return kyc.scan(db, actor=user)


# --- suitability -----------------------------------------------------------------------------


class AssessmentIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    answers: dict[str, str] = Field(max_length=100)


class ProductRequestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    product: str = Field(min_length=1, max_length=32)


class ConfirmIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    acknowledged: bool


class ProfessionalIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    professional: bool
    basis: str = Field(min_length=1, max_length=500)


@router.get("/suitability/questionnaire")
def questionnaire(user: CurrentUser, lang: Lang) -> dict[str, Any]:
    q = content.questionnaire()
    return {
        "version": q.version,
        "title": q.title["en" if lang.startswith("en") else "zh"],
        "questions": [
            {
                "id": x.id,
                "text": x.text(lang),
                "options": [{"id": o.id, "text": o.text(lang)} for o in x.options],
            }
            for x in q.questions
        ],
    }


@router.get("/products")
def products(user: CurrentUser, lang: Lang) -> list[dict[str, Any]]:
    return suitability.product_list(lang)


@router.get("/customers/{customer_id}/suitability")
def customer_suitability(
    user: CurrentUser, db: DbSession, lang: Lang, customer_id: int = CustomerId
) -> dict[str, Any]:
    c = service.get_customer(db, viewer=user, customer_id=customer_id)
    return suitability.profile(db, c, lang) | {
        "requests": suitability.recent_requests(db, viewer=user, customer_id=c.id, lang=lang)
    }


@router.get("/customers/{customer_id}/suitability/check")
def check_product(
    user: CurrentUser,
    db: DbSession,
    lang: Lang,
    customer_id: int = CustomerId,
    product: str = Query(min_length=1, max_length=32),
) -> dict[str, Any]:
    require(user, "customer.read")
    return suitability.check_product(
        db, viewer=user, customer_id=customer_id, code=product, lang=lang
    )


@router.post("/customers/{customer_id}/professional")
def professional(
    body: ProfessionalIn, user: CurrentUser, db: DbSession, customer_id: int = CustomerId
) -> dict[str, Any]:
    c = suitability.set_professional(
        db, actor=user, customer_id=customer_id, professional=body.professional, basis=body.basis
    )
    return {"customer_id": c.id, "professional": c.professional}


@router.post("/suitability/assessments", status_code=201)
def take_assessment(
    body: AssessmentIn, user: CurrentUser, db: DbSession, lang: Lang
) -> dict[str, Any]:
    row = suitability.submit_assessment(db, actor=user, answers=body.answers)
    c = service.get_customer(db, viewer=user, customer_id=row.customer_id)
    return suitability.profile(db, c, lang)


@router.post("/suitability/requests", status_code=201)
def request_product(
    body: ProductRequestIn, user: CurrentUser, db: DbSession, lang: Lang
) -> dict[str, Any]:
    row = suitability.request_product(db, actor=user, code=body.product)
    out = suitability.request_view(row, lang)
    if row.outcome == "mismatch":
        out["warning"] = suitability.warning_text(lang, row.category, row.product_risk)
    elif row.outcome == "refused":
        out["warning"] = suitability.refusal_text(lang)
    return out


@router.post("/suitability/requests/{request_id}/confirm")
def confirm_product(
    request_id: Id, body: ConfirmIn, user: CurrentUser, db: DbSession, lang: Lang
) -> dict[str, Any]:
    row = suitability.confirm_product(
        db, actor=user, request_id=request_id, acknowledged=body.acknowledged
    )
    return suitability.request_view(row, lang)
