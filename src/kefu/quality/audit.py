"""The quality context's audit action names (stored as their values)."""

from __future__ import annotations

from enum import StrEnum


class QualityAudit(StrEnum):
    evaluation_scored = "quality.evaluation_scored"
    evaluation_override = "quality.evaluation_override"
    calibration_create = "quality.calibration_create"
    calibration_rate = "quality.calibration_rate"
