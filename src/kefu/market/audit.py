"""The market context's audit action names."""

from __future__ import annotations

from enum import StrEnum


class MarketAudit(StrEnum):
    instrument_add = "market.instrument_add"
    bars_import = "market.bars_import"
    ticks_import = "market.ticks_import"
    dispute_open = "market.dispute_open"
    correction_request = "market.correction_request"
    correction_decide = "market.correction_decide"
