"""Saved views of the desk's queue: a named filter set (and sort) an agent keeps for themself,
or a supervisor shares with the team."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.db import Base, UTCDateTime, utcnow


class SavedView(Base):
    __tablename__ = "desk_saved_views"
    __table_args__ = (Index("ix_desk_saved_views_owner", "owner_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80))
    #: who made it and alone may rename or delete it
    owner_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: seen by every desk user (only supervisors and admins share)
    shared: Mapped[bool] = mapped_column(Boolean, default=False)
    #: the filters, as validated by kefu.desk.saved_views.ViewFilters
    filters: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    sort: Mapped[str] = mapped_column(String(16), default="due")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
