"""The monitoring engine's policy and units (pure): the seven rules' thresholds and windows
(:class:`Policy`, parsed from ``content/policies/aml.yaml`` by :mod:`kefu.aml.content`), the
input frames' schemas, and the exact amounts the engine computes with — integer
ten-thousandths of a yuan (:func:`to_units`, :func:`from_units`)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

#: amounts inside the engine: integer ten-thousandths of a yuan (NUMERIC(20, 4) in storage)
UNIT = 10_000
RULES = (
    "large_cash",
    "large_transfer",
    "structuring",
    "rapid_in_out",
    "third_party_funding",
    "dormant_reactivation",
    "frequent_trading",
)
FUND_KINDS = ("deposit", "withdrawal")
TRADE_KINDS = ("buy", "sell")
KINDS = FUND_KINDS + TRADE_KINDS
METHODS = ("cash", "bank_transfer", "card")
PARTY_TYPES = ("individual", "entity")

CUSTOMER_SCHEMA: dict[str, Any] = {"customer_id": pl.String, "name": pl.String, "type": pl.String}
TXN_SCHEMA: dict[str, Any] = {
    "txn_id": pl.String,
    "customer_id": pl.String,
    "ts": pl.Datetime("us", "UTC"),
    "kind": pl.String,
    "amount": pl.Int64,
    "method": pl.String,
    "counterparty_name": pl.String,
}


class PolicyError(ValueError):
    """The policy is incomplete or malformed (names the rule and the field)."""


# --- money and durations -------------------------------------------------------------------


def to_units(amount: Decimal) -> int:
    """A Decimal amount as integer ten-thousandths; refuses finer amounts (nothing is rounded)."""
    scaled = amount * UNIT
    if scaled != scaled.to_integral_value():
        raise ValueError(f"{amount} has more than 4 decimal places")
    return int(scaled)


def from_units(units: int) -> Decimal:
    """Integer ten-thousandths as a Decimal yuan amount, shown with 2 places unless finer."""
    d = Decimal(units).scaleb(-4)
    cents = d.quantize(Decimal("0.01"))
    return cents if cents == d else d.normalize()


def parse_duration(text: str, where: str = "duration") -> timedelta:
    """``"7d"``, ``"72h"``, ``"30m"``: a window length."""
    t = str(text).strip()
    units = {"d": "days", "h": "hours", "m": "minutes"}
    if len(t) < 2 or t[-1] not in units or not (t[:-1].isascii() and t[:-1].isdigit()):
        raise PolicyError(f"{where}: {text!r} is not a duration like 7d, 72h or 30m")
    return timedelta(**{units[t[-1]]: int(t[:-1])})


def _fraction(value: Any, where: str) -> Fraction:
    if isinstance(value, float) or isinstance(value, bool):
        raise PolicyError(f'{where}: write ratios as exact decimals in quotes, e.g. "0.8"')
    try:
        f = Fraction(Decimal(str(value)))
    except Exception:
        raise PolicyError(f"{where}: {value!r} is not a number") from None
    if f < 0:
        raise PolicyError(f"{where}: {value!r} is negative")
    return f


def _amount(value: Any, where: str) -> int:
    if isinstance(value, float) or isinstance(value, bool):
        raise PolicyError(f"{where}: write amounts as exact decimals, not floats")
    try:
        return to_units(Decimal(str(value)))
    except Exception:
        raise PolicyError(f"{where}: {value!r} is not an amount") from None


# --- the policy ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    """The thresholds and windows of the seven rules (amounts in units), their explanations."""

    timezone: str = "Asia/Shanghai"
    cash_threshold: int = 50_000 * UNIT
    transfer_threshold_individual: int = 500_000 * UNIT
    transfer_threshold_entity: int = 2_000_000 * UNIT
    structuring_min_count: int = 3
    structuring_low: Fraction = Fraction(4, 5)
    structuring_high: Fraction = Fraction(1)
    structuring_window: timedelta = timedelta(days=7)
    rapid_window: timedelta = timedelta(hours=72)
    rapid_out_ratio: Fraction = Fraction(4, 5)
    rapid_turnover_ratio: Fraction = Fraction(1, 10)
    dormant_threshold: int = 100_000 * UNIT
    dormant_gap: timedelta = timedelta(days=180)
    frequent_min_count: int = 50
    report_deadline_working_days: int = 5
    explanations: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    words: Mapping[str, Mapping[str, str]] = field(default_factory=dict)
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def structuring_band(self) -> tuple[int, int]:
        """[low, high) in units: the cash amounts a structuring rule counts."""
        low = _ceil(self.cash_threshold * self.structuring_low)
        high = _ceil(self.cash_threshold * self.structuring_high)
        return low, high

    @classmethod
    def from_mapping(cls, data: Mapping[str, Any], source: str = "aml.yaml") -> Policy:
        """The policy from parsed YAML whose ``{{rule:…}}`` references are already resolved."""
        if not isinstance(data, Mapping) or not isinstance(data.get("rules"), Mapping):
            raise PolicyError(f"{source}: expected a mapping with 'rules'")
        rules: Mapping[str, Any] = data["rules"]
        missing = [r for r in RULES if r not in rules]
        if missing:
            raise PolicyError(f"{source}: rules missing: {', '.join(missing)}")

        def get(rule: str, key: str) -> Any:
            spec = rules[rule]
            if not isinstance(spec, Mapping) or key not in spec:
                raise PolicyError(f"{source}: rule {rule!r}: field {key!r} is missing")
            return spec[key]

        def count(rule: str, key: str) -> int:
            v = get(rule, key)
            if isinstance(v, bool) or not isinstance(v, int) or v < 1:
                raise PolicyError(f"{source}: rule {rule!r}: {key!r} must be a whole number ≥ 1")
            return v

        explanations: dict[str, dict[str, str]] = {}
        sources: dict[str, str] = {}
        for rule in RULES:
            exp = get(rule, "explanation")
            if not isinstance(exp, Mapping) or not exp.get("zh") or not exp.get("en"):
                raise PolicyError(f"{source}: rule {rule!r}: 'explanation' needs zh and en")
            explanations[rule] = {"zh": str(exp["zh"]), "en": str(exp["en"])}
            sources[rule] = str(get(rule, "source"))
        tz = str(data.get("timezone", "Asia/Shanghai"))
        try:
            ZoneInfo(tz)
        except Exception:
            raise PolicyError(f"{source}: unknown timezone {tz!r}") from None
        deadline = data.get("report_deadline_working_days", 5)
        words = data.get("words") or {}
        w = f"{source}: rule"
        return cls(
            timezone=tz,
            cash_threshold=_amount(get("large_cash", "threshold"), f"{w} 'large_cash'"),
            transfer_threshold_individual=_amount(
                get("large_transfer", "threshold_individual"), f"{w} 'large_transfer'"
            ),
            transfer_threshold_entity=_amount(
                get("large_transfer", "threshold_entity"), f"{w} 'large_transfer'"
            ),
            structuring_min_count=count("structuring", "min_count"),
            structuring_low=_fraction(get("structuring", "band_low"), f"{w} 'structuring'"),
            structuring_high=_fraction(get("structuring", "band_high"), f"{w} 'structuring'"),
            structuring_window=parse_duration(get("structuring", "window"), f"{w} 'structuring'"),
            rapid_window=parse_duration(get("rapid_in_out", "window"), f"{w} 'rapid_in_out'"),
            rapid_out_ratio=_fraction(get("rapid_in_out", "out_ratio"), f"{w} 'rapid_in_out'"),
            rapid_turnover_ratio=_fraction(
                get("rapid_in_out", "turnover_ratio"), f"{w} 'rapid_in_out'"
            ),
            dormant_threshold=_amount(
                get("dormant_reactivation", "threshold"), f"{w} 'dormant_reactivation'"
            ),
            dormant_gap=parse_duration(
                get("dormant_reactivation", "min_gap"), f"{w} 'dormant_reactivation'"
            ),
            frequent_min_count=count("frequent_trading", "min_count"),
            report_deadline_working_days=int(deadline),
            explanations=explanations,
            words={str(k): {"zh": str(v["zh"]), "en": str(v["en"])} for k, v in words.items()},
            sources=sources,
        )


def _ceil(x: Fraction | int) -> int:
    f = Fraction(x)
    return -((-f.numerator) // f.denominator)
