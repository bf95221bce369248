"""AML tables: the party type of a customer, alerts, AML cases, their notes and snoozes."""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal

from sqlalchemy import JSON, Date, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.db import Base, Money, UTCDateTime, utcnow

CASE_STATUSES = ("open", "escalated", "closed")
OUTCOMES = ("false_positive", "confirmed")
PARTY_TYPES = ("individual", "entity")


class AmlParty(Base):
    """Whether a customer is a natural person or an entity (the back office says so); a
    customer without a row is an individual."""

    __tablename__ = "aml_parties"

    customer_id: Mapped[int] = mapped_column(
        ForeignKey("customers.id", ondelete="CASCADE"), primary_key=True
    )
    party_type: Mapped[str] = mapped_column(String(16), default="individual")


class AmlCase(Base):
    """One open case per customer collects that customer's alerts until it is closed."""

    __tablename__ = "aml_cases"
    __table_args__ = (Index("ix_aml_cases_customer_status", "customer_id", "status"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    outcome: Mapped[str | None] = mapped_column(String(16), nullable=True)
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    escalated_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: the earliest report deadline of its large-value alerts (5 working days)
    report_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)


class AmlAlert(Base):
    __tablename__ = "aml_alerts"
    __table_args__ = (
        UniqueConstraint("key", name="uq_aml_alerts_key"),
        Index("ix_aml_alerts_case", "case_id"),
        Index("ix_aml_alerts_customer_rule", "customer_id", "rule"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(200))
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    case_id: Mapped[int] = mapped_column(ForeignKey("aml_cases.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(32))
    direction: Mapped[str | None] = mapped_column(String(16), nullable=True)
    txn_refs: Mapped[list[str]] = mapped_column(JSON, default=list)
    amount: Mapped[Decimal] = mapped_column(Money)
    txn_count: Mapped[int] = mapped_column(Integer, default=1)
    window_start: Mapped[datetime] = mapped_column(UTCDateTime)
    window_end: Mapped[datetime] = mapped_column(UTCDateTime)
    explanation_zh: Mapped[str] = mapped_column(Text, default="")
    explanation_en: Mapped[str] = mapped_column(Text, default="")
    raised_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    raised_by: Mapped[str] = mapped_column(String(16), default="stream")  # stream | scan
    report_due_on: Mapped[date | None] = mapped_column(Date, nullable=True)

    def explanation(self, lang: str) -> str:
        return self.explanation_en if lang.startswith("en") else self.explanation_zh


class AmlNote(Base):
    """The case's own history: comments and every step the officer took (also audited)."""

    __tablename__ = "aml_notes"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("aml_cases.id", ondelete="CASCADE"), index=True)
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    kind: Mapped[str] = mapped_column(String(16))  # comment assign escalate close snooze export
    body: Mapped[str] = mapped_column(Text, default="")
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class AmlSnooze(Base):
    """A rule silenced for one customer until a time, with the officer's reason."""

    __tablename__ = "aml_snoozes"
    __table_args__ = (Index("ix_aml_snoozes_customer_rule", "customer_id", "rule"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="CASCADE"))
    rule: Mapped[str] = mapped_column(String(32))
    until: Mapped[datetime] = mapped_column(UTCDateTime)
    reason: Mapped[str] = mapped_column(String(500))
    created_by: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
