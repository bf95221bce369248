"""Customer profile, bank cards, trading accounts, positions, trades and fund transfers."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    Date,
    ForeignKey,
    Index,
    Integer,
    String,
    UniqueConstraint,
    false,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.core.db import Base, Dec, Money, UTCDateTime, utcnow

KYC_STATUSES = ("verified", "pending", "expired", "rejected")
RISK_LEVELS = ("C1", "C2", "C3", "C4", "C5")
ACCOUNT_KINDS = ("a_share", "margin", "binary_option")


class Customer(Base):
    __tablename__ = "customers"

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), unique=True, nullable=True
    )
    code: Mapped[str] = mapped_column(String(16), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(128), default="")
    language: Mapped[str] = mapped_column(String(8), default="zh")
    city: Mapped[str] = mapped_column(String(64), default="")
    opened_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    # PII: ciphertext, a masked copy for display, a blind index for exact lookup
    phone_enc: Mapped[str] = mapped_column(String(512), default="")
    phone_masked: Mapped[str] = mapped_column(String(32), default="")
    phone_index: Mapped[str] = mapped_column(String(64), default="", index=True)
    email_enc: Mapped[str] = mapped_column(String(512), default="")
    email_masked: Mapped[str] = mapped_column(String(128), default="")
    #: blind index of the lower-cased address: finds the customer an e-mail comes from
    email_index: Mapped[str] = mapped_column(String(64), default="", index=True)
    #: the customer's choice: an e-mail when a ticket of theirs is answered (on by default)
    email_notify: Mapped[bool] = mapped_column(Boolean, default=True, server_default=true())
    id_type: Mapped[str] = mapped_column(String(16), default="resident_id")
    id_number_enc: Mapped[str] = mapped_column(String(512), default="")
    id_number_masked: Mapped[str] = mapped_column(String(32), default="")
    id_number_index: Mapped[str] = mapped_column(String(64), default="", index=True)
    kyc_status: Mapped[str] = mapped_column(String(16), default="pending")
    risk_level: Mapped[str] = mapped_column(String(2), default="C1")
    #: a professional investor (CSRC suitability measures art. 8), recorded by compliance
    professional: Mapped[bool] = mapped_column(Boolean, default=False, server_default=false())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    accounts: Mapped[list[TradingAccount]] = relationship(
        back_populates="customer", order_by="TradingAccount.id"
    )
    cards: Mapped[list[BankCard]] = relationship(order_by="BankCard.id")

    def name_for(self, lang: str) -> str:
        return self.name_en if lang.startswith("en") and self.name_en else self.name_zh


class BankCard(Base):
    __tablename__ = "bank_cards"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    bank_name_zh: Mapped[str] = mapped_column(String(64))
    bank_name_en: Mapped[str] = mapped_column(String(64), default="")
    card_enc: Mapped[str] = mapped_column(String(512))
    card_masked: Mapped[str] = mapped_column(String(32))
    card_index: Mapped[str] = mapped_column(String(64), index=True)


class TradingAccount(Base):
    __tablename__ = "trading_accounts"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    number: Mapped[str] = mapped_column(String(24), unique=True)
    kind: Mapped[str] = mapped_column(String(16))
    currency: Mapped[str] = mapped_column(String(3), default="CNY")
    cash: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    frozen: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    debt: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    credit_limit: Mapped[Decimal] = mapped_column(Money, default=Decimal(0))
    status: Mapped[str] = mapped_column(String(16), default="active")

    customer: Mapped[Customer] = relationship(back_populates="accounts")
    positions: Mapped[list[Position]] = relationship(order_by="Position.id")


class Position(Base):
    __tablename__ = "positions"

    id: Mapped[int] = mapped_column(primary_key=True)
    account_id: Mapped[int] = mapped_column(
        ForeignKey("trading_accounts.id", ondelete="CASCADE"), index=True
    )
    symbol: Mapped[str] = mapped_column(String(16))
    name_zh: Mapped[str] = mapped_column(String(64), default="")
    name_en: Mapped[str] = mapped_column(String(64), default="")
    qty: Mapped[int] = mapped_column(Integer)
    avg_cost: Mapped[Decimal] = mapped_column(Dec(24, 8))
    last_price: Mapped[Decimal] = mapped_column(Dec(24, 8))


class Trade(Base):
    __tablename__ = "trades"
    __table_args__ = (Index("ix_trades_account_at", "account_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("trading_accounts.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    kind: Mapped[str] = mapped_column(String(8))  # stock | binary
    symbol: Mapped[str] = mapped_column(String(16))
    name_zh: Mapped[str] = mapped_column(String(64), default="")
    name_en: Mapped[str] = mapped_column(String(64), default="")
    status: Mapped[str] = mapped_column(String(16), default="filled")
    reason_zh: Mapped[str] = mapped_column(String(256), default="")
    reason_en: Mapped[str] = mapped_column(String(256), default="")
    # stock
    side: Mapped[str | None] = mapped_column(String(4), nullable=True)
    qty: Mapped[int | None] = mapped_column(Integer, nullable=True)
    price: Mapped[Decimal | None] = mapped_column(Dec(24, 8), nullable=True)
    # binary option
    direction: Mapped[str | None] = mapped_column(String(4), nullable=True)
    stake: Mapped[Decimal | None] = mapped_column(Money, nullable=True)
    payout_rate: Mapped[Decimal | None] = mapped_column(Dec(10, 6), nullable=True)
    entry_price: Mapped[Decimal | None] = mapped_column(Dec(24, 8), nullable=True)
    expiry_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    settle_price: Mapped[Decimal | None] = mapped_column(Dec(24, 8), nullable=True)
    result: Mapped[str | None] = mapped_column(String(8), nullable=True)
    # the settlement tick the platform used (time, feed) and the tie rule in force (refund | loss)
    settle_tick_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    settle_feed: Mapped[str | None] = mapped_column(String(32), nullable=True)
    tie_rule: Mapped[str | None] = mapped_column(String(8), nullable=True)


class FundTransfer(Base):
    __tablename__ = "fund_transfers"
    __table_args__ = (Index("ix_fund_transfers_account_at", "account_id", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    ref: Mapped[str] = mapped_column(String(32), unique=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("trading_accounts.id", ondelete="CASCADE"))
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    direction: Mapped[str] = mapped_column(String(12))  # deposit | withdrawal
    amount: Mapped[Decimal] = mapped_column(Money)
    status: Mapped[str] = mapped_column(String(12), default="completed")
    channel: Mapped[str] = mapped_column(
        String(24), default="bank_transfer"
    )  # cash|bank_transfer|card
    #: the name on the other side (payer of a deposit, payee of a withdrawal), from the back office
    counterparty_name: Mapped[str] = mapped_column(String(128), default="")
    reason_zh: Mapped[str] = mapped_column(String(256), default="")
    reason_en: Mapped[str] = mapped_column(String(256), default="")


# --- KYC -------------------------------------------------------------------------------------

DOC_TYPES = ("resident_id", "passport", "hk_macau_permit", "taiwan_permit", "foreign_pr_card")
FUNDS_SOURCES = ("salary", "business", "investment", "property", "savings", "inheritance", "other")
TASK_KINDS = ("kyc_document_expiring", "kyc_document_expired", "suitability_reassessment")


class KycRecord(Base):
    """A customer's identity document and due-diligence state (one per customer)."""

    __tablename__ = "kyc_records"

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), unique=True
    )
    doc_type: Mapped[str] = mapped_column(String(24))
    doc_number_enc: Mapped[str] = mapped_column(String(512))
    doc_number_masked: Mapped[str] = mapped_column(String(32))
    doc_number_index: Mapped[str] = mapped_column(String(64), index=True)
    #: None: a long-term (长期) resident identity card
    doc_expires_on: Mapped[date | None] = mapped_column(Date, nullable=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    funds_source: Mapped[str] = mapped_column(String(16))
    funds_note: Mapped[str] = mapped_column(String(500), default="")
    reviewer_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KycEvent(Base):
    """One step of a KYC record's history: submitted, verified, rejected, expired, updated."""

    __tablename__ = "kyc_events"

    id: Mapped[int] = mapped_column(primary_key=True)
    record_id: Mapped[int] = mapped_column(
        ForeignKey("kyc_records.id", ondelete="CASCADE"), index=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    from_status: Mapped[str | None] = mapped_column(String(16), nullable=True)
    to_status: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(500), default="")


class CustomerTask(Base):
    """A follow-up raised for staff: an identity document about to expire, an assessment due."""

    __tablename__ = "customer_tasks"
    __table_args__ = (UniqueConstraint("customer_id", "kind", "due_on", name="uq_customer_task"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(32))
    due_on: Mapped[date] = mapped_column(Date)
    status: Mapped[str] = mapped_column(String(12), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    note: Mapped[str] = mapped_column(String(500), default="")


# --- suitability ---------------------------------------------------------------------------


class SuitabilityAssessment(Base):
    """One completed risk-tolerance questionnaire: the answers, the score, the category."""

    __tablename__ = "suitability_assessments"
    __table_args__ = (Index("ix_suitability_assessments_customer", "customer_id", "taken_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    version: Mapped[str] = mapped_column(String(16))
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    score: Mapped[int] = mapped_column(Integer)
    category: Mapped[str] = mapped_column(String(8))
    lowest_because: Mapped[list[str]] = mapped_column(JSON, default=list)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    valid_until: Mapped[date] = mapped_column(Date)
    taken_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )


class ProductRequest(Base):
    """A customer's request for a product, matched against their category; a mismatch they
    insist on carries their confirmation of the special risk warning."""

    __tablename__ = "suitability_requests"
    __table_args__ = (Index("ix_suitability_requests_customer", "customer_id", "requested_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    assessment_id: Mapped[int | None] = mapped_column(
        ForeignKey("suitability_assessments.id", ondelete="SET NULL"), nullable=True
    )
    product_code: Mapped[str] = mapped_column(String(32))
    product_risk: Mapped[str] = mapped_column(String(2))
    category: Mapped[str] = mapped_column(String(8))
    professional: Mapped[bool] = mapped_column(Boolean, default=False)
    #: match | mismatch (warned, not confirmed) | confirmed (insisted after the warning) |
    #: refused (the lowest category, or no valid assessment)
    outcome: Mapped[str] = mapped_column(String(12), index=True)
    warning_version: Mapped[str | None] = mapped_column(String(16), nullable=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    confirmed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
