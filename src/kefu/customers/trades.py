"""Trade records for other contexts: a binary-option record by reference (tenancy checked), a
customer's trades in one instrument (chart markers), and the platform's settlement tick."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action
from kefu.core.errors import NotFound, ValidationFailed
from kefu.core.security import User, require
from kefu.customers.audit import CustomerAudit
from kefu.customers.models import Customer, Trade, TradingAccount

__all__ = ["TradeRecord", "binary_trade", "record_settlement", "trades_in"]


@dataclass(frozen=True)
class TradeRecord:
    """A trade as the platform recorded it, with its account and customer."""

    id: int
    ref: str
    customer_id: int
    customer_language: str
    account_number: str
    currency: str
    kind: str
    symbol: str
    name_zh: str
    name_en: str
    at: datetime
    status: str
    side: str | None
    qty: int | None
    price: Decimal | None
    direction: str | None
    stake: Decimal | None
    payout_rate: Decimal | None
    entry_price: Decimal | None
    expiry_at: datetime | None
    settle_price: Decimal | None
    result: str | None
    settle_tick_at: datetime | None
    settle_feed: str | None
    tie_rule: str | None

    def name_for(self, lang: str) -> str:
        return self.name_en if lang.startswith("en") and self.name_en else self.name_zh


def _record(t: Trade, a: TradingAccount, c: Customer) -> TradeRecord:
    return TradeRecord(
        id=t.id,
        ref=t.ref,
        customer_id=c.id,
        customer_language=c.language,
        account_number=a.number,
        currency=a.currency,
        kind=t.kind,
        symbol=t.symbol,
        name_zh=t.name_zh,
        name_en=t.name_en,
        at=t.at,
        status=t.status,
        side=t.side,
        qty=t.qty,
        price=t.price,
        direction=t.direction,
        stake=t.stake,
        payout_rate=t.payout_rate,
        entry_price=t.entry_price,
        expiry_at=t.expiry_at,
        settle_price=t.settle_price,
        result=t.result,
        settle_tick_at=t.settle_tick_at,
        settle_feed=t.settle_feed,
        tie_rule=t.tie_rule,
    )


def _visible(c: Customer, viewer: User) -> bool:
    if viewer.role == "customer":
        return c.user_id == viewer.id
    require(viewer, "customer.read")
    return True


def binary_trade(db: Session, *, viewer: User, ref: str) -> TradeRecord:
    """A binary-option record by its reference; another customer's record answers 404."""
    row = db.execute(
        select(Trade, TradingAccount, Customer)
        .join(TradingAccount, Trade.account_id == TradingAccount.id)
        .join(Customer, TradingAccount.customer_id == Customer.id)
        .where(Trade.ref == ref, Trade.kind == "binary")
    ).first()
    if row is None or not _visible(row[2], viewer):
        raise NotFound(key="customers.errors.trade_missing", params={"ref": ref})
    return _record(*row)


def trades_in(db: Session, *, viewer: User, customer_id: int, symbol: str) -> list[TradeRecord]:
    """A customer's trades in one instrument, oldest first (the markers on a chart)."""
    c = db.get(Customer, customer_id)
    if c is None or not _visible(c, viewer):
        raise NotFound(key="customers.errors.customer_missing", params={"id": customer_id})
    rows = db.execute(
        select(Trade, TradingAccount, Customer)
        .join(TradingAccount, Trade.account_id == TradingAccount.id)
        .join(Customer, TradingAccount.customer_id == Customer.id)
        .where(Customer.id == customer_id, Trade.symbol == symbol)
        .order_by(Trade.at)
    ).all()
    return [_record(*r) for r in rows]


@action
def record_settlement(
    db: Session,
    *,
    actor: User | None,
    ref: str,
    tick_at: datetime,
    feed: str,
    tie_rule: str,
) -> None:
    """Records which tick (time, feed) the platform settled a binary-option trade on and the
    tie rule in force; fed by the back office (``actor`` None) or an import."""
    if tie_rule not in ("refund", "loss"):
        raise ValidationFailed(
            "tie_rule must be refund or loss", fields=[{"field": "tie_rule", "message": "unknown"}]
        )
    t = db.scalar(select(Trade).where(Trade.ref == ref, Trade.kind == "binary"))
    if t is None:
        raise NotFound(f"binary-option trade {ref} does not exist")
    old = {
        "settle_tick_at": t.settle_tick_at.isoformat() if t.settle_tick_at else None,
        "settle_feed": t.settle_feed,
        "tie_rule": t.tie_rule,
    }
    t.settle_tick_at, t.settle_feed, t.tie_rule = tick_at, feed, tie_rule
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=CustomerAudit.trade_settlement,
        entity="trade",
        entity_id=t.id,
        data={
            "ref": ref,
            "old": old,
            "new": {
                "settle_tick_at": tick_at.isoformat(),
                "settle_feed": feed,
                "tie_rule": tie_rule,
            },
        },
    )
