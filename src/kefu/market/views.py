"""Market API: instruments, bars with indicators and the customer's trades (the chart's data),
the replay of a binary-option record, disputes and corrections."""

from __future__ import annotations

from datetime import datetime
from typing import Any, Literal
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Path, Query, Request
from pydantic import BaseModel, ConfigDict, Field

from kefu.core.config import get_settings
from kefu.core.errors import Phrase, ValidationFailed
from kefu.core.http import CurrentUser, DbSession, language
from kefu.market import charts, disputes, prices

router = APIRouter(prefix="/api/v1/market", tags=["market"])
Ref = Path(min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$")
RowId = Path(ge=1, le=2**31 - 1)


class DisputeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_id: int | None = Field(default=None, ge=1, le=2**31 - 1)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    decision: Literal["approve", "reject"]
    note: str = Field(default="", max_length=500)


def _moment(field: str, value: datetime | None) -> datetime | None:
    """A query time: without an offset it is read in the configured zone; 1970–2100 only."""
    if value is None:
        return None
    if value.tzinfo is None:
        value = value.replace(tzinfo=ZoneInfo(get_settings().timezone))
    if not 1970 <= value.year <= 2100:
        raise ValidationFailed(
            key="market.errors.year_range",
            params={"field": Phrase(f"market.errors.fields.{field}", field)},
            fields=[{"field": field, "message": "out of range"}],
        )
    return value


@router.get("/instruments")
def list_instruments(request: Request, user: CurrentUser, db: DbSession) -> list[dict[str, Any]]:
    lang = language(request)
    return [
        {
            "code": i.code,
            "name": i.name_for(lang),
            "kind": i.kind,
            "currency": i.currency,
            "price_places": i.price_places,
        }
        for i in prices.instruments(db, viewer=user)
    ]


@router.get("/bars")
def bars(
    request: Request,
    user: CurrentUser,
    db: DbSession,
    symbol: str = Query(min_length=1, max_length=16),
    interval: Literal["1d", "1m"] = "1d",
    style: Literal["tdx", "talib"] = "tdx",
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = Query(1000, ge=1, le=5000),
    customer_id: int | None = Query(None, ge=1, le=2**31 - 1),
) -> dict[str, Any]:
    """OHLCV bars, every chart indicator in ``style`` (null where undefined) and, with
    ``customer_id``, that customer's trades in the instrument (the chart's markers)."""
    start, end = _moment("start", start), _moment("end", end)
    return charts.chart_data(
        db,
        viewer=user,
        symbol=symbol,
        interval=interval,
        style=style,
        start=start,
        end=end,
        limit=limit,
        customer_id=customer_id,
        lang=language(request),
    )


@router.get("/trades/{ref}/replay")
def replay(request: Request, user: CurrentUser, db: DbSession, ref: str = Ref) -> dict[str, Any]:
    """The record replayed against the stored ticks, compared with what was recorded."""
    view = disputes.replay_trade(db, viewer=user, ref=ref)
    out = view.as_dict()
    found = disputes.dispute_of(db, viewer=user, ref=ref)
    out["dispute"] = charts.dispute_dict(found)
    return out


@router.post("/trades/{ref}/disputes", status_code=201)
def open_dispute(
    request: Request, body: DisputeIn, user: CurrentUser, db: DbSession, ref: str = Ref
) -> dict[str, Any]:
    """Opens a dispute (a mismatch opens a correction) and drafts the reply in the customer's
    language, with the guard's verdict on it."""
    disputes.open_dispute(db, actor=user, ref=ref, case_id=body.case_id)
    view = disputes.replay_trade(db, viewer=user, ref=ref)
    out = view.as_dict()
    out["dispute"] = charts.dispute_dict(disputes.dispute_of(db, viewer=user, ref=ref))
    out["draft"] = disputes.draft(view, view.trade.customer_language)
    return out


@router.get("/corrections")
def corrections(
    user: CurrentUser,
    db: DbSession,
    status: Literal["pending", "approved", "rejected", "all"] = "pending",
) -> list[dict[str, Any]]:
    rows = disputes.corrections(db, viewer=user, status=None if status == "all" else status)
    return [charts.correction_dict(c) for c in rows]


@router.post("/corrections/{correction_id}/decision")
def decide(
    body: DecisionIn, user: CurrentUser, db: DbSession, correction_id: int = RowId
) -> dict[str, Any]:
    row = disputes.decide_correction(
        db, actor=user, correction_id=correction_id, decision=body.decision, note=body.note
    )
    return charts.correction_dict(row)
