"""The quality JSON API under /api/v1/quality: metrics and drill-down, evaluations and their
override, calibration, complaint analysis and agent evaluations."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from kefu.core.errors import NotFound
from kefu.core.http import CurrentUser, DbSession, Id
from kefu.quality import service as quality
from kefu.quality.schemas import CalibrationIn, EvaluationOut, OverrideIn, RatingsIn

router = APIRouter(prefix="/api/v1/quality", tags=["quality"])

Group = Literal["period", "agent", "category", "channel", "product", "problem"]
Period = Literal["day", "week", "month"]


def filters(
    start: date | None = Query(None, description="first local day (YYYY-MM-DD)"),
    end: date | None = Query(None, description="last local day, included"),
    agent: int | None = Query(None, ge=1, le=2**31 - 1),
    category: str | None = Query(None, max_length=16),
    channel: Literal["chat", "web", "phone", "email"] | None = Query(None),
    product: str | None = Query(None, max_length=8),
    problem: str | None = Query(None, max_length=8),
    complaints: bool = Query(False),
) -> quality.Filters:
    return quality.Filters(start, end, agent, category, channel, product, problem, complaints)


FiltersDep = Depends(filters)


@router.get("/metrics")
def metrics(
    user: CurrentUser,
    db: DbSession,
    f: quality.Filters = FiltersDep,
    group: Group = "period",
    period: Period = "week",
) -> dict[str, Any]:
    """Every service metric per group, with the totals (definitions: docs/metrics.md)."""
    return {
        "group": group,
        "period": period,
        "rows": quality.breakdown(db, viewer=user, group=group, period=period, filters=f),
        "totals": quality.totals(db, viewer=user, filters=f),
    }


@router.get("/drill")
def drill(
    user: CurrentUser,
    db: DbSession,
    key: str = Query(max_length=32),
    f: quality.Filters = FiltersDep,
    group: Group = "period",
    period: Period = "week",
) -> list[dict[str, Any]]:
    """The cases behind one point of a chart."""
    rows = quality.drill(db, viewer=user, group=group, key=key, period=period, filters=f)
    return [r | {"finished_at": r["finished_at"].isoformat()} for r in rows]


@router.get("/cases/{case_id}/evaluation", response_model=EvaluationOut)
def case_evaluation(case_id: Id, user: CurrentUser, db: DbSession) -> EvaluationOut:
    row = quality.current_evaluation(db, viewer=user, case_id=case_id)
    if row is None:
        raise NotFound(key="quality.errors.no_evaluation", params={"case": case_id})
    return EvaluationOut.of(row)


@router.post("/evaluations/{evaluation_id}/override", response_model=EvaluationOut)
def override(
    evaluation_id: Id, body: OverrideIn, user: CurrentUser, db: DbSession
) -> EvaluationOut:
    row = quality.override_evaluation(
        db,
        actor=user,
        evaluation_id=evaluation_id,
        score=body.score,
        passed=body.passed,
        reason=body.reason,
    )
    return EvaluationOut.of(row)


@router.post("/calibrations", status_code=201)
def start_calibration(body: CalibrationIn, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    row = quality.start_calibration(db, actor=user, case_id=body.case_id, note=body.note)
    return {"id": row.id, "case_id": row.case_id, "evaluation_id": row.evaluation_id}


@router.get("/calibrations/{calibration_id}")
def calibration(calibration_id: Id, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    return quality.calibration_view(db, viewer=user, calibration_id=calibration_id)


@router.post("/calibrations/{calibration_id}/ratings")
def rate(calibration_id: Id, body: RatingsIn, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    quality.rate(
        db, actor=user, calibration_id=calibration_id, ratings=dict(body.ratings), note=body.note
    )
    return quality.calibration_view(db, viewer=user, calibration_id=calibration_id)


@router.get("/complaints")
def complaints(
    user: CurrentUser, db: DbSession, f: quality.Filters = FiltersDep, period: Period = "week"
) -> dict[str, Any]:
    return quality.complaint_analysis(db, viewer=user, filters=f, period=period)


@router.get("/agents/{user_id}/report")
def agent_report(
    user_id: Id,
    user: CurrentUser,
    db: DbSession,
    period: Literal["week", "month"] = "week",
    on: date | None = None,
) -> dict[str, Any]:
    return quality.agent_report(
        db, viewer=user, agent_id=user_id, period=period, on=on or date.today()
    )
