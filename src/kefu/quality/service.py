"""The quality context's public face: automatic evaluations of finished cases (importing this
module hooks the scorer into the desk's lifecycle), supervisor overrides, calibration, service
metrics, complaint analysis and agent evaluations."""

from __future__ import annotations

from kefu.quality.calibration import calibration_view, calibrations, rate, start_calibration
from kefu.quality.evaluations import (
    backfill,
    case_view,
    conversation_of,
    current_evaluation,
    evaluation,
    history,
    install,
    override_evaluation,
    score_case,
    unscored_cases,
)
from kefu.quality.metrics import Filters, breakdown, drill, totals
from kefu.quality.reports import agent_report, complaint_analysis, period_bounds

__all__ = [
    "Filters",
    "agent_report",
    "backfill",
    "breakdown",
    "calibration_view",
    "calibrations",
    "case_view",
    "complaint_analysis",
    "conversation_of",
    "current_evaluation",
    "drill",
    "evaluation",
    "history",
    "install",
    "override_evaluation",
    "period_bounds",
    "rate",
    "score_case",
    "start_calibration",
    "totals",
    "unscored_cases",
]
