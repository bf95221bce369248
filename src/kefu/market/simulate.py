"""Plausible price paths for the demo that pass exactly through recorded prices.

Log-price random walks pinned by Brownian bridges: every recorded stock fill lies in its minute
bar, every binary-option record's entry price is the last tick at or before its open time and
its settle price the tick the platform settled on. Deterministic for a given NumPy generator.
Pure: arrays in, arrays out (times are int64 microseconds since the epoch, UTC).
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

__all__ = ["OHLCV", "SimTicks", "aggregate", "binary_ticks", "bridge", "daily", "intraday"]

F64 = npt.NDArray[np.float64]
I64 = npt.NDArray[np.int64]
MINUTE = 60_000_000


@dataclass(frozen=True)
class OHLCV:
    ts: I64
    open: F64
    high: F64
    low: F64
    close: F64
    volume: F64


def bridge(rng: np.random.Generator, n: int, anchors: Mapping[int, float], sigma: float) -> F64:
    """A random walk of ``n`` steps (st. dev. ``sigma``) through ``anchors`` {index: value}:
    between two anchors a Brownian bridge, outside them a free walk."""
    w = np.concatenate([[0.0], np.cumsum(rng.normal(0.0, sigma, n - 1))])
    if not anchors:
        return w
    idx = sorted(anchors)
    out = np.empty(n)
    a0, al = idx[0], idx[-1]
    out[: a0 + 1] = anchors[a0] + (w[: a0 + 1] - w[a0])
    out[al:] = anchors[al] + (w[al:] - w[al])
    for a, b in itertools.pairwise(idx):  # one vectorised segment per pair of anchors
        t = np.arange(a, b + 1)
        frac = (t - a) / (b - a)
        drift = (w[b] - w[a]) - (anchors[b] - anchors[a])
        out[a : b + 1] = anchors[a] + (w[t] - w[a]) - frac * drift
    for a in idx:
        out[a] = anchors[a]
    return out


def _round(x: F64, places: int) -> F64:
    return np.round(x, places)


def _wicks(
    rng: np.random.Generator, open_: F64, close: F64, sigma: float, places: int
) -> tuple[F64, F64]:
    up = np.abs(rng.normal(0.0, sigma, len(close)))
    down = np.abs(rng.normal(0.0, sigma, len(close)))
    high = _round(np.maximum(open_, close) * np.exp(up), places)
    low = _round(np.minimum(open_, close) * np.exp(-down), places)
    return np.maximum(high, np.maximum(open_, close)), np.minimum(low, np.minimum(open_, close))


def daily(
    rng: np.random.Generator,
    ts: I64,
    anchors: Mapping[int, float],
    *,
    sigma: float,
    places: int,
    volume: float,
) -> OHLCV:
    """Daily bars whose closes pass through ``anchors`` {bar index: price}."""
    logs = bridge(rng, len(ts), {i: float(np.log(p)) for i, p in anchors.items()}, sigma)
    close = _round(np.exp(logs), places)
    for i, p in anchors.items():
        close[i] = p
    prev = np.concatenate([[close[0]], close[:-1]])
    open_ = _round(prev * np.exp(rng.normal(0.0, sigma * 0.3, len(ts))), places)
    high, low = _wicks(rng, open_, close, sigma * 0.5, places)
    vol = np.round(volume * rng.lognormal(0.0, 0.35, len(ts)) / 100) * 100
    return OHLCV(ts, open_, high, low, close, vol)


def intraday(
    rng: np.random.Generator,
    ts: I64,
    *,
    day_open: float,
    day_close: float,
    fills: Mapping[int, float],
    sigma: float,
    places: int,
    day_volume: float,
) -> OHLCV:
    """One session's minute bars from ``day_open`` to ``day_close``; each fill {minute index:
    price} is the close of its minute, so the fill lies within that bar."""
    n = len(ts)
    pins = {0: day_open, n - 1: day_close, **fills}
    logs = bridge(rng, n, {i: float(np.log(p)) for i, p in pins.items()}, sigma)
    close = _round(np.exp(logs), places)
    for i, p in pins.items():
        close[i] = p
    open_ = np.concatenate([[day_open], close[:-1]])
    high, low = _wicks(rng, open_, close, sigma * 0.4, places)
    shape = 1.0 + 1.5 * (np.linspace(-1, 1, n) ** 2)  # busier at the open and the close
    vol = np.round(day_volume * shape / shape.sum() * rng.lognormal(0.0, 0.3, n) / 100) * 100
    return OHLCV(ts, open_, high, low, close, vol)


@dataclass(frozen=True)
class SimTicks:
    ts: I64
    price: F64
    settle_index: int  # the tick the platform settled on


def binary_ticks(
    rng: np.random.Generator,
    *,
    open_us: int,
    expiry_us: int,
    entry: float,
    settle: float,
    places: int,
    sigma: float,
    margin_us: int = 3 * MINUTE,
    late_us: int = 0,
    replay_price: float | None = None,
) -> SimTicks:
    """Ticks from ``margin_us`` before the open to ``margin_us`` after expiry, 1–4 s apart:
    the last tick at or before the open is ``entry`` and the last at or before expiry is
    ``settle``. With ``late_us`` the feed's last tick at or before expiry is ``replay_price``
    and the recorded ``settle`` price arrives ``late_us`` after expiry (a late settlement)."""
    start, stop = open_us - margin_us, expiry_us + margin_us
    steps = rng.integers(1_000_000, 4_000_000, size=int((stop - start) / 1_000_000) + 2)
    ts = start + np.cumsum(steps)
    ts = ts[ts <= stop]
    ts = ts.astype(np.int64)
    if late_us:
        ts = ts[(ts <= expiry_us) | (ts > expiry_us + late_us)]
        ts = np.sort(np.concatenate([ts, [expiry_us + late_us]])).astype(np.int64)
    i_open = int(np.searchsorted(ts, open_us, side="right")) - 1
    i_exp = int(np.searchsorted(ts, expiry_us, side="right")) - 1
    pins = {i_open: entry, i_exp: settle if not late_us else float(replay_price or settle)}
    i_settle = i_exp
    if late_us:
        i_settle = i_exp + 1
        pins[i_settle] = settle
    logs = bridge(rng, len(ts), {i: float(np.log(p)) for i, p in pins.items()}, sigma)
    price = _round(np.exp(logs), places)
    for i, p in pins.items():
        price[i] = p
    return SimTicks(ts, price, i_settle)


def aggregate(ts: I64, price: F64) -> OHLCV:
    """Minute bars from ticks (volume = the number of ticks: FX and metals have no traded volume
    in a dealer feed, so charts show tick volume)."""
    minute = (ts // MINUTE) * MINUTE
    starts = np.flatnonzero(np.concatenate([[True], minute[1:] != minute[:-1]]))
    ends = np.concatenate([starts[1:], [len(ts)]])
    high = np.maximum.reduceat(price, starts)
    low = np.minimum.reduceat(price, starts)
    return OHLCV(
        minute[starts],
        price[starts],
        high,
        low,
        price[ends - 1],
        (ends - starts).astype(np.float64),
    )
