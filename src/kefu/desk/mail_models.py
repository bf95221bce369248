"""The e-mail channel's record: every message received or sent, by its Message-ID (what replies
thread by), with the outcome of an incoming one and the delivery state of an outgoing one."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.db import Base, UTCDateTime, utcnow

#: what became of an incoming message
INBOUND_OUTCOMES = ("created", "threaded", "noted", "dropped", "rejected")
#: the delivery state of an outgoing one
DELIVERY_STATES = ("queued", "sent", "failed", "bounced")


class MailMessage(Base):
    __tablename__ = "mail_messages"
    __table_args__ = (
        Index("ix_mail_messages_outbox", "status", "next_attempt_at"),
        Index("ix_mail_messages_case", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the Message-ID without angle brackets; an incoming id seen again is a redelivery
    message_id: Mapped[str] = mapped_column(String(255), unique=True)
    direction: Mapped[str] = mapped_column(String(3))  # in | out
    #: in: mail | bounce | auto_reply; out: reply (an e-mail case) | notify (a web ticket)
    kind: Mapped[str] = mapped_column(String(12))
    #: in: one of INBOUND_OUTCOMES; out: one of DELIVERY_STATES
    status: Mapped[str] = mapped_column(String(12))
    case_id: Mapped[int | None] = mapped_column(
        ForeignKey("cases.id", ondelete="CASCADE"), nullable=True
    )
    desk_message_id: Mapped[int | None] = mapped_column(
        ForeignKey("messages.id", ondelete="SET NULL"), nullable=True
    )
    #: the sender's address as a blind index (incoming), never in clear
    sender_index: Mapped[str] = mapped_column(String(64), default="")
    #: in: why it was dropped, noted or rejected; out: the last delivery error
    detail: Mapped[str] = mapped_column(String(500), default="")
    in_reply_to: Mapped[str] = mapped_column(String(255), default="")
    references: Mapped[str] = mapped_column(Text, default="")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
