"""Evaluations of closed cases (the automatic grader's and a supervisor's override of it) and
calibration sessions where several reviewers rate the same case."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.db import Base, UTCDateTime, utcnow


class Evaluation(Base):
    """One scoring of a case by the automatic grader. A case scored again (it reopened and
    closed again) keeps its earlier evaluations; ``current`` marks the latest."""

    __tablename__ = "quality_evaluations"
    __table_args__ = (
        Index("ix_quality_evaluations_case", "case_id", "current"),
        Index("ix_quality_evaluations_agent", "agent_id", "scored_at"),
        Index("ix_quality_evaluations_scored", "current", "scored_at"),
        Index("ix_quality_evaluations_finished", "current", "finished_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"))
    current: Mapped[bool] = mapped_column(Boolean, default=True)
    #: the agent who answered (the case's assignee when it was scored, else the last replier)
    agent_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    scorecard: Mapped[str] = mapped_column(String(32))
    score: Mapped[float] = mapped_column(Numeric(5, 1, asdecimal=False))
    raw_score: Mapped[float] = mapped_column(Numeric(5, 1, asdecimal=False))
    passed: Mapped[bool] = mapped_column(Boolean)
    auto_fail: Mapped[bool] = mapped_column(Boolean, default=False)
    sections: Mapped[dict[str, float]] = mapped_column(JSON, default=dict)
    #: [{section, message_index, message_id, points, reason: {zh, en}, rule, critical}]
    findings: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)
    #: check → met | partly | missed | n/a: what calibration compares reviewers with
    items: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    scored_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # --- the case's service facts when it finished (aggregated in SQL by quality.metrics) ---
    channel: Mapped[str] = mapped_column(String(8), default="")
    category: Mapped[str] = mapped_column(String(16), default="")
    priority: Mapped[str] = mapped_column(String(8), default="")
    opened_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    first_response_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    first_response_business_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolution_seconds: Mapped[int | None] = mapped_column(Integer, nullable=True)
    resolution_business_minutes: Mapped[int | None] = mapped_column(Integer, nullable=True)
    agent_replies: Mapped[int] = mapped_column(Integer, default=0)
    first_response_met: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    resolution_met: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: the case had finished before (it was reopened and finished again)
    reopened: Mapped[bool] = mapped_column(Boolean, default=False)
    complaint: Mapped[bool] = mapped_column(Boolean, default=False)
    product_code: Mapped[str] = mapped_column(String(8), default="")
    problem_code: Mapped[str] = mapped_column(String(8), default="")
    #: the case went to compliance (its category, or the guard's report of a staff impostor)
    compliance: Mapped[bool] = mapped_column(Boolean, default=False)
    #: a supervisor's review: the score that stands, with the reason (audited)
    override_score: Mapped[float | None] = mapped_column(
        Numeric(5, 1, asdecimal=False), nullable=True
    )
    override_passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    override_reason: Mapped[str] = mapped_column(Text, default="")
    overridden_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    overridden_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)

    @property
    def final_score(self) -> float:
        return self.override_score if self.override_score is not None else self.score

    @property
    def final_passed(self) -> bool:
        return self.override_passed if self.override_passed is not None else self.passed


class Calibration(Base):
    """A case several reviewers rate item by item, to see how far they agree with one another
    (Fleiss' / Cohen's kappa) and with the automatic grader."""

    __tablename__ = "quality_calibrations"

    id: Mapped[int] = mapped_column(primary_key=True)
    case_id: Mapped[int] = mapped_column(ForeignKey("cases.id", ondelete="CASCADE"), index=True)
    evaluation_id: Mapped[int] = mapped_column(
        ForeignKey("quality_evaluations.id", ondelete="CASCADE")
    )
    created_by_id: Mapped[int | None] = mapped_column(
        ForeignKey("users.id", ondelete="SET NULL"), nullable=True
    )
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    note: Mapped[str] = mapped_column(Text, default="")


class CalibrationRating(Base):
    __tablename__ = "quality_calibration_ratings"
    __table_args__ = (UniqueConstraint("calibration_id", "reviewer_id", name="uq_quality_rating"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    calibration_id: Mapped[int] = mapped_column(
        ForeignKey("quality_calibrations.id", ondelete="CASCADE")
    )
    reviewer_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    #: check → met | partly | missed
    ratings: Mapped[dict[str, str]] = mapped_column(JSON, default=dict)
    score: Mapped[float] = mapped_column(Numeric(5, 1, asdecimal=False))
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
