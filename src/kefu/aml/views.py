"""The AML JSON API: the back office's feeds and the alert list for programs."""

from __future__ import annotations

from datetime import date
from typing import Any

from fastapi import APIRouter, Query
from pydantic import BaseModel, ConfigDict, Field

from kefu.aml import service as aml
from kefu.aml.feeds import CustomerRecord, TradeRecord, TransferRecord
from kefu.core.http import CurrentUser, DbSession, Lang

router = APIRouter(prefix="/api/v1", tags=["aml"])


class CustomerBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[CustomerRecord] = Field(min_length=1, max_length=aml.MAX_BATCH)


class TradeBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[TradeRecord] = Field(min_length=1, max_length=aml.MAX_BATCH)


class TransferBatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    records: list[TransferRecord] = Field(min_length=1, max_length=aml.MAX_BATCH)


@router.post("/feeds/customers")
def feed_customers(body: CustomerBatch, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """Customers from the back office (idempotent on customer_id)."""
    return aml.ingest(db, actor=user, kind="customers", records=body.records).as_json()


@router.post("/feeds/trades")
def feed_trades(body: TradeBatch, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """Trades (idempotent on trade_id); each goes through monitoring before the commit."""
    return aml.ingest(db, actor=user, kind="trades", records=body.records).as_json()


@router.post("/feeds/transfers")
def feed_transfers(body: TransferBatch, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    """Fund transfers (idempotent on transfer_id); each goes through monitoring."""
    return aml.ingest(db, actor=user, kind="transfers", records=body.records).as_json()


@router.get("/aml/alerts")
def alerts(
    user: CurrentUser,
    db: DbSession,
    lang: Lang,
    rule: str = Query("", max_length=32),
    status: str = Query("open", pattern="^(open|escalated|closed|all)$"),
    customer: str = Query("", max_length=100),
    since: date | None = None,
) -> list[dict[str, Any]]:
    """Alerts for compliance (aml.read), newest first."""
    rows = aml.alert_list(
        db, viewer=user, lang=lang, rule=rule, status=status, customer=customer, since=since
    )
    return [
        {
            **r,
            **{
                k: r[k].isoformat() if r[k] else None
                for k in ("window_start", "window_end", "raised_at", "report_due_on")
            },
        }
        for r in rows
    ]
