"""The building blocks of the technical indicators (pure, vectorised with NumPy/SciPy): window
sums and the simple moving average through cumulative sums, the EMA and 通达信 SMA recursions
through one :func:`scipy.signal.lfilter` pass, window extremes (HHV/LLV) through a doubling
(sparse-table) scheme, and the lookback and division-by-zero conventions the indicators share."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np
import numpy.typing as npt
from scipy.signal import lfilter

Array = npt.NDArray[np.float64]


def _nan(n: int) -> Array:
    return np.full(n, np.nan)


def _window_sums(x: Array, n: int) -> Array:
    """Sums of every window of ``n`` consecutive values (len(x) − n + 1 of them), from a cumulative
    sum of the values less their first one (which keeps the partial sums small)."""
    c = np.empty(len(x) + 1)
    c[0] = 0.0
    base = x[0]
    np.cumsum(x - base, out=c[1:])
    out: Array = c[n:] - c[:-n]
    out += n * base
    return out


def sma(x: Array, n: int) -> Array:
    """Simple moving average (MA); NaN for the first ``n − 1`` bars."""
    size = len(x)
    out = np.empty(size)
    out[: min(n - 1, size)] = np.nan
    if size >= n:
        base = x[0]
        c = np.empty(size + 1)
        c[0] = 0.0
        np.cumsum(x - base, out=c[1:])  # shifted by the first value: smaller partial sums
        tail = out[n - 1 :]
        np.subtract(c[n:], c[:-n], out=tail)
        tail /= n
        tail += base
    return out


def _recursive(x: Array, alpha: float, seed: float) -> Array:
    """``y[i] = alpha·x[i] + (1 − alpha)·y[i−1]`` with ``y[−1] = seed`` (one lfilter pass)."""
    if len(x) == 0:
        return np.empty(0)
    y, _ = lfilter([alpha], [1.0, alpha - 1.0], x, zi=[(1.0 - alpha) * seed])
    return np.asarray(y, dtype=np.float64)


def ema_talib(x: Array, n: int) -> Array:
    """TA-Lib EMA: seeded at bar ``n − 1`` with the SMA of the first ``n`` values, k = 2/(n+1)."""
    out = _nan(len(x))
    if len(x) >= n:
        out[n - 1] = x[:n].sum() / n
        out[n:] = _recursive(x[n:], 2.0 / (n + 1), out[n - 1])
    return out


def ema_tdx(x: Array, n: int) -> Array:
    """通达信 EMA(X,N) = (2·X + (N−1)·Y′)/(N+1), from the first bar (Y₀ = X₀)."""
    if len(x) == 0:
        return np.empty(0)
    return _recursive(x, 2.0 / (n + 1), float(x[0]))


def sma_tdx(x: Array, n: int, m: int) -> Array:
    """通达信 SMA(X,N,M) = (M·X + (N−M)·Y′)/N, from the first bar (Y₀ = X₀)."""
    if len(x) == 0:
        return np.empty(0)
    return _recursive(x, m / n, float(x[0]))


def _rolling_extreme(x: Array, n: int, fn: Callable[[Array, Array], Array]) -> Array:
    """``fn``-extreme of the trailing window of ``n`` bars; at the start, of the bars available."""
    if n <= 1 or len(x) == 0:
        return x.copy()
    m: Array = np.concatenate([np.full(n - 1, x[0]), x])
    length = len(m)
    w = 1
    while 2 * w <= n:  # m[i] = extreme of padded[i : i + 2w]
        m = fn(m[:-w], m[w:])
        w *= 2
    k = length - n + 1
    return fn(m[:k], m[n - w : n - w + k])


def rolling_max(x: Array, n: int) -> Array:
    """HHV(X,N): highest of the last ``n`` bars (fewer at the start of the series)."""
    return _rolling_extreme(x, n, np.maximum)


def rolling_min(x: Array, n: int) -> Array:
    """LLV(X,N): lowest of the last ``n`` bars (fewer at the start of the series)."""
    return _rolling_extreme(x, n, np.minimum)


def _lookback(out: Array, first: int) -> Array:
    out[: min(first, len(out))] = np.nan
    return out


def _safe_div(num: Array, den: Array, zero: npt.NDArray[np.bool_]) -> Array:
    """num/den where ``zero`` is False, else 0 (TA-Lib's and 通达信's division by zero)."""
    out = np.zeros(np.broadcast(num, den).shape)
    np.divide(num, den, out=out, where=~zero)
    return out
