"""The compliance officer's verdicts on the guard's decisions (the audit log itself is
append-only, so a verdict is a row of its own pointing at the entry it judges)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.db import Base, UTCDateTime, utcnow

VERDICTS = ("confirmed", "false_positive")


class GuardVerdict(Base):
    __tablename__ = "guard_verdicts"

    id: Mapped[int] = mapped_column(primary_key=True)
    audit_id: Mapped[int] = mapped_column(
        ForeignKey("audit_log.id", ondelete="RESTRICT"), unique=True
    )
    verdict: Mapped[str] = mapped_column(String(16))
    note: Mapped[str] = mapped_column(String(500), default="")
    actor_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
