"""The transaction-monitoring engine: seven AML rules over Polars lazy frames (pure).

Plain data in, plain data out: the caller hands over two frames and a :class:`Policy` (parsed
from ``content/policies/aml.yaml`` by :mod:`kefu.aml.content`); the engine returns the alerts.
No loop runs over transactions in Python: every rule is a Polars query, and the seven queries
run as one plan so Polars shares the common work and runs the branches in parallel.

Amounts are exact: inside the engine an amount is an integer number of **ten-thousandths of a
yuan** (``Int64``, the scale of the database's ``NUMERIC(20, 4)``), so sums and threshold
comparisons never round; :func:`to_units` and :func:`from_units` convert at the edges, and the
alerts carry :class:`~decimal.Decimal` amounts.

Input frames (:data:`CUSTOMER_SCHEMA`, :data:`TXN_SCHEMA`):

- customers: ``customer_id``, ``name``, ``type`` (``individual`` | ``entity``) and optionally
  ``alt_name`` (a second name on file, e.g. the English one; either name counts as the holder's);
- transactions: ``txn_id``, ``customer_id``, ``ts`` (UTC), ``kind`` (``deposit`` |
  ``withdrawal`` | ``buy`` | ``sell``), ``amount`` (units), ``method`` (``cash`` |
  ``bank_transfer`` | ``card``; trades may leave it null), ``counterparty_name`` (nullable).

This module is the engine's public face (``__all__``) and turns the alert rows into
:class:`Alert` values with their explanations; the policy and units are in ``policy.py``, the
seven rules and the one plan that runs them (:func:`alert_frame`) in ``rules.py``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

from kefu.aml.policy import (
    CUSTOMER_SCHEMA,
    FUND_KINDS,
    KINDS,
    METHODS,
    PARTY_TYPES,
    RULES,
    TRADE_KINDS,
    TXN_SCHEMA,
    UNIT,
    Policy,
    PolicyError,
    _ceil,
    from_units,
    parse_duration,
    to_units,
)
from kefu.aml.rules import alert_frame, normalise_name

__all__ = [
    "CUSTOMER_SCHEMA",
    "FUND_KINDS",
    "KINDS",
    "METHODS",
    "PARTY_TYPES",
    "RULES",
    "TRADE_KINDS",
    "TXN_SCHEMA",
    "UNIT",
    "Alert",
    "Policy",
    "PolicyError",
    "alert_frame",
    "alerts",
    "from_units",
    "normalise_name",
    "parse_duration",
    "to_units",
]


# --- alerts as plain data --------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """One alert: the customer, the rule, the transactions that make it and why (zh and en)."""

    customer_id: str
    rule: str
    key: str  # stable identity: a later scan that finds the same pattern finds the same key
    txn_ids: tuple[str, ...]
    amount: Decimal
    window_start: datetime
    window_end: datetime
    direction: str | None
    count: int
    explanation: Mapping[str, str]

    def as_json(self, lang: str = "zh", tz: str = "Asia/Shanghai") -> dict[str, Any]:
        """The contract of ``kefu aml scan --json`` (times in ``tz`` with their offset)."""
        zone = ZoneInfo(tz)
        return {
            "customer_id": self.customer_id,
            "rule": self.rule,
            "txn_ids": list(self.txn_ids),
            "amount": str(self.amount),
            "window_start": self.window_start.astimezone(zone).isoformat(),
            "window_end": self.window_end.astimezone(zone).isoformat(),
            "explanation": self.explanation["en" if lang.startswith("en") else "zh"],
        }


def _money(units: int | None) -> str:
    if units is None:
        return ""
    d = from_units(units)
    whole = d.to_integral_value()
    return f"{whole:,}" if whole == d else f"{d:,}"


def _percent(f: Fraction) -> str:
    return f"{Decimal(f.numerator) / Decimal(f.denominator) * 100:.0f}%"


def _explain(row: Mapping[str, Any], p: Policy) -> dict[str, str]:
    rule = row["rule"]
    tz = ZoneInfo(p.timezone)
    out: dict[str, str] = {}
    for lang in ("zh", "en"):

        def word(key: str | None, lang: str = lang) -> str:
            if key is None:
                return ""
            return p.words.get(key, {}).get(lang, key)

        start: datetime = row["window_start"]
        end: datetime = row["window_end"]
        low, high = p.structuring_band
        values = {
            "direction": word(row["direction"]),
            "day": start.astimezone(tz).date().isoformat(),
            "amount": _money(row["amount"]),
            "count": row["count"],
            "threshold": _money(row["detail"]),
            "party": word("entity" if row["detail2"] else "individual"),
            "low": _money(low),
            "high": _money(high),
            "window_days": int(p.structuring_window.total_seconds() // 86400),
            "out_amount": _money(row["detail"]),
            "out_ratio": _percent(p.rapid_out_ratio),
            "turnover": _money(row["detail2"]),
            "turnover_ratio": _percent(p.rapid_turnover_ratio),
            "hours": int(p.rapid_window.total_seconds() // 3600),
            "gap_days": row["detail"],
            "min_gap_days": p.dormant_gap.days,
            "min_count": p.frequent_min_count,
        }
        if rule == "dormant_reactivation":
            values["threshold"] = _money(p.dormant_threshold)
        if rule == "rapid_in_out":
            values["hours"] = max(1, _ceil(Fraction(int((end - start).total_seconds()), 3600)))
        template = p.explanations.get(rule, {}).get(lang) or rule
        out[lang] = template.format(**values)
    return out


def alerts(
    customers: pl.LazyFrame | pl.DataFrame,
    txns: pl.LazyFrame | pl.DataFrame,
    policy: Policy,
    rules: tuple[str, ...] = RULES,
) -> list[Alert]:
    """The alerts as plain values with Decimal amounts and their explanations (the alerts are
    few; building them is the only Python-level iteration, never over transactions)."""
    df = alert_frame(customers, txns, policy, rules)
    return [
        Alert(
            customer_id=row["customer_id"],
            rule=row["rule"],
            key=row["key"],
            txn_ids=tuple(row["txn_ids"]),
            amount=from_units(row["amount"]),
            window_start=row["window_start"],
            window_end=row["window_end"],
            direction=row["direction"],
            count=int(row["count"]),
            explanation=_explain(row, policy),
        )
        for row in df.iter_rows(named=True)
    ]


def local_day(ts: datetime, tz: str = "Asia/Shanghai") -> date:
    return ts.astimezone(ZoneInfo(tz)).date()


def utc(ts: datetime) -> datetime:
    if ts.tzinfo is None:
        raise ValueError("naive datetime")
    return ts.astimezone(UTC)


def add_working_days(
    day: date,
    n: int,
    holidays: frozenset[date] = frozenset(),
    workdays: frozenset[date] = frozenset(),
) -> date:
    """The ``n``-th working day after ``day`` (Monday–Friday except ``holidays``, plus the
    make-up ``workdays``): the due date of a report "within n working days"."""
    d, left = day, n
    while left > 0:
        d += timedelta(days=1)
        if d in workdays or (d.weekday() < 5 and d not in holidays):
            left -= 1
    return d
