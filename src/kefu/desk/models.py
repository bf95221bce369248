"""Cases of every channel, messages, statuses, agents, SLA, calendars, canned replies, CSAT."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    SmallInteger,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship

from kefu.core.db import Base, UTCDateTime, utcnow

CHANNELS = ("chat", "web", "phone", "email")
CATEGORIES = ("account", "funds", "trading", "technical", "complaint", "compliance")
PRIORITIES = ("urgent", "high", "normal", "low")
STATUS_CATEGORIES = ("open", "pending", "resolved", "closed")
MESSAGE_KINDS = ("customer", "agent", "note", "system")


class CaseStatus(Base):
    """A status a team defines; what it means to SLA and queues comes from its ``category``."""

    __tablename__ = "case_statuses"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(32), unique=True)
    category: Mapped[str] = mapped_column(String(16))
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    position: Mapped[int] = mapped_column(Integer, default=0)
    is_builtin: Mapped[bool] = mapped_column(Boolean, default=False)


class Case(Base):
    __tablename__ = "cases"
    __table_args__ = (
        # the agent queue: open work in SLA order
        Index("ix_cases_queue", "status_category", "next_due_at", "id"),
        Index("ix_cases_assignee_queue", "assignee_id", "status_category", "next_due_at"),
        Index("ix_cases_customer", "customer_id", "updated_at"),
        # cases by creation date: the queue's date filter (migration 0023)
        Index("ix_cases_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    external_ref: Mapped[str | None] = mapped_column(String(64), unique=True, nullable=True)
    customer_id: Mapped[int] = mapped_column(ForeignKey("customers.id", ondelete="RESTRICT"))
    channel: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str] = mapped_column(String(200))
    category: Mapped[str] = mapped_column(String(16))
    intent: Mapped[str] = mapped_column(String(64), default="")
    priority: Mapped[str] = mapped_column(String(8), default="normal")
    status_id: Mapped[int] = mapped_column(ForeignKey("case_statuses.id"))
    status_category: Mapped[str] = mapped_column(String(16), default="open")
    language: Mapped[str] = mapped_column(String(8), default="zh")
    assignee_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_response_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    first_response_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolution_due: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    resolved_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sla_paused_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: the earliest SLA deadline still running (NULL when none is): the queue sorts on it
    next_due_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    call_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    #: a call transcript with personal data masked; the words as heard are in transcript_sealed
    transcript: Mapped[str] = mapped_column(Text, default="")
    transcript_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    search_text: Mapped[str] = mapped_column(Text, default="")
    last_message_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    #: per-case message counter: messages carry seq 1, 2, 3 … so sockets deliver them in order
    last_seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    #: read receipts: the last message id each side has seen
    customer_read_id: Mapped[int] = mapped_column(Integer, default=0)
    agent_read_id: Mapped[int] = mapped_column(Integer, default=0)
    #: set when the case was merged into another (kefu.desk.merge): it is then read-only
    merged_into_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="SET NULL"), nullable=True
    )

    status: Mapped[CaseStatus] = relationship(lazy="joined")
    messages: Mapped[list[Message]] = relationship(
        back_populates="case", order_by="Message.id", cascade="all, delete-orphan"
    )

    # staff's labels (never shown to the customer); loaded on first use, and for a page of
    # cases in one query by the queue (selectinload), so the chat's write path never reads them
    tag_rows: Mapped[list[CaseTag]] = relationship(
        cascade="all, delete-orphan", order_by="CaseTag.tag"
    )

    @property
    def tags(self) -> list[str]:
        return [t.tag for t in self.tag_rows]


class CaseTag(Base):
    """One label on a case; the index on (tag, case_id) answers "cases tagged X"."""

    __tablename__ = "case_tags"
    __table_args__ = (Index("ix_case_tags_tag", "tag", "case_id"),)

    case_id: Mapped[int] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), primary_key=True
    )
    tag: Mapped[str] = mapped_column(String(32), primary_key=True)


class Message(Base):
    __tablename__ = "messages"
    __table_args__ = (
        UniqueConstraint("case_id", "idempotency_key", name="uq_messages_case_idem"),
        Index("ix_messages_case_id", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    seq: Mapped[int] = mapped_column(Integer, default=0, server_default="0")
    kind: Mapped[str] = mapped_column(String(8))
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    #: the text as stored in clear: with personal data masked whenever the guard found any
    body: Mapped[str] = mapped_column(Text)
    #: the body with personal data masked, shown to roles without reveal rights
    redacted: Mapped[str] = mapped_column(Text, default="")
    #: the words as written, encrypted (Fernet, KEFU_SECRET_KEY), when they held personal data;
    #: read through kefu.desk.conversation.original_body
    sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    idempotency_key: Mapped[str | None] = mapped_column(String(64), nullable=True)
    guard: Mapped[dict[str, Any] | None] = mapped_column(JSON, nullable=True)
    search_text: Mapped[str] = mapped_column(Text, default="")

    case: Mapped[Case] = relationship(back_populates="messages")


class AgentProfile(Base):
    __tablename__ = "agent_profiles"

    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True
    )
    presence: Mapped[str] = mapped_column(String(8), default="offline")
    presence_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    capacity: Mapped[int] = mapped_column(SmallInteger, default=5)
    languages: Mapped[list[str]] = mapped_column(JSON, default=list)
    categories: Mapped[list[str]] = mapped_column(JSON, default=list)
    last_assigned_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class BusinessCalendar(Base):
    __tablename__ = "business_calendars"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(32), unique=True)
    timezone: Mapped[str] = mapped_column(String(64))
    hours: Mapped[dict[str, list[str]]] = mapped_column(JSON)
    holidays: Mapped[list[str]] = mapped_column(JSON, default=list)
    workdays: Mapped[list[str]] = mapped_column(JSON, default=list)
    source: Mapped[str] = mapped_column(String(256), default="")


class SlaPolicy(Base):
    """Targets for one priority on one channel; ``channel == "any"`` is the fallback a channel
    without a policy of its own uses (live chat answers in minutes, tickets in hours)."""

    __tablename__ = "sla_policies"
    __table_args__ = (
        UniqueConstraint("channel", "priority", name="uq_sla_policies_channel_priority"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    channel: Mapped[str] = mapped_column(String(8), default="any", server_default="any")
    priority: Mapped[str] = mapped_column(String(8))
    first_response_minutes: Mapped[int] = mapped_column(Integer)
    resolution_minutes: Mapped[int] = mapped_column(Integer)
    calendar_id: Mapped[int] = mapped_column(ForeignKey("business_calendars.id"))
    near_breach_percent: Mapped[int] = mapped_column(SmallInteger, default=80)

    calendar: Mapped[BusinessCalendar] = relationship(lazy="joined")


class CannedReply(Base):
    __tablename__ = "canned_replies"

    id: Mapped[int] = mapped_column(primary_key=True)
    key: Mapped[str] = mapped_column(String(64), unique=True)
    category: Mapped[str] = mapped_column(String(16), default="general")
    title_zh: Mapped[str] = mapped_column(String(128))
    title_en: Mapped[str] = mapped_column(String(128))
    body_zh: Mapped[str] = mapped_column(Text)
    body_en: Mapped[str] = mapped_column(Text)


class CsatSurvey(Base):
    __tablename__ = "csat_surveys"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), unique=True)
    requested_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    score: Mapped[int | None] = mapped_column(SmallInteger, nullable=True)
    comment: Mapped[str] = mapped_column(Text, default="")
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Macro(Base):
    """A canned text plus case actions applied together. ``owner_id`` NULL = shared (managed by
    supervisors); otherwise personal to its owner."""

    __tablename__ = "desk_macros"
    __table_args__ = (Index("ix_desk_macros_owner", "owner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    owner_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), nullable=True
    )
    body_zh: Mapped[str] = mapped_column(Text, default="")
    body_en: Mapped[str] = mapped_column(Text, default="")
    #: the actions: a status key, a priority, tags to add and remove, "me" / "none" / ""
    status: Mapped[str | None] = mapped_column(String(32), nullable=True)
    priority: Mapped[str | None] = mapped_column(String(8), nullable=True)
    add_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    remove_tags: Mapped[list[str]] = mapped_column(JSON, default=list)
    assign: Mapped[str] = mapped_column(String(8), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Attachment(Base):
    """A file on a message. The bytes live on disk under their sha256 (content-addressed, so
    one receipt sent twice is stored once); ``mime`` is what the content was sniffed as."""

    __tablename__ = "desk_attachments"
    __table_args__ = (Index("ix_desk_attachments_message", "message_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="CASCADE"), nullable=True
    )
    sha256: Mapped[str] = mapped_column(String(64), index=True)
    mime: Mapped[str] = mapped_column(String(64))
    size: Mapped[int] = mapped_column(Integer)
    filename: Mapped[str] = mapped_column(String(200))
    width: Mapped[int | None] = mapped_column(Integer, nullable=True)
    height: Mapped[int | None] = mapped_column(Integer, nullable=True)
    uploaded_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
