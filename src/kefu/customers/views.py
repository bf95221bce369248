"""Customer API: search, the 360° view and the audited PII reveal."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from kefu.core.http import CurrentUser, DbSession, language
from kefu.customers import service

router = APIRouter(prefix="/api/v1", tags=["customers"])
CustomerId = Path(ge=1, le=2**31 - 1)


class RevealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    field: Literal["phone", "email", "id_number", "card"]
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
