"""The two CSV files of ``kefu aml scan``, read and checked with Polars (no loop over rows):
valid rows become the engine's frames, malformed rows are reported with file, line and reason.

customers.csv: customer_id,name,type(individual|entity),opened_at,risk_level
transactions.csv: txn_id,customer_id,ts(ISO 8601 with offset),kind(deposit|withdrawal|buy|sell),
amount,currency,method(cash|bank_transfer|card),counterparty_name
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import polars as pl

from kefu.aml.monitor import CUSTOMER_SCHEMA, KINDS, METHODS, PARTY_TYPES, TXN_SCHEMA, UNIT

__all__ = [
    "CUSTOMER_COLUMNS",
    "TXN_COLUMNS",
    "InputError",
    "Rejected",
    "read_customers",
    "read_transactions",
]

CUSTOMER_COLUMNS = ("customer_id", "name", "type", "opened_at", "risk_level")
TXN_COLUMNS = (
    "txn_id",
    "customer_id",
    "ts",
    "kind",
    "amount",
    "currency",
    "method",
    "counterparty_name",
)
RISK_LEVELS = ("C1", "C2", "C3", "C4", "C5")
_AMOUNT = r"^[0-9]{1,14}(\.[0-9]{1,4})?$"
_TS_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f%#z", "%Y-%m-%d %H:%M:%S%.f%#z")
_NAIVE_FORMATS = ("%Y-%m-%dT%H:%M:%S%.f", "%Y-%m-%d %H:%M:%S%.f", "%Y-%m-%d")


class InputError(ValueError):
    """A file that cannot be scanned at all (unreadable, not CSV, required columns missing)."""


@dataclass(frozen=True)
class Rejected:
    file: str
    line: int
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.reason}"


def _read(path: Path, columns: tuple[str, ...]) -> pl.DataFrame:
    try:
        df = pl.read_csv(
            path,
            infer_schema=False,
            truncate_ragged_lines=True,
            encoding="utf8",
        )
    except FileNotFoundError:
        raise InputError(f"{path}: no such file") from None
    except (pl.exceptions.ComputeError, pl.exceptions.NoDataError, OSError) as exc:
        raise InputError(f"{path}: cannot be read as UTF-8 CSV ({exc})") from None
    df = df.rename({c: c.strip().lstrip("\ufeff") for c in df.columns})
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise InputError(f"{path.name}: line 1: missing column(s) {', '.join(missing)}")
    # header is line 1; a row's line is its index + 2 (a quoted field may hold no newline)
    return df.select(columns).with_row_index("line", offset=2)


def _blank(c: str) -> pl.Expr:
    return pl.col(c).is_null() | (pl.col(c).str.strip_chars() == "")


def _first_reason(checks: list[tuple[pl.Expr, pl.Expr | str]]) -> pl.Expr:
    """The first failing check's message, null when the row is valid."""
    expr: pl.Expr = pl.lit(None, pl.String)
    for cond, msg in reversed(checks):
        m = msg if isinstance(msg, pl.Expr) else pl.lit(msg)
        expr = pl.when(cond).then(m).otherwise(expr)
    return expr


def _parse_ts(c: str, formats: tuple[str, ...], tz: str | None) -> pl.Expr:
    return pl.coalesce(
        [
            pl.col(c).str.strip_chars().str.to_datetime(f, time_zone=tz, strict=False)
            for f in formats
        ]
    )


def _split(df: pl.DataFrame, name: str) -> tuple[pl.DataFrame, list[Rejected]]:
    bad = df.filter(pl.col("reason").is_not_null()).select("line", "reason")
    rejected = [Rejected(name, line, reason) for line, reason in bad.iter_rows()]
    return df.filter(pl.col("reason").is_null()), rejected


def read_customers(path: Path) -> tuple[pl.DataFrame, list[Rejected]]:
    df = _read(path, CUSTOMER_COLUMNS)
    first_line = pl.col("line").min().over("customer_id")
    opened = pl.coalesce(
        _parse_ts("opened_at", _TS_FORMATS, "UTC"),
        _parse_ts("opened_at", _NAIVE_FORMATS, None).dt.replace_time_zone("UTC"),
    )
    checks: list[tuple[pl.Expr, pl.Expr | str]] = [
        (_blank("customer_id"), "missing customer_id"),
        (_blank("name"), "missing name"),
        (_blank("type"), "missing type"),
        (
            ~pl.col("type").str.strip_chars().is_in(PARTY_TYPES),
            pl.format("unknown type '{}' (individual or entity)", pl.col("type")),
        ),
        (
            ~_blank("opened_at") & opened.is_null(),
            pl.format("bad opened_at '{}' (a date or ISO 8601 time)", pl.col("opened_at")),
        ),
        (
            ~_blank("risk_level") & ~pl.col("risk_level").str.strip_chars().is_in(RISK_LEVELS),
            pl.format("unknown risk_level '{}' (C1–C5)", pl.col("risk_level")),
        ),
        (
            pl.col("line") != first_line,
            pl.format("duplicate customer_id '{}' (first on line {})", "customer_id", first_line),
        ),
    ]
    df = df.with_columns(reason=_first_reason(checks))
    good, rejected = _split(df, path.name)
    frame = good.select(
        pl.col("customer_id").str.strip_chars(),
        pl.col("name"),
        pl.col("type").str.strip_chars(),
    ).cast(pl.Schema(CUSTOMER_SCHEMA))
    return frame, rejected


def read_transactions(
    path: Path, known_customers: pl.Series
) -> tuple[pl.DataFrame, list[Rejected]]:
    df = _read(path, TXN_COLUMNS)
    ts = _parse_ts("ts", _TS_FORMATS, "UTC")
    naive = _parse_ts("ts", _NAIVE_FORMATS, None)
    amount = pl.col("amount").str.strip_chars()
    kind = pl.col("kind").str.strip_chars()
    method = pl.col("method").str.strip_chars()
    is_fund = kind.is_in(("deposit", "withdrawal"))
    first_line = pl.col("line").min().over("txn_id")
    checks: list[tuple[pl.Expr, pl.Expr | str]] = [
        *[(_blank(c), f"missing {c}") for c in ("txn_id", "customer_id", "ts", "kind", "amount")],
        (
            ~kind.is_in(KINDS),
            pl.format("unknown kind '{}' (deposit, withdrawal, buy, sell)", pl.col("kind")),
        ),
        (
            ts.is_null() & naive.is_not_null(),
            pl.format("timestamp '{}' has no UTC offset", pl.col("ts")),
        ),
        (ts.is_null(), pl.format("bad timestamp '{}' (ISO 8601 with offset)", pl.col("ts"))),
        (amount.str.starts_with("-"), pl.format("negative amount {}", pl.col("amount"))),
        (
            ~amount.str.contains(_AMOUNT),
            pl.format("amount '{}' is not a number with at most 4 decimals", pl.col("amount")),
        ),
        (amount.str.contains(r"^[0.]+$"), "amount must be greater than 0"),
        (
            ~_blank("currency")
            & (pl.col("currency").str.strip_chars().str.to_uppercase() != "CNY"),
            pl.format("currency '{}' not supported: the thresholds are in CNY", pl.col("currency")),
        ),
        (is_fund & _blank("method"), "missing method (cash, bank_transfer, card)"),
        (
            ~_blank("method") & ~method.is_in(METHODS),
            pl.format("unknown method '{}' (cash, bank_transfer, card)", pl.col("method")),
        ),
        (
            ~pl.col("customer_id").str.strip_chars().is_in(known_customers.implode()),
            pl.format("unknown customer_id '{}'", pl.col("customer_id")),
        ),
        (
            pl.col("line") != first_line,
            pl.format("duplicate txn_id '{}' (first on line {})", "txn_id", first_line),
        ),
    ]
    df = df.with_columns(reason=_first_reason(checks))
    good, rejected = _split(df, path.name)
    units = amount.str.extract(r"^([0-9]+)", 1).cast(pl.Int64) * UNIT + amount.str.extract(
        r"\.([0-9]{1,4})$", 1
    ).str.pad_end(4, "0").cast(pl.Int64).fill_null(0)
    frame = good.select(
        pl.col("txn_id").str.strip_chars(),
        pl.col("customer_id").str.strip_chars(),
        ts.alias("ts"),
        kind.alias("kind"),
        units.alias("amount"),
        pl.when(_blank("method")).then(None).otherwise(method).alias("method"),
        pl.col("counterparty_name"),
    ).cast(pl.Schema(TXN_SCHEMA))
    return frame, rejected
