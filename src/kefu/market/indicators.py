"""Technical indicators in two styles, vectorised with NumPy/SciPy (no Python loop over bars).

``talib`` follows TA-Lib's definitions, so a customer who reads a TA-Lib based chart sees the same
numbers: EMA seeded with the SMA of the first N values, MACD histogram = DIF − DEA, Wilder RSI,
population σ, CCI with 0.015 and the mean deviation, Williams %R in −100…0, the lookback of each
function (NaN until TA-Lib's first output) and its zero-division conventions (0).

``tdx`` follows Chinese trading software (通达信 / 同花顺): EMA from the first bar,
``SMA(X,N,M) = (M·X + (N−M)·Y′)/N`` seeded with the first value, MACD bar = 2·(DIF − DEA),
KDJ from RSV(9) with SMA(·,3,1) and J = 3K − 2D, RSI via SMA(·,N,1) with periods 6/12/24,
WR positive 0…100 (periods 10/6), BIAS 6/12/24, BOLL with the sample σ by default
(``sigma=population`` switches), HHV/LLV over the bars available at the start of a series, and a
division by zero gives 0.

Recursions run through :func:`scipy.signal.lfilter`; window sums through cumulative sums;
window extremes through a doubling (sparse-table) scheme — O(n log N) vectorised passes.

This module holds the indicators, their registry and :func:`compute`; the building blocks they
share (moving averages, recursions, window extremes) are in ``primitives.py``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Literal

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

from kefu.market.primitives import (
    Array,
    _lookback,
    _nan,
    _recursive,
    _safe_div,
    _window_sums,
    ema_talib,
    ema_tdx,
    rolling_max,
    rolling_min,
    sma,
    sma_tdx,
)

__all__ = [
    "INDICATORS",
    "STYLES",
    "Indicator",
    "IndicatorError",
    "Style",
    "compute",
    "ema_talib",
    "ema_tdx",
    "parse_params",
    "rolling_max",
    "rolling_min",
    "sma",
    "sma_tdx",
]


Style = Literal["talib", "tdx"]
STYLES: tuple[Style, ...] = ("talib", "tdx")
ParamValue = int | float | str | tuple[int, ...]

#: TA-Lib's TA_IS_ZERO / TA_IS_ZERO_OR_NEG threshold (ta_func.h)
_TA_EPS = 1e-8
#: TA-Lib's TA_EPSILON of its scale-aware zero test (TA_IS_ZERO_SCALED)
_TA_REL = 1e-14


class IndicatorError(ValueError):
    """Bad indicator name, style, parameter or input series."""


# --- indicators --------------------------------------------------------------------------------


def _ma(b: Mapping[str, Array], p: Mapping[str, ParamValue], style: Style) -> dict[str, Array]:
    return {f"ma{n}": sma(b["close"], n) for n in _periods(p["n"])}


def _ema(b: Mapping[str, Array], p: Mapping[str, ParamValue], style: Style) -> dict[str, Array]:
    fn = ema_talib if style == "talib" else ema_tdx
    return {f"ema{n}": fn(b["close"], n) for n in _periods(p["n"])}


def _macd(b: Mapping[str, Array], p: Mapping[str, ParamValue], style: Style) -> dict[str, Array]:
    c = b["close"]
    fast, slow, signal = int(p["fast"]), int(p["slow"]), int(p["signal"])  # type: ignore[arg-type]
    if style == "tdx":
        dif = ema_tdx(c, fast) - ema_tdx(c, slow)
        dea = ema_tdx(dif, signal)
        return {"dif": dif, "dea": dea, "hist": 2.0 * (dif - dea)}
    if slow < fast:  # TA-Lib swaps them
        fast, slow = slow, fast
    size = len(c)
    dif, dea = _nan(size), _nan(size)
    start = slow - 1  # both EMAs start here; the fast one is seeded with the SMA ending here
    if size > start:
        kf, ks = 2.0 / (fast + 1), 2.0 / (slow + 1)
        f = _recursive(c[start + 1 :], kf, c[start - fast + 1 : start + 1].sum() / fast)
        s = _recursive(c[start + 1 :], ks, c[:slow].sum() / slow)
        d = np.empty(size - start)
        d[0] = c[start - fast + 1 : start + 1].sum() / fast - c[:slow].sum() / slow
        d[1:] = f - s
        dif[start:] = d
        dea[start:] = ema_talib(d, signal)
    first = start + signal - 1
    dif = _lookback(dif, first)
    return {"dif": dif, "dea": dea, "hist": dif - dea}


def _rsi(b: Mapping[str, Array], p: Mapping[str, ParamValue], style: Style) -> dict[str, Array]:
    c = b["close"]
    size = len(c)
    moves = np.empty((2, max(size - 1, 0)))  # row 0: gains, row 1: losses (tdx: |moves|)
    if size > 1:
        d = np.diff(c)
        np.maximum(d, 0.0, out=moves[0])
        if style == "tdx":
            np.abs(d, out=moves[1])
        else:
            np.negative(d, out=d)
            np.maximum(d, 0.0, out=moves[1])
    out: dict[str, Array] = {}
    for n in _periods(p["n"]):
        r = _nan(size)
        if style == "tdx":  # SMA(MAX(C−LC,0),N,1) / SMA(ABS(C−LC),N,1) · 100, from bar 1
            if size > 1:
                y, _ = lfilter(
                    [1.0 / n],
                    [1.0, 1.0 / n - 1.0],
                    moves,
                    axis=1,
                    zi=(1.0 - 1.0 / n) * moves[:, :1],
                )
                r[1:] = _safe_div(y[0], y[1], y[1] == 0.0)
                r[1:] *= 100.0
        elif size > n:  # Wilder: seeded with the mean of the first n moves, at bar n
            a = 1.0 / n
            seed = moves[:, :n].sum(axis=1) / n
            y = np.empty((2, size - n))
            y[:, 0] = seed
            if size > n + 1:
                y[:, 1:], _ = lfilter(
                    [a], [1.0, a - 1.0], moves[:, n:], axis=1, zi=(1.0 - a) * seed[:, None]
                )
            total = y[1]
            total += y[0]
            r[n:] = _safe_div(y[0], total, np.abs(total) < _TA_EPS)
            r[n:] *= 100.0
        out[f"rsi{n}"] = r
    return out


def _running_totals(x: Array, n: int) -> Array:
    """TA-Lib's running window total at each output bar, with its exact rounding: TA-Lib adds the
    new value, reads the total, then subtracts the value leaving the window; a cumulative sum over
    that interleaved sequence performs the same additions in the same order."""
    size = len(x)
    seq = np.empty(2 * size - n + 1)
    seq[: n - 1] = x[: n - 1]
    seq[n - 1 :: 2] = x[n - 1 :]
    seq[n::2] = -x[: size - n + 1]
    out: Array = np.cumsum(seq)[n - 1 :: 2]
    return out


def _boll(b: Mapping[str, Array], p: Mapping[str, ParamValue], style: Style) -> dict[str, Array]:
    c = b["close"]
    n, k = int(p["n"]), float(p["k"])  # type: ignore[arg-type]
    sigma = str(p["sigma"])
    if sigma not in ("population", "sample"):
        raise IndicatorError("BOLL sigma must be 'population' or 'sample'")
    if sigma == "sample" and n < 2:
        raise IndicatorError("BOLL with the sample sigma needs n >= 2")
    size = len(c)
    mid, sd = _nan(size), _nan(size)
    if size >= n:
        if style == "talib":  # TA-Lib's arithmetic: running sums of values and of squares
            m = _running_totals(c, n) / n
            var = _running_totals(c * c, n) / n - m * m
        else:  # shifted by the first close: smaller sums, the same variance
            base = c[0]
            x = c - base
            mx = _window_sums(x, n) / n
            var = _window_sums(x * x, n) / n - mx * mx
            m = mx + base
        if sigma == "sample":
            var *= n / (n - 1)
        # TA-Lib: a variance under 1e-8 is 0 (TA_IS_ZERO_OR_NEG) — flat stretches have no band
        sd[n - 1 :] = np.sqrt(np.where(var < _TA_EPS, 0.0, var))
        mid[n - 1 :] = m
    return {"mid": mid, "upper": mid + k * sd, "lower": mid - k * sd}


def _stoch_raw(b: Mapping[str, Array], n: int, style: Style) -> Array:
    h, lo, c = b["high"], b["low"], b["close"]
    hh, ll = rolling_max(h, n), rolling_min(lo, n)
    diff = (hh - ll) / 100.0
    return _safe_div(c - ll, diff, diff == 0.0)


def _kdj(b: Mapping[str, Array], p: Mapping[str, ParamValue], style: Style) -> dict[str, Array]:
    n, m1, m2 = int(p["n"]), int(p["m1"]), int(p["m2"])  # type: ignore[arg-type]
    rsv = _stoch_raw(b, n, style)
    if style == "tdx":
        k = sma_tdx(rsv, m1, 1)
        d = sma_tdx(k, m2, 1)
    else:  # TA-Lib STOCH with SMA smoothing; both lines start at the full lookback
        size = len(rsv)
        k, d = _nan(size), _nan(size)
        if size >= n:
            k[n - 1 :] = sma(rsv[n - 1 :], m1)
            first = n - 1 + m1 - 1
            if size > first:
                d[first:] = sma(k[first:], m2)
        k = _lookback(k, n + m1 + m2 - 3)
    return {"k": k, "d": d, "j": 3.0 * k - 2.0 * d}


def _cci(b: Mapping[str, Array], p: Mapping[str, ParamValue], style: Style) -> dict[str, Array]:
    """CCI = (TP − MA(TP,N)) / (0.015 · AVEDEV(TP,N)), TP = (H+L+C)/3; 0 where either part is 0.

    The window is summed in TA-Lib's order (its circular buffer: bar ``b`` sits in slot
    ``b mod N``), so the mean — and hence CCI on near-flat windows, where it is ill-conditioned —
    agrees with TA-Lib to the last bit. Bars are grouped by ``t mod N``; within a group the slot
    order is fixed, so each term is a strided slice."""
    n = int(p["n"])  # type: ignore[arg-type]
    tp = (b["high"] + b["low"] + b["close"]) / 3.0
    size = len(tp)
    out = _nan(size)
    for r in range(n):
        t0 = n - 1 + (r - (n - 1)) % n  # the first output bar with t mod n == r
        if t0 >= size:
            continue
        count = (size - 1 - t0) // n + 1
        stop = t0 + n * (count - 1) + 1
        terms = [tp[t0 - (r - j) % n : stop - (r - j) % n : n] for j in range(n)]
        total = np.zeros(count)
        for term in terms:  # a loop over the window's slots, each pass vectorised over bars
            total += term
        mean = total / n
        dev = np.zeros(count)
        for term in terms:
            dev += np.abs(term - mean)
        last = tp[t0:stop:n]
        num = last - mean
        # TA-Lib's scale-aware zero (TA_IS_ZERO_SCALED): a flat window is 0, not ±66.7 from the
        # last rounding unit of its mean
        zero = (np.abs(num) <= _TA_REL * (np.abs(last) + np.abs(mean))) | (dev == 0.0)
        out[t0:stop:n] = _safe_div(num, 0.015 * (dev / n), zero)
    return {"cci": out}


def _bias(b: Mapping[str, Array], p: Mapping[str, ParamValue], style: Style) -> dict[str, Array]:
    c = b["close"]
    out = {}
    for n in _periods(p["n"]):
        ma = sma(c, n)
        out[f"bias{n}"] = _safe_div(c - ma, ma / 100.0, ma == 0.0)
        out[f"bias{n}"][np.isnan(ma)] = np.nan
    return out


def _wr(b: Mapping[str, Array], p: Mapping[str, ParamValue], style: Style) -> dict[str, Array]:
    h, lo, c = b["high"], b["low"], b["close"]
    out = {}
    for n in _periods(p["n"]):
        hh, ll = rolling_max(h, n), rolling_min(lo, n)
        if style == "tdx":
            diff = (hh - ll) / 100.0
            out[f"wr{n}"] = _safe_div(hh - c, diff, diff == 0.0)
        else:
            diff = (hh - ll) / -100.0
            out[f"wr{n}"] = _lookback(_safe_div(hh - c, diff, diff == 0.0), n - 1)
    return out


def _obv(b: Mapping[str, Array], p: Mapping[str, ParamValue], style: Style) -> dict[str, Array]:
    c, v = b["close"], b["volume"]
    size = len(c)
    if size == 0:
        return {"obv": np.empty(0)}
    signed = np.empty(size)
    signed[1:] = np.sign(np.diff(c)) * v[1:]
    if style == "tdx":  # SUM(IF(C=REF(C,1),0,IF(C>REF(C,1),V,-V)),0): REF is undefined on bar 0
        signed[0] = 0.0
        out = np.cumsum(signed)
        out[0] = np.nan
        return {"obv": out}
    signed[0] = v[0]  # TA-Lib starts from the first bar's volume
    return {"obv": np.cumsum(signed)}


def _vol(b: Mapping[str, Array], p: Mapping[str, ParamValue], style: Style) -> dict[str, Array]:
    v = b["volume"]
    return {"vol": v.copy()} | {f"mavol{n}": sma(v, n) for n in _periods(p["n"])}


# --- the registry ------------------------------------------------------------------------------


@dataclass(frozen=True)
class Indicator:
    """One indicator: the bar columns it reads, its parameters' defaults per style, the function."""

    name: str
    inputs: tuple[str, ...]
    defaults: Mapping[Style, Mapping[str, ParamValue]]
    fn: Callable[[Mapping[str, Array], Mapping[str, ParamValue], Style], dict[str, Array]]
    overlay: bool  # drawn on the price chart (True) or in a sub-chart


def _same(params: Mapping[str, ParamValue]) -> dict[Style, Mapping[str, ParamValue]]:
    return {"talib": params, "tdx": params}


_C, _HLC = ("close",), ("high", "low", "close")
INDICATORS: dict[str, Indicator] = {
    i.name: i
    for i in (
        Indicator("MA", _C, _same({"n": (5, 10, 20, 60)}), _ma, True),
        Indicator("EMA", _C, _same({"n": (12, 26)}), _ema, True),
        Indicator("MACD", _C, _same({"fast": 12, "slow": 26, "signal": 9}), _macd, False),
        Indicator("RSI", _C, {"talib": {"n": (14,)}, "tdx": {"n": (6, 12, 24)}}, _rsi, False),
        Indicator(
            "BOLL",
            _C,
            {
                "talib": {"n": 20, "k": 2.0, "sigma": "population"},
                "tdx": {"n": 20, "k": 2.0, "sigma": "sample"},
            },
            _boll,
            True,
        ),
        Indicator("KDJ", _HLC, _same({"n": 9, "m1": 3, "m2": 3}), _kdj, False),
        Indicator("CCI", _HLC, _same({"n": 14}), _cci, False),
        Indicator("BIAS", _C, _same({"n": (6, 12, 24)}), _bias, False),
        Indicator("WR", _HLC, {"talib": {"n": (14,)}, "tdx": {"n": (10, 6)}}, _wr, False),
        Indicator("OBV", ("close", "volume"), _same({}), _obv, False),
        Indicator("VOL", ("volume",), _same({"n": (5, 10)}), _vol, False),
    )
}


def _periods(v: ParamValue) -> tuple[int, ...]:
    return v if isinstance(v, tuple) else (int(v),)


def _positive_int(name: str, text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise IndicatorError(f"parameter {name}={text!r} is not a whole number") from None
    if not 1 <= value <= 100_000:
        raise IndicatorError(f"parameter {name}={text!r} must be between 1 and 100000")
    return value


def parse_params(
    name: str, style: str, raw: Mapping[str, str | ParamValue] | None = None
) -> dict[str, ParamValue]:
    """The indicator's parameters for ``style``: its defaults overridden by ``raw`` (text from a
    command line or a query string: ``n=5,10,20``, ``k=2.5``, ``sigma=population``)."""
    ind = _indicator(name)
    st = _style(style)
    params: dict[str, ParamValue] = dict(ind.defaults[st])
    for key, value in (raw or {}).items():
        if key not in params:
            known = ", ".join(params) or "none"
            raise IndicatorError(f"{ind.name} has no parameter {key!r} (parameters: {known})")
        default, text = params[key], str(value) if not isinstance(value, tuple) else value
        if isinstance(default, tuple):
            items = text if isinstance(text, tuple) else tuple(text.split(","))
            periods = tuple(_positive_int(key, str(t).strip()) for t in items if str(t).strip())
            if not periods or len(periods) > 8:
                raise IndicatorError(f"parameter {key} takes 1 to 8 periods")
            params[key] = periods
        elif isinstance(default, int):
            params[key] = _positive_int(key, str(text))
        elif isinstance(default, float):
            try:
                number = float(str(text))
            except ValueError:
                raise IndicatorError(f"parameter {key}={text!r} is not a number") from None
            if not np.isfinite(number) or not 0 < number <= 100:
                raise IndicatorError(f"parameter {key}={text!r} must be in (0, 100]")
            params[key] = number
        else:
            params[key] = str(text)
    return params


def _indicator(name: str) -> Indicator:
    ind = INDICATORS.get(name.upper())
    if ind is None:
        raise IndicatorError(f"unknown indicator {name!r} (known: {', '.join(INDICATORS)})")
    return ind


def _style(style: str) -> Style:
    if style not in STYLES:
        raise IndicatorError(f"unknown style {style!r} (talib or tdx)")
    return style


def compute(
    name: str,
    bars: Mapping[str, npt.ArrayLike],
    *,
    style: str = "tdx",
    params: Mapping[str, str | ParamValue] | None = None,
) -> dict[str, Array]:
    """The columns of indicator ``name`` over ``bars`` (arrays of equal length keyed open, high,
    low, close, volume; only those the indicator reads are needed); NaN where undefined."""
    ind = _indicator(name)
    st = _style(style)
    p = parse_params(ind.name, st, params)
    data: dict[str, Array] = {}
    size: int | None = None
    for col in ind.inputs:
        if col not in bars:
            raise IndicatorError(f"{ind.name} needs the column {col!r}")
        arr = np.ascontiguousarray(bars[col], dtype=np.float64)
        if arr.ndim != 1:
            raise IndicatorError(f"column {col!r} must be one-dimensional")
        if size is not None and len(arr) != size:
            raise IndicatorError("the columns differ in length")
        if not np.isfinite(arr).all():
            row = int(np.flatnonzero(~np.isfinite(arr))[0])
            raise IndicatorError(f"column {col!r} has a missing or infinite value at bar {row}")
        size = len(arr)
        data[col] = arr
    return ind.fn(data, p, st)
