"""Market tables: instruments, bars and ticks per instrument, trade disputes and corrections."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.db import Base, Dec, Money, UTCDateTime, utcnow

INTERVALS = ("1d", "1m")
INSTRUMENT_KINDS = ("stock", "fx", "metal", "crypto", "index")
DISPUTE_STATUSES = ("confirmed", "correction", "corrected", "upheld")
CORRECTION_STATUSES = ("pending", "approved", "rejected")


class Instrument(Base):
    __tablename__ = "market_instruments"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64), default="")
    name_en: Mapped[str] = mapped_column(String(64), default="")
    kind: Mapped[str] = mapped_column(String(8), default="stock")
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    price_places: Mapped[int] = mapped_column(Integer, default=2)
    #: the feed whose ticks settle this instrument's binary-option records
    feed: Mapped[str] = mapped_column(String(32), default="")

    def name_for(self, lang: str) -> str:
        return self.name_en if lang.startswith("en") and self.name_en else self.name_zh


class Bar(Base):
    """One OHLCV bar; ``ts`` is the bar's opening time (UTC), ``interval`` 1d or 1m."""

    __tablename__ = "market_bars"
    __table_args__ = (UniqueConstraint("instrument_id", "interval", "ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(
        ForeignKey("market_instruments.id", ondelete="CASCADE")
    )
    interval: Mapped[str] = mapped_column(String(4))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    open: Mapped[Decimal] = mapped_column(Dec(24, 8))
    high: Mapped[Decimal] = mapped_column(Dec(24, 8))
    low: Mapped[Decimal] = mapped_column(Dec(24, 8))
    close: Mapped[Decimal] = mapped_column(Dec(24, 8))
    volume: Mapped[Decimal] = mapped_column(Dec(24, 4))


class Tick(Base):
    __tablename__ = "market_ticks"
    __table_args__ = (UniqueConstraint("instrument_id", "feed", "ts"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    instrument_id: Mapped[int] = mapped_column(
        ForeignKey("market_instruments.id", ondelete="CASCADE")
    )
    feed: Mapped[str] = mapped_column(String(32))
    ts: Mapped[datetime] = mapped_column(UTCDateTime)
    price: Mapped[Decimal] = mapped_column(Dec(24, 8))


class Dispute(Base):
    """A customer's dispute of a binary-option result: the replay as run when it was opened."""

    __tablename__ = "market_disputes"
    __table_args__ = (Index("ix_market_disputes_trade", "trade_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    trade_id: Mapped[int] = mapped_column(ForeignKey("trades.id", ondelete="CASCADE"))
    trade_ref: Mapped[str] = mapped_column(String(32))
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), nullable=True
    )
    opened_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    status: Mapped[str] = mapped_column(String(12))
    feed: Mapped[str] = mapped_column(String(32))
    tie_rule: Mapped[str] = mapped_column(String(8))
    recorded_result: Mapped[str] = mapped_column(String(8))
    recorded_returned: Mapped[Decimal] = mapped_column(Money)
    outcome: Mapped[str] = mapped_column(String(8))
    expiry_price: Mapped[Decimal] = mapped_column(Dec(24, 8))
    expiry_tick_at: Mapped[datetime] = mapped_column(UTCDateTime)
    returned: Mapped[Decimal] = mapped_column(Money)
    profit: Mapped[Decimal] = mapped_column(Money)
    matches: Mapped[bool] = mapped_column(Boolean)
    #: the ticks around expiry as replayed: [[iso ts, price text, is settlement], …]
    evidence: Mapped[list[Any]] = mapped_column(JSON, default=list)


class Correction(Base):
    """A replay that disagrees with the record: an adjustment a supervisor approves or rejects.
    Kefu records the approved amount for the back office to book; it moves no money itself."""

    __tablename__ = "market_corrections"

    id: Mapped[int] = mapped_column(primary_key=True)
    dispute_id: Mapped[int] = mapped_column(
        ForeignKey("market_disputes.id", ondelete="CASCADE"), unique=True
    )
    trade_ref: Mapped[str] = mapped_column(String(32))
    account_number: Mapped[str] = mapped_column(String(24))
    currency: Mapped[str] = mapped_column(String(3))
    #: what the replay says should have been returned less what was returned
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(12), default="pending")
    requested_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    decided_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    decided_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    note: Mapped[str] = mapped_column(String(500), default="")
