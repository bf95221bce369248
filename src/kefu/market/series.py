"""Price series from CSV text: OHLCV bars and ticks, checked row by row.

Pure: text in, arrays out (the caller reads the file or stdin). Every refusal names the line
(the header is line 1) and the field, and nothing is dropped silently: a row that is out of
order, repeats a timestamp, lacks a field or holds a non-number stops the whole series.

Times are int64 microseconds since the Unix epoch, UTC. A timestamp written without an offset
(``2026-11-16 09:31`` or a bare date for daily bars) is read in ``naive_zone`` — the market's
zone the caller passes (Kefu's configured zone, Asia/Shanghai by default).
"""

from __future__ import annotations

import csv
import io
import math
from dataclasses import dataclass
from datetime import UTC, datetime, tzinfo

import numpy as np
import numpy.typing as npt

__all__ = [
    "BAR_COLUMNS",
    "TICK_COLUMNS",
    "Bars",
    "SeriesError",
    "Ticks",
    "from_us",
    "parse_bars",
    "parse_ticks",
    "parse_time",
    "to_us",
]

BAR_COLUMNS = ("ts", "open", "high", "low", "close", "volume")
TICK_COLUMNS = ("ts", "price")
_EPOCH = datetime(1970, 1, 1, tzinfo=UTC)


class SeriesError(ValueError):
    """A series that cannot be used as given; the message names the line and the field."""


@dataclass(frozen=True)
class Bars:
    """OHLCV bars in time order; ``labels`` are the timestamps as written in the input."""

    ts: npt.NDArray[np.int64]
    open: npt.NDArray[np.float64]
    high: npt.NDArray[np.float64]
    low: npt.NDArray[np.float64]
    close: npt.NDArray[np.float64]
    volume: npt.NDArray[np.float64]
    labels: tuple[str, ...]

    def columns(self) -> dict[str, npt.NDArray[np.float64]]:
        return {
            "open": self.open,
            "high": self.high,
            "low": self.low,
            "close": self.close,
            "volume": self.volume,
        }

    def __len__(self) -> int:
        return len(self.ts)


@dataclass(frozen=True)
class Ticks:
    """Ticks strictly increasing in time (build them with :meth:`of`, which checks)."""

    ts: npt.NDArray[np.int64]
    price: npt.NDArray[np.float64]

    @classmethod
    def of(cls, ts: npt.ArrayLike, price: npt.ArrayLike, *, first_line: int = 2) -> Ticks:
        """Checked ticks: same length, finite positive prices, strictly increasing times.
        ``first_line`` numbers the rows in messages (2 = the row after a CSV header)."""
        t = np.ascontiguousarray(ts, dtype=np.int64)
        p = np.ascontiguousarray(price, dtype=np.float64)
        if t.ndim != 1 or t.shape != p.shape:
            raise SeriesError("tick times and prices differ in length")
        if len(t) == 0:
            raise SeriesError("there are no ticks")
        bad = np.flatnonzero(~np.isfinite(p) | (p <= 0))
        if len(bad):
            raise SeriesError(f"line {first_line + int(bad[0])}: price must be a positive number")
        _check_order(t, first_line)
        return cls(t, p)

    def __len__(self) -> int:
        return len(self.ts)


def _check_order(t: npt.NDArray[np.int64], first_line: int) -> None:
    step = np.diff(t)
    bad = np.flatnonzero(step <= 0)
    if len(bad):
        i = int(bad[0]) + 1
        what = "repeats the timestamp of" if step[i - 1] == 0 else "is earlier than"
        raise SeriesError(
            f"line {first_line + i}: ts {from_us(int(t[i])).isoformat()} {what} line "
            f"{first_line + i - 1} (the series must be in strictly increasing time order)"
        )


def to_us(moment: datetime) -> int:
    """Microseconds since the epoch of an aware datetime."""
    delta = moment - _EPOCH
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_us(us: int) -> datetime:
    return datetime.fromtimestamp(us // 1_000_000, UTC).replace(microsecond=us % 1_000_000)


def parse_time(text: str, naive_zone: tzinfo) -> datetime:
    """An ISO 8601 date or date-time; without an offset it is read in ``naive_zone``."""
    value = datetime.fromisoformat(text.strip())
    if value.tzinfo is None:
        value = value.replace(tzinfo=naive_zone)
    return value.astimezone(UTC)


def _rows(text: str, required: tuple[str, ...]) -> tuple[list[str], csv.DictReader[str]]:
    reader = csv.DictReader(io.StringIO(text.lstrip("\ufeff")))
    header = [h.strip().lower() for h in (reader.fieldnames or [])]
    if not header:
        raise SeriesError("the input is empty (expected a header: " + ",".join(required) + ")")
    missing = [c for c in required if c not in header]
    if missing:
        raise SeriesError(
            f"line 1: missing column(s) {', '.join(missing)} (expected {','.join(required)})"
        )
    reader.fieldnames = header
    return header, reader


def _number(row: dict[str, str | None], field: str, line: int) -> float:
    raw = row.get(field)
    if raw is None or not raw.strip():
        raise SeriesError(f"line {line}: {field} is missing")
    try:
        value = float(raw)
    except ValueError:
        raise SeriesError(f"line {line}: {field} {raw.strip()!r} is not a number") from None
    if not math.isfinite(value):
        raise SeriesError(f"line {line}: {field} {raw.strip()!r} is not a finite number")
    return value


def _stamp(row: dict[str, str | None], line: int, naive_zone: tzinfo) -> int:
    raw = row.get("ts")
    if raw is None or not raw.strip():
        raise SeriesError(f"line {line}: ts is missing")
    try:
        return to_us(parse_time(raw, naive_zone))
    except ValueError:
        raise SeriesError(
            f"line {line}: ts {raw.strip()!r} is not an ISO 8601 date or time"
        ) from None


def parse_bars(text: str, naive_zone: tzinfo = UTC) -> Bars:
    """OHLCV bars from CSV text with the columns ts,open,high,low,close,volume (any order)."""
    _, reader = _rows(text, BAR_COLUMNS)
    ts: list[int] = []
    cols: dict[str, list[float]] = {c: [] for c in BAR_COLUMNS[1:]}
    labels: list[str] = []
    for i, row in enumerate(reader):
        line = i + 2
        if None in row:
            raise SeriesError(f"line {line}: more fields than the header has")
        ts.append(_stamp(row, line, naive_zone))
        labels.append((row["ts"] or "").strip())
        values = {c: _number(row, c, line) for c in BAR_COLUMNS[1:]}
        if min(values["open"], values["high"], values["low"], values["close"]) <= 0:
            raise SeriesError(f"line {line}: prices must be positive")
        if values["volume"] < 0:
            raise SeriesError(f"line {line}: volume must not be negative")
        if values["high"] < max(values["open"], values["close"], values["low"]):
            raise SeriesError(f"line {line}: high is below the open, close or low")
        if values["low"] > min(values["open"], values["close"]):
            raise SeriesError(f"line {line}: low is above the open or close")
        for c, v in values.items():
            cols[c].append(v)
    if not ts:
        raise SeriesError("there are no bars after the header")
    t = np.array(ts, dtype=np.int64)
    _check_order(t, 2)
    arr = {c: np.array(v, dtype=np.float64) for c, v in cols.items()}
    return Bars(t, arr["open"], arr["high"], arr["low"], arr["close"], arr["volume"], tuple(labels))


def parse_ticks(text: str, naive_zone: tzinfo = UTC) -> Ticks:
    """Ticks from CSV text with the columns ts,price."""
    _, reader = _rows(text, TICK_COLUMNS)
    ts: list[int] = []
    prices: list[float] = []
    for i, row in enumerate(reader):
        line = i + 2
        if None in row:
            raise SeriesError(f"line {line}: more fields than the header has")
        ts.append(_stamp(row, line, naive_zone))
        price = _number(row, "price", line)
        if price <= 0:
            raise SeriesError(f"line {line}: price must be positive")
        prices.append(price)
    if not ts:
        raise SeriesError("there are no ticks after the header")
    return Ticks.of(ts, prices)
