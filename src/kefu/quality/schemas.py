"""Quality API input and output."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kefu.quality.models import Evaluation


class OverrideIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    score: float = Field(ge=0, le=100)
    passed: bool
    reason: str = Field(min_length=1, max_length=2000)


class CalibrationIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    case_id: int = Field(ge=1, le=2**31 - 1)
    note: str = Field(default="", max_length=2000)


class RatingsIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    ratings: dict[str, Literal["met", "partly", "missed"]]
    note: str = Field(default="", max_length=2000)


class EvaluationOut(BaseModel):
    id: int
    case_id: int
    scorecard: str
    score: float
    raw_score: float
    passed: bool
    auto_fail: bool
    final_score: float
    final_passed: bool
    sections: dict[str, float]
    findings: list[dict[str, Any]]
    items: dict[str, str]
    agent_id: int | None
    scored_at: str
    override_reason: str
    overridden_by_id: int | None

    @classmethod
    def of(cls, row: Evaluation) -> EvaluationOut:
        return cls(
            id=row.id,
            case_id=row.case_id,
            scorecard=row.scorecard,
            score=row.score,
            raw_score=row.raw_score,
            passed=row.passed,
            auto_fail=row.auto_fail,
            final_score=row.final_score,
            final_passed=row.final_passed,
            sections=row.sections,
            findings=row.findings,
            items=row.items,
            agent_id=row.agent_id,
            scored_at=row.scored_at.isoformat(),
            override_reason=row.override_reason,
            overridden_by_id=row.overridden_by_id,
        )


class FilterQuery(BaseModel):
    start: date | None = None
    end: date | None = None
    agent: int | None = Field(default=None, ge=1, le=2**31 - 1)
    category: str | None = Field(default=None, max_length=16)
    channel: str | None = Field(default=None, max_length=8)
    product: str | None = Field(default=None, max_length=8)
    problem: str | None = Field(default=None, max_length=8)
    complaints: bool = False
