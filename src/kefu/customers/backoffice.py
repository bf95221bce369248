"""What the back office feeds into the customers context, and the history monitoring reads.

The writers here are low-level helpers, not actions: they run inside the action of the feed
that called them (``kefu.aml.feeds``), whose audit entry records the batch. Each takes a whole
batch, so a 10,000-record batch costs a few queries, not 10,000.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select, union_all
from sqlalchemy.orm import Session

from kefu.core.db import UTCDateTime
from kefu.customers.models import Customer, FundTransfer, Trade, TradingAccount

__all__ = [
    "NewCustomer",
    "NewTrade",
    "NewTransfer",
    "accounts_of_codes",
    "accounts_of_numbers",
    "add_customers",
    "add_trades",
    "add_transfers",
    "codes_of",
    "existing_refs",
    "history",
    "ids_of_codes",
]

#: transfers and trades that did not happen are not monitored
NOT_DONE = ("rejected", "failed", "cancelled", "canceled")
_CHUNK = 900  # parameters per IN (…) list, under SQLite's limit


def _chunks(items: Sequence[Any]) -> Iterable[Sequence[Any]]:
    for i in range(0, len(items), _CHUNK):
        yield items[i : i + _CHUNK]


def _pairs(db: Session, stmt: Any) -> list[tuple[Any, Any]]:
    return [(k, v) for k, v in db.execute(stmt)]


@dataclass(frozen=True)
class NewCustomer:
    code: str
    name: str
    name_en: str
    opened_on: date | None
    risk_level: str
    account: str


@dataclass(frozen=True)
class NewTransfer:
    ref: str
    account_id: int
    at: datetime
    direction: str
    amount: Decimal
    method: str
    counterparty_name: str
    status: str


@dataclass(frozen=True)
class NewTrade:
    ref: str
    account_id: int
    at: datetime
    side: str
    symbol: str
    qty: int
    price: Decimal
    status: str


def ids_of_codes(db: Session, codes: Iterable[str]) -> dict[str, int]:
    """Customer ids by the back office's customer code."""
    wanted = sorted(set(codes))
    out: dict[str, int] = {}
    for part in _chunks(wanted):
        out.update(_pairs(db, select(Customer.code, Customer.id).where(Customer.code.in_(part))))
    return out


def codes_of(db: Session, ids: Iterable[int]) -> dict[int, str]:
    wanted = sorted(set(ids))
    out: dict[int, str] = {}
    for part in _chunks(wanted):
        out.update(_pairs(db, select(Customer.id, Customer.code).where(Customer.id.in_(part))))
    return out


def accounts_of_codes(db: Session, codes: Iterable[str]) -> dict[str, dict[str, int]]:
    """customer code -> {account number -> account id}; the first account is listed first."""
    wanted = sorted(set(codes))
    out: dict[str, dict[str, int]] = {}
    for part in _chunks(wanted):
        rows = db.execute(
            select(Customer.code, TradingAccount.number, TradingAccount.id)
            .join(TradingAccount, TradingAccount.customer_id == Customer.id)
            .where(Customer.code.in_(part))
            .order_by(TradingAccount.id)
        )
        for code, number, acct in rows:
            out.setdefault(code, {})[number] = acct
    return out


def accounts_of_numbers(db: Session, numbers: Sequence[str]) -> dict[str, int]:
    """Account ids by number, for the numbers already taken."""
    out: dict[str, int] = {}
    for part in _chunks(list(numbers)):
        stmt = select(TradingAccount.number, TradingAccount.id)
        out.update(_pairs(db, stmt.where(TradingAccount.number.in_(part))))
    return out


def existing_refs(db: Session, kind: str, refs: Sequence[str]) -> set[str]:
    """Which of ``refs`` are stored already (the feed's idempotency)."""
    col = {"transfers": FundTransfer.ref, "trades": Trade.ref, "customers": Customer.code}[kind]
    out: set[str] = set()
    for part in _chunks(list(refs)):
        out.update(db.scalars(select(col).where(col.in_(part))))
    return out


def add_customers(db: Session, rows: Sequence[NewCustomer]) -> list[Customer]:
    """New customers (PII arrives through the KYC flow, not the feed) with one a-share account
    each; the caller has checked the codes are new."""
    made = [
        Customer(
            code=r.code,
            name_zh=r.name,
            name_en=r.name_en,
            opened_on=r.opened_on,
            risk_level=r.risk_level,
            kyc_status="pending",
        )
        for r in rows
    ]
    db.add_all(made)
    db.flush()
    db.add_all(
        TradingAccount(customer_id=c.id, number=r.account, kind="a_share")
        for c, r in zip(made, rows, strict=True)
    )
    db.flush()
    return made


def add_transfers(db: Session, rows: Sequence[NewTransfer]) -> None:
    db.add_all(
        FundTransfer(
            ref=r.ref,
            account_id=r.account_id,
            at=r.at,
            direction=r.direction,
            amount=r.amount,
            status=r.status,
            channel=r.method,
            counterparty_name=r.counterparty_name,
        )
        for r in rows
    )
    db.flush()


def add_trades(db: Session, rows: Sequence[NewTrade]) -> None:
    db.add_all(
        Trade(
            ref=r.ref,
            account_id=r.account_id,
            at=r.at,
            kind="stock",
            symbol=r.symbol,
            status=r.status,
            side=r.side,
            qty=r.qty,
            price=r.price,
        )
        for r in rows
    )
    db.flush()


def history(
    db: Session, *, customer_ids: Sequence[int] | None = None, since: datetime | None = None
) -> dict[str, list[Any]]:
    """Every completed transfer and filled trade (of ``customer_ids``, from ``since``) as
    columns for the monitoring engine: txn_id ("transfer:REF" / "trade:REF"), customer_id,
    ts, kind, amount (Decimal), method, counterparty_name. With ``since``, each customer's last
    transaction before it is included too (the dormant-account rule looks one step back)."""
    transfers = select(
        FundTransfer.ref.label("txn_id"),
        TradingAccount.customer_id.label("customer_id"),
        FundTransfer.at.label("ts"),
        FundTransfer.direction.label("kind"),
        FundTransfer.amount.label("amount"),
        FundTransfer.channel.label("method"),
        FundTransfer.counterparty_name.label("counterparty_name"),
    ).join(TradingAccount, TradingAccount.id == FundTransfer.account_id)
    transfers = transfers.where(FundTransfer.status.not_in(NOT_DONE))
    trades = (
        select(
            Trade.ref.label("txn_id"),
            TradingAccount.customer_id.label("customer_id"),
            Trade.at.label("ts"),
            Trade.side.label("kind"),
            Trade.price.label("price"),
            Trade.qty.label("qty"),
            Trade.stake.label("stake"),
            Trade.kind.label("trade_kind"),
        )
        .join(TradingAccount, TradingAccount.id == Trade.account_id)
        .where(Trade.status.not_in(NOT_DONE))
    )
    cols: dict[str, list[Any]] = {
        k: []
        for k in ("txn_id", "customer_id", "ts", "kind", "amount", "method", "counterparty_name")
    }
    groups: list[Sequence[int] | None] = (
        list(_chunks(list(customer_ids))) if customer_ids is not None else [None]
    )
    for part in groups:
        ft, tr = transfers, trades
        if part is not None:
            ft = ft.where(TradingAccount.customer_id.in_(part))
            tr = tr.where(TradingAccount.customer_id.in_(part))
        if since is not None:
            _previous_into(db, cols, part, since)
            ft = ft.where(FundTransfer.at >= since)
            tr = tr.where(Trade.at >= since)
        for row in db.execute(ft):
            for k in cols:
                cols[k].append(getattr(row, k))
            cols["txn_id"][-1] = "transfer:" + row.txn_id
        for trade in db.execute(tr):
            _trade_into(cols, trade)
    return cols


def _trade_into(cols: dict[str, list[Any]], row: Any) -> None:
    if row.trade_kind == "binary":  # a binary option is bought for its stake
        kind, amount = "buy", row.stake or Decimal(0)
    else:
        kind = row.kind if row.kind in ("buy", "sell") else "buy"
        amount = (row.price or Decimal(0)) * (row.qty or 0)
    cols["txn_id"].append("trade:" + row.txn_id)
    cols["customer_id"].append(row.customer_id)
    cols["ts"].append(row.ts)
    cols["kind"].append(kind)
    cols["amount"].append(Decimal(amount).quantize(Decimal("0.0001")))
    cols["method"].append(None)
    cols["counterparty_name"].append(None)


def _previous_into(
    db: Session, cols: dict[str, list[Any]], part: Sequence[int] | None, since: datetime
) -> None:
    """Each customer's last transaction before ``since`` (only its time matters to the rules:
    it is handed on as a zero-amount trade, which no rule counts but the dormant one's look
    back)."""
    ft = (
        select(TradingAccount.customer_id.label("c"), FundTransfer.at.label("at"))
        .join(TradingAccount, TradingAccount.id == FundTransfer.account_id)
        .where(FundTransfer.at < since, FundTransfer.status.not_in(NOT_DONE))
    )
    tr = (
        select(TradingAccount.customer_id.label("c"), Trade.at.label("at"))
        .join(TradingAccount, TradingAccount.id == Trade.account_id)
        .where(Trade.at < since, Trade.status.not_in(NOT_DONE))
    )
    if part is not None:
        ft = ft.where(TradingAccount.customer_id.in_(part))
        tr = tr.where(TradingAccount.customer_id.in_(part))
    both = union_all(ft, tr).subquery()
    last = select(both.c.c, func.max(both.c.at, type_=UTCDateTime())).group_by(both.c.c)
    for cid, at in db.execute(last):
        cols["txn_id"].append(f"before:{cid}")
        cols["customer_id"].append(cid)
        cols["ts"].append(at)
        cols["kind"].append("buy")
        cols["amount"].append(Decimal(0))
        cols["method"].append(None)
        cols["counterparty_name"].append(None)
