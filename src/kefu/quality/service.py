"""The quality context's public face: automatic evaluations of finished cases (importing this
module hooks the scorer into the desk's lifecycle), supervisor overrides, calibration, service
metrics, complaint analysis and agent evaluations."""

from __future__ import annotations

from kefu.quality.calibration import calibration_view, calibrations, rate, start_calibration
from kefu.quality.evaluations import (
    backfill,
    conversation_of,
    current_evaluation,
    evaluation,
    history,
    install,
    override_evaluation,
    score_case,
    unscored_cases,
)

__all__ = [
    "backfill",
    "calibration_view",
    "calibrations",
    "conversation_of",
    "current_evaluation",
    "evaluation",
    "history",
    "install",
    "override_evaluation",
    "rate",
    "score_case",
    "start_calibration",
    "unscored_cases",
]
