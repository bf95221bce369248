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
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from fractions import Fraction
from typing import Any
from zoneinfo import ZoneInfo

import polars as pl

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
    if len(t) < 2 or t[-1] not in units or not t[:-1].isdigit():
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


def _at_least(amount: pl.Expr, base: pl.Expr, ratio: Fraction) -> pl.Expr:
    """``amount ≥ base × ratio`` in exact integer arithmetic."""
    return amount * ratio.denominator >= base * ratio.numerator


def _below(amount: pl.Expr, base: pl.Expr, ratio: Fraction) -> pl.Expr:
    """``amount < base × ratio`` in exact integer arithmetic."""
    return amount * ratio.denominator < base * ratio.numerator


# --- names -----------------------------------------------------------------------------------


def normalise_name(expr: pl.Expr) -> pl.Expr:
    """Trims, folds full-width to half-width (NFKC), lower-cases and collapses inner spaces."""
    return (
        expr.str.normalize("NFKC").str.to_lowercase().str.replace_all(r"\s+", " ").str.strip_chars()
    )


# --- the rules -------------------------------------------------------------------------------

#: every rule's output, before the explanation is written
ALERT_SCHEMA: dict[str, Any] = {
    "customer_id": pl.String,
    "rule": pl.String,
    "key": pl.String,
    "direction": pl.String,
    "txn_ids": pl.List(pl.String),
    "amount": pl.Int64,
    "window_start": pl.Datetime("us", "UTC"),
    "window_end": pl.Datetime("us", "UTC"),
    "count": pl.Int64,
    "detail": pl.Int64,  # a rule's second figure: out amount, gap days, threshold
    "detail2": pl.Int64,  # a third: turnover
}


def _shape(lf: pl.LazyFrame, missing: tuple[str, ...] = ()) -> pl.LazyFrame:
    """A rule's alerts in :data:`ALERT_SCHEMA` (``missing``: the columns the rule leaves empty;
    naming them saves resolving the plan's schema on every scan)."""
    cols = [
        (pl.lit(None) if c in missing else pl.col(c)).cast(t).alias(c)
        for c, t in ALERT_SCHEMA.items()
    ]
    return lf.select(cols)


#: from here on a zone whose offset no longer changes (Asia/Shanghai: +08:00 since 1991) gives
#: local dates by a fixed offset, which is ~50× cheaper than a zone conversion per row
_STEADY_FROM = datetime(1992, 1, 1, tzinfo=UTC)
_STEADY_TO = datetime(2038, 1, 1, tzinfo=UTC)


def _steady_offset(tz: str) -> timedelta | None:
    """The zone's UTC offset if it is the same on every day of 1992–2037, else None."""
    zone = ZoneInfo(tz)
    first = _STEADY_FROM.astimezone(zone).utcoffset()
    day = _STEADY_FROM
    while day < _STEADY_TO:
        if day.astimezone(zone).utcoffset() != first:
            return None
        day += timedelta(days=61)
    return first


def _local_day(tz: str, earliest: datetime | None) -> pl.Expr:
    """The local calendar date of ``ts`` in ``tz``: by the zone's steady offset when every time
    is from 1992 on (exact there, and ~50× cheaper per row), else by the zone's own rules."""
    offset = _steady_offset(tz)
    if offset is None or earliest is None or earliest < _STEADY_FROM:
        return pl.col("ts").dt.convert_time_zone(tz).dt.date()
    return (pl.col("ts").dt.replace_time_zone(None) + offset).dt.date()


def _day_bounds(day: pl.Expr, tz: str) -> tuple[pl.Expr, pl.Expr]:
    start = day.cast(pl.Datetime("us")).dt.replace_time_zone(tz, ambiguous="earliest")
    end = (
        day.dt.offset_by("1d")
        .cast(pl.Datetime("us"))
        .dt.replace_time_zone(tz, ambiguous="earliest")
    )
    return start.dt.convert_time_zone("UTC"), end.dt.convert_time_zone("UTC")


def _key(*parts: pl.Expr | str) -> pl.Expr:
    return pl.concat_str([p if isinstance(p, pl.Expr) else pl.lit(p) for p in parts], separator=":")


_DAY = pl.col("day").cast(pl.String)


def _daily_sum(funds: pl.LazyFrame, tz: str) -> pl.LazyFrame:
    """Sums per customer, direction and local day (the ids are attached to the few hits)."""
    g = funds.group_by("ck", "kind", "day").agg(
        customer_id=pl.col("customer_id").first(), amount=pl.col("amount").sum(), count=pl.len()
    )
    start, end = _day_bounds(pl.col("day"), tz)
    return g.with_columns(window_start=start, window_end=end, direction=pl.col("kind"))


def _with_ids(hits: pl.LazyFrame, rows: pl.LazyFrame, keys: list[str]) -> pl.LazyFrame:
    """The transaction ids (in time order: the rows are) of each hit's group."""
    ids = (
        rows.join(hits.select(keys), on=keys, how="semi")
        .group_by(keys)
        .agg(txn_ids=pl.col("txn_id"))
    )
    return hits.join(ids, on=keys)


def _large_cash(funds: pl.LazyFrame, p: Policy) -> pl.LazyFrame:
    cash = funds.filter(pl.col("method") == "cash")
    g = _daily_sum(cash, p.timezone).filter(pl.col("amount") >= p.cash_threshold)
    g = _with_ids(g, cash, ["ck", "kind", "day"])
    return _shape(
        g.with_columns(
            rule=pl.lit("large_cash"),
            key=_key(
                "large_cash", pl.col("customer_id"), pl.col("kind"), pl.col("day").cast(pl.String)
            ),
            detail=pl.lit(p.cash_threshold),
        ),
        ("detail2",),
    )


def _large_transfer(funds: pl.LazyFrame, customers: pl.LazyFrame, p: Policy) -> pl.LazyFrame:
    moved = funds.filter(pl.col("method") != "cash")
    g = _daily_sum(moved, p.timezone).join(
        customers.select("customer_id", "type"), on="customer_id", how="left"
    )
    threshold = (
        pl.when(pl.col("type") == "entity")
        .then(pl.lit(p.transfer_threshold_entity))
        .otherwise(pl.lit(p.transfer_threshold_individual))
    )
    g = g.with_columns(detail=threshold).filter(pl.col("amount") >= pl.col("detail"))
    g = _with_ids(g, moved, ["ck", "kind", "day"])
    return _shape(
        g.with_columns(
            rule=pl.lit("large_transfer"),
            key=_key(
                "large_transfer",
                pl.col("customer_id"),
                pl.col("kind"),
                pl.col("day").cast(pl.String),
            ),
            detail2=(pl.col("type") == "entity").cast(pl.Int64),
        )
    )


def _structuring(funds: pl.LazyFrame, p: Policy) -> pl.LazyFrame:
    low, high = p.structuring_band
    band = (
        funds.filter(
            (pl.col("method") == "cash") & (pl.col("amount") >= low) & (pl.col("amount") < high)
        )
        .select("customer_id", "kind", "ts", "txn_id", "amount")
        .sort("customer_id", "kind", "ts")
    )
    period = f"{int(p.structuring_window.total_seconds())}s"
    windows = (
        band.rolling(index_column="ts", period=period, group_by=["customer_id", "kind"])
        .agg(
            n=pl.len(),
            first=pl.col("ts").min(),
            ids=pl.col("txn_id"),
            amounts=pl.col("amount"),
        )
        .filter(pl.col("n") >= p.structuring_min_count)
        .sort("customer_id", "kind", "first", "ts")
    )
    # overlapping qualifying windows of one customer and direction make one episode
    grp = ["customer_id", "kind"]
    windows = windows.with_columns(
        new=(pl.col("first") > pl.col("ts").cum_max().shift(1).over(grp)).fill_null(True)
    ).with_columns(episode=pl.col("new").cast(pl.Int64).cum_sum().over(grp))
    members = (
        windows.select(*grp, "episode", "ids", "amounts")
        .explode("ids", "amounts")
        .unique(subset=[*grp, "episode", "ids"], maintain_order=True)
    )
    epi = members.group_by(*grp, "episode").agg(
        txn_ids=pl.col("ids"), amount=pl.col("amounts").sum(), count=pl.len()
    )
    bounds = windows.group_by(*grp, "episode").agg(
        window_start=pl.col("first").min(), window_end=pl.col("ts").max()
    )
    out = epi.join(bounds, on=[*grp, "episode"])
    return _shape(
        out.with_columns(
            rule=pl.lit("structuring"),
            direction=pl.col("kind"),
            key=_key(
                "structuring", pl.col("customer_id"), pl.col("kind"), pl.col("txn_ids").list.first()
            ),
        ),
        ("detail", "detail2"),
    )


def _timeline(txns: pl.LazyFrame) -> pl.LazyFrame:
    """Running totals per customer over the time-ordered rows (a window function keeps the
    rows' order within each customer): withdrawals, trade turnover, the number of withdrawals
    so far (inclusive) and the previous transaction's time."""
    is_w = pl.col("kind") == "withdrawal"
    is_t = pl.col("kind").is_in(TRADE_KINDS)
    return txns.with_columns(
        w=pl.when(is_w).then(pl.col("amount")).otherwise(0),
        tr=pl.when(is_t).then(pl.col("amount")).otherwise(0),
        wn=is_w.cast(pl.Int64),
    ).with_columns(
        cw=pl.col("w").cum_sum().over("customer_id"),
        ct=pl.col("tr").cum_sum().over("customer_id"),
        wseq=pl.col("wn").cum_sum().over("customer_id"),
        prev_ts=pl.col("ts").shift(1).over("customer_id"),
    )


def _rapid_in_out(tl: pl.LazyFrame, p: Policy) -> pl.LazyFrame:
    r = p.rapid_out_ratio
    deposits = tl.filter(pl.col("kind") == "deposit").select(
        "ck",
        "customer_id",
        "txn_id",
        "ts",
        "amount",
        "cw",
        "ct",
        "wseq",
        # the running withdrawal total that reaches the ratio of this deposit
        target=pl.col("cw") + (pl.col("amount") * r.numerator + r.denominator - 1) // r.denominator,
    )
    outs = tl.filter(pl.col("kind") == "withdrawal").select(
        "ck",
        out_ts=pl.col("ts"),
        out_cw=pl.col("cw"),
        out_ct=pl.col("ct"),
        out_seq=pl.col("wseq"),
    )
    # the first withdrawal whose running total reaches the target (running totals only grow)
    hit = (
        deposits.sort("target")
        .join_asof(
            outs.sort("out_cw"),
            left_on="target",
            right_on="out_cw",
            by="ck",
            strategy="forward",
            check_sortedness=False,
        )
        .filter(
            pl.col("out_ts").is_not_null()
            & (pl.col("out_ts") - pl.col("ts") <= p.rapid_window)
            & _below(pl.col("out_ct") - pl.col("ct"), pl.col("amount"), p.rapid_turnover_ratio)
        )
    )
    ids = (
        hit.select("ck", "txn_id", "wseq", "out_seq")
        .join(
            tl.filter(pl.col("kind") == "withdrawal").select(
                "ck", w_id=pl.col("txn_id"), w_seq=pl.col("wseq")
            ),
            on="ck",
        )
        .filter((pl.col("w_seq") > pl.col("wseq")) & (pl.col("w_seq") <= pl.col("out_seq")))
        .group_by("ck", "txn_id")
        .agg(outs=pl.col("w_id").sort_by("w_seq"))
    )
    out = hit.join(ids, on=["ck", "txn_id"]).with_columns(
        txn_ids=pl.concat_list(pl.col("txn_id"), pl.col("outs")),
        window_start=pl.col("ts"),
        window_end=pl.col("out_ts"),
        detail=pl.col("out_cw") - pl.col("cw"),
        detail2=pl.col("out_ct") - pl.col("ct"),
        count=pl.col("outs").list.len() + 1,
        rule=pl.lit("rapid_in_out"),
        direction=pl.lit("deposit"),
        key=_key("rapid_in_out", pl.col("customer_id"), pl.col("txn_id")),
    )
    return _shape(out)


def _third_party(funds: pl.LazyFrame, customers: pl.LazyFrame) -> pl.LazyFrame:
    names = customers.select(
        "customer_id",
        holder=normalise_name(pl.col("name")),
        alt=normalise_name(pl.col("alt_name")),
    )
    cp = normalise_name(pl.col("counterparty_name"))
    f = (
        funds.filter(pl.col("counterparty_name").is_not_null())
        .with_columns(cp=cp)
        .filter(pl.col("cp") != "")
        .join(names, on="customer_id", how="left")
        .filter(
            (pl.col("cp") != pl.col("holder")) & (pl.col("cp") != pl.col("alt")).fill_null(True)
        )
    )
    return _shape(
        f.with_columns(
            rule=pl.lit("third_party_funding"),
            direction=pl.col("kind"),
            txn_ids=pl.concat_list(pl.col("txn_id")),
            window_start=pl.col("ts"),
            window_end=pl.col("ts"),
            count=pl.lit(1),
            key=_key("third_party_funding", pl.col("customer_id"), pl.col("txn_id")),
        ),
        ("detail", "detail2"),
    )


def _dormant(tl: pl.LazyFrame, p: Policy) -> pl.LazyFrame:
    f = tl.filter(
        pl.col("kind").is_in(FUND_KINDS)
        & (pl.col("amount") >= p.dormant_threshold)
        & pl.col("prev_ts").is_not_null()
        & (pl.col("ts") - pl.col("prev_ts") >= p.dormant_gap)
    )
    return _shape(
        f.with_columns(
            rule=pl.lit("dormant_reactivation"),
            direction=pl.col("kind"),
            txn_ids=pl.concat_list(pl.col("txn_id")),
            window_start=pl.col("prev_ts"),
            window_end=pl.col("ts"),
            count=pl.lit(1),
            detail=(pl.col("ts") - pl.col("prev_ts")).dt.total_days(),
            key=_key("dormant_reactivation", pl.col("customer_id"), pl.col("txn_id")),
        ),
        ("detail2",),
    )


def _frequent(trades: pl.LazyFrame, p: Policy) -> pl.LazyFrame:
    g = (
        trades.group_by("ck", "day")
        .agg(
            customer_id=pl.col("customer_id").first(), count=pl.len(), amount=pl.col("amount").sum()
        )
        .filter(pl.col("count") >= p.frequent_min_count)
    )
    g = _with_ids(g, trades, ["ck", "day"])
    start, end = _day_bounds(pl.col("day"), p.timezone)
    return _shape(
        g.with_columns(
            rule=pl.lit("frequent_trading"),
            window_start=start,
            window_end=end,
            key=_key("frequent_trading", pl.col("customer_id"), pl.col("day").cast(pl.String)),
        ),
        ("direction", "detail", "detail2"),
    )


def alert_frame(
    customers: pl.LazyFrame | pl.DataFrame,
    txns: pl.LazyFrame | pl.DataFrame,
    policy: Policy,
    rules: tuple[str, ...] = RULES,
) -> pl.DataFrame:
    """Every rule over every transaction: one row per alert (:data:`ALERT_SCHEMA`), sorted by
    customer, rule and window."""
    c = customers.lazy()
    if "alt_name" not in c.collect_schema().names():
        c = c.with_columns(alt_name=pl.lit(None, pl.String))
    if isinstance(txns, pl.DataFrame) and txns["ts"].is_sorted():
        ordered = txns.lazy().with_row_index("seq").with_columns(pl.col("ts").set_sorted())
    else:  # one sort by time; ties keep their input order
        ordered = txns.lazy().with_row_index("seq").sort("ts", maintain_order=True)
    # an integer per customer: window functions partition on it far faster than on text
    ordered = ordered.with_columns(ck=pl.col("customer_id").cast(pl.Categorical).to_physical())
    earliest = txns.lazy().select(pl.col("ts").min()).collect().item()
    t = ordered.with_columns(day=_local_day(policy.timezone, earliest))
    funds = t.filter(pl.col("kind").is_in(FUND_KINDS))
    trades = t.filter(pl.col("kind").is_in(TRADE_KINDS))
    plans: list[pl.LazyFrame] = []
    tl = _timeline(t) if {"rapid_in_out", "dormant_reactivation"} & set(rules) else None
    for rule in rules:
        if rule == "large_cash":
            plans.append(_large_cash(funds, policy))
        elif rule == "large_transfer":
            plans.append(_large_transfer(funds, c, policy))
        elif rule == "structuring":
            plans.append(_structuring(funds, policy))
        elif rule == "rapid_in_out":
            assert tl is not None
            plans.append(_rapid_in_out(tl, policy))
        elif rule == "third_party_funding":
            plans.append(_third_party(funds, c))
        elif rule == "dormant_reactivation":
            assert tl is not None
            plans.append(_dormant(tl, policy))
        elif rule == "frequent_trading":
            plans.append(_frequent(trades, policy))
        else:
            raise PolicyError(f"unknown rule {rule!r}")
    if not plans:
        return pl.DataFrame(schema=ALERT_SCHEMA)
    return pl.concat(plans).sort("customer_id", "rule", "window_start", "key").collect()


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
