"""Teams (front line, funds operations, technical support, compliance, back office …), their
members, and escalations: a case handed to a team for an answer under the team's internal
target (OLA), with an internal thread between the team and the case's agent."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.db import Base, UTCDateTime, utcnow

ESCALATION_STATUSES = ("open", "answered", "closed")


class Team(Base):
    __tablename__ = "desk_teams"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(32), unique=True)
    name_zh: Mapped[str] = mapped_column(String(64))
    name_en: Mapped[str] = mapped_column(String(64))
    #: the internal target: business minutes from escalation to the team's answer
    ola_minutes: Mapped[int] = mapped_column(Integer, default=240)
    #: the business calendar the OLA is counted on (a name of business_calendars)
    calendar: Mapped[str] = mapped_column(String(32), default="cn-business")
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def name_for(self, lang: str) -> str:
        return self.name_en if lang.startswith("en") and self.name_en else self.name_zh


class TeamMember(Base):
    __tablename__ = "desk_team_members"

    team_id: Mapped[int] = mapped_column(
        ForeignKey("desk_teams.id", ondelete="CASCADE"), primary_key=True
    )
    user_id: Mapped[int] = mapped_column(
        ForeignKey("users.id", ondelete="CASCADE"), primary_key=True, index=True
    )
    added_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class Escalation(Base):
    """A case handed to a team: the case stays its agent's; the team owes an answer by
    ``ola_due_at``."""

    __tablename__ = "desk_escalations"
    __table_args__ = (
        # the team queue: a team's open work in OLA order
        Index("ix_desk_escalations_queue", "team_id", "status", "ola_due_at"),
        Index("ix_desk_escalations_case", "case_id", "id"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    team_id: Mapped[int] = mapped_column(ForeignKey("desk_teams.id", ondelete="RESTRICT"))
    status: Mapped[str] = mapped_column(String(16), default="open")
    opened_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    #: the internal note, personal data masked; the words as written sealed (Fernet) when masked
    note: Mapped[str] = mapped_column(Text, default="")
    note_sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ola_due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    answered_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class EscalationMessage(Base):
    """One line of an escalation's internal thread (never shown to the customer)."""

    __tablename__ = "desk_escalation_messages"
    __table_args__ = (Index("ix_desk_escalation_messages_esc", "escalation_id", "id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    escalation_id: Mapped[int] = mapped_column(
        ForeignKey("desk_escalations.id", ondelete="CASCADE")
    )
    author_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    #: "team" (a member of the team) or "agent" (the case's side)
    side: Mapped[str] = mapped_column(String(8))
    #: "message", or "answer" for the team's answer
    kind: Mapped[str] = mapped_column(String(8), default="message")
    body: Mapped[str] = mapped_column(Text)
    sealed: Mapped[str | None] = mapped_column(Text, nullable=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


__all__ = [
    "ESCALATION_STATUSES",
    "Escalation",
    "EscalationMessage",
    "Team",
    "TeamMember",
]
