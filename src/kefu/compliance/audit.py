"""The compliance guard's audit action names: every decision on a message is on record."""

from __future__ import annotations

from enum import StrEnum


class GuardAudit(StrEnum):
    block = "guard.block"
    warn = "guard.warn"
    override = "guard.override"
    report = "guard.report"
    error = "guard.error"
    #: a compliance officer's verdict on one of the above (confirmed / false positive)
    verdict = "guard.verdict"
