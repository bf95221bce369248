"""The indicator engine: the talib style against the TA-Lib wheel (the oracle), the tdx style
against series worked by hand (fractions in the comments)."""

from __future__ import annotations

from fractions import Fraction as F

import numpy as np
import pytest

from kefu.market import indicators as ind

talib = pytest.importorskip("talib")

TOL = 1e-9


def random_walk(seed: int, n: int = 10_000) -> dict[str, np.ndarray]:
    """A multiplicative random walk in cents with price gaps (1 % of bars jump), flat stretches
    (no move, high = low = close, no volume) and a gap between the previous close and the open."""
    rng = np.random.default_rng(seed)
    r = rng.standard_normal(n) * 0.01
    r[rng.random(n) < 0.01] *= 8
    flat = np.zeros(n, dtype=bool)
    for start in rng.integers(0, n - 40, size=15):
        flat[start : start + rng.integers(5, 40)] = True
    r[flat] = 0.0
    close = np.round(100 * np.exp(np.cumsum(r)), 2)
    jump = np.where(rng.random(n) < 0.01, rng.standard_normal(n) * 0.02, 0.0)
    open_ = np.round(np.r_[close[0], close[:-1]] * (1 + jump), 2)
    open_[flat] = close[flat]
    wick = np.round(np.abs(rng.standard_normal((2, n))) * 0.3, 2) * ~flat
    high = np.maximum(open_, close) + wick[0]
    low = np.minimum(open_, close) - wick[1]
    volume = np.round(rng.lognormal(10, 1, n)) * ~flat
    return {"open": open_, "high": high, "low": low, "close": close, "volume": volume}


def same(ours: np.ndarray, oracle: np.ndarray) -> None:
    """NaN exactly where TA-Lib has none yet; elsewhere within 1e-9 (relative above 1)."""
    assert ours.shape == oracle.shape
    np.testing.assert_array_equal(np.isnan(ours), np.isnan(oracle))
    ok = ~np.isnan(oracle)
    err = np.abs(ours[ok] - oracle[ok]) / np.maximum(1.0, np.abs(oracle[ok]))
    assert err.max(initial=0.0) <= TOL, f"max error {err.max()} at bar {np.argmax(err)}"


@pytest.fixture(scope="module", params=[1, 2])
def bars(request: pytest.FixtureRequest) -> dict[str, np.ndarray]:
    b = random_walk(request.param)
    assert (np.diff(b["close"]) == 0).sum() > 200  # the flat stretches are there
    return b


def talib_style(name: str, bars: dict[str, np.ndarray], **params: str) -> dict[str, np.ndarray]:
    return ind.compute(name, bars, style="talib", params=params)


def test_ma_ema_volume_ma_match_talib(bars: dict[str, np.ndarray]) -> None:
    c = bars["close"]
    out = talib_style("MA", bars, n="5,20,60")
    for n in (5, 20, 60):
        same(out[f"ma{n}"], talib.SMA(c, n))
    out = talib_style("EMA", bars, n="12,26,3")
    for n in (12, 26, 3):
        same(out[f"ema{n}"], talib.EMA(c, n))
    vol = talib_style("VOL", bars)
    same(vol["mavol5"], talib.SMA(bars["volume"], 5))
    same(vol["mavol10"], talib.SMA(bars["volume"], 10))


@pytest.mark.parametrize("fast,slow,signal", [(12, 26, 9), (5, 35, 5), (26, 12, 9)])
def test_macd_matches_talib(bars: dict[str, np.ndarray], fast: int, slow: int, signal: int) -> None:
    out = talib_style("MACD", bars, fast=str(fast), slow=str(slow), signal=str(signal))
    dif, dea, hist = talib.MACD(bars["close"], fast, slow, signal)
    same(out["dif"], dif)
    same(out["dea"], dea)
    same(out["hist"], hist)


def test_rsi_bollinger_match_talib(bars: dict[str, np.ndarray]) -> None:
    c = bars["close"]
    out = talib_style("RSI", bars, n="14,6")
    same(out["rsi14"], talib.RSI(c, 14))
    same(out["rsi6"], talib.RSI(c, 6))
    for n, k in ((20, 2.0), (10, 2.5)):
        up, mid, lo = talib.BBANDS(c, n, k, k, 0)
        out = talib_style("BOLL", bars, n=str(n), k=str(k))
        same(out["upper"], up)
        same(out["mid"], mid)
        same(out["lower"], lo)


def test_kdj_cci_wr_obv_match_talib(bars: dict[str, np.ndarray]) -> None:
    h, lo, c = bars["high"], bars["low"], bars["close"]
    kdj = talib_style("KDJ", bars)
    k, d = talib.STOCH(h, lo, c, 9, 3, 0, 3, 0)
    same(kdj["k"], k)
    same(kdj["d"], d)
    same(kdj["j"], 3 * k - 2 * d)
    same(talib_style("CCI", bars)["cci"], talib.CCI(h, lo, c, 14))
    same(talib_style("CCI", bars, n="20")["cci"], talib.CCI(h, lo, c, 20))
    wr = talib_style("WR", bars)["wr14"]
    same(wr, talib.WILLR(h, lo, c, 14))
    assert np.nanmin(wr) >= -100 and np.nanmax(wr) <= 0
    same(talib_style("OBV", bars)["obv"], talib.OBV(c, bars["volume"]))
    bias = talib_style("BIAS", bars, n="6")["bias6"]
    ma = talib.SMA(c, 6)
    same(bias, (c - ma) / ma * 100)


# --- tdx: short series worked by hand ------------------------------------------------------------

C = np.array([10.0, 11, 12, 11, 13])
HLC = {
    "high": np.array([11.0, 12, 13, 12]),
    "low": np.array([9.0, 10, 11, 10]),
    "close": np.array([10.0, 12, 11, 10]),
}


def near(ours: np.ndarray, expected: list[F | float | None]) -> None:
    want = np.array([np.nan if e is None else float(e) for e in expected])
    np.testing.assert_allclose(ours, want, rtol=0, atol=1e-12, equal_nan=True)


def test_tdx_ema_and_sma_start_from_the_first_bar() -> None:
    # EMA(C,3): k = 1/2 -> 10, (11+10)/2, (12+10.5)/2, (11+11.25)/2, (13+11.125)/2
    near(ind.ema_tdx(C, 3), [10, 10.5, 11.25, 11.125, 12.0625])
    # SMA(C,3,1) = (C + 2·Y')/3 -> 10, 31/3, 98/9, 295/27, 941/81
    near(ind.sma_tdx(C, 3, 1), [10, F(31, 3), F(98, 9), F(295, 27), F(941, 81)])
    # talib EMA(C,3) is seeded with the SMA of the first three: 11, then (11+11)/2, (13+11)/2
    near(ind.ema_talib(C, 3), [None, None, 11, 11, 12])


def test_tdx_macd_bar_is_twice_dif_minus_dea() -> None:
    out = ind.compute("MACD", {"close": C}, style="tdx", params={"fast": 2, "slow": 3, "signal": 2})
    # EMA2 = 10, 32/3, 104/9, 302/27, 1004/81; EMA3 = 10, 21/2, 45/4, 89/8, 193/16
    dif = [0, F(1, 6), F(11, 36), F(13, 216), F(431, 1296)]
    dea = [0, F(1, 9), F(13, 54), F(13, 108), F(509, 1944)]  # EMA(DIF,2), k = 2/3
    near(out["dif"], dif)
    near(out["dea"], dea)
    near(out["hist"], [2 * (a - b) for a, b in zip(dif, dea, strict=True)])


def test_tdx_kdj_from_rsv_with_sma_3_1() -> None:
    out = ind.compute("KDJ", HLC, style="tdx", params={"n": 3})
    # HHV3 = 11,12,13,13; LLV3 = 9,9,9,10 (fewer bars at the start)
    # RSV = 50, 100, 50, 0
    k = [50, F(200, 3), F(550, 9), F(1100, 27)]
    d = [50, F(500, 9), F(1550, 27), F(1400, 27)]
    near(out["k"], k)
    near(out["d"], d)
    near(out["j"], [50, F(800, 9), F(1850, 27), F(500, 27)])


def test_tdx_rsi_wr_bias_boll_cci_obv() -> None:
    # C−LC = 1, 1, −1, 2 -> SMA(MAX,2,1) = 1, 1, 1/2, 5/4 ; SMA(ABS,2,1) = 1, 1, 1, 3/2
    near(
        ind.compute("RSI", {"close": C}, params={"n": "2"})["rsi2"], [None, 100, 100, 50, F(250, 3)]
    )
    # WR(3) = (HHV − C)/(HHV − LLV)·100, positive
    near(ind.compute("WR", HLC, params={"n": "3"})["wr3"], [50, 0, 50, 100])
    # BIAS(3) = (C − MA3)/MA3·100 with MA3 = 11, 34/3, 12
    near(
        ind.compute("BIAS", {"close": C}, params={"n": "3"})["bias3"],
        [None, None, F(100, 11), F(-100, 34), F(100, 12)],
    )
    # BOLL(3), sample σ: [10,11,12] σ = 1; [11,12,11] σ² = (2/3)/2 = 1/3
    boll = ind.compute("BOLL", {"close": C}, params={"n": "3"})
    near(boll["mid"], [None, None, 11, F(34, 3), 12])
    near(boll["upper"], [None, None, 13, 34 / 3 + 2 * (1 / 3) ** 0.5, 12 + 2 * 1.0])
    pop = ind.compute("BOLL", {"close": C}, params={"n": "3", "sigma": "population"})
    near(
        pop["upper"],
        [None, None, 11 + 2 * (2 / 3) ** 0.5, 34 / 3 + 2 * (2 / 9) ** 0.5, 12 + 2 * (2 / 3) ** 0.5],
    )
    # CCI(3): TP = 10, 34/3, 35/3, 32/3; bar 2: (35/3 − 11)/(0.015·2/3) = 66.67; bar 3: −100
    near(ind.compute("CCI", HLC, params={"n": "3"})["cci"], [None, None, F(200, 3), -100])
    obv = {"close": np.array([10.0, 11, 12, 11, 11]), "volume": np.array([1.0, 2, 3, 4, 5]) * 100}
    near(ind.compute("OBV", obv)["obv"], [None, 200, 500, 100, 100])
    near(ind.compute("OBV", obv, style="talib")["obv"], [100, 300, 600, 200, 200])


def test_tdx_flat_window_has_zero_rsv_and_no_band() -> None:
    flat = {k: np.full(6, 20.0) for k in ("high", "low", "close")}
    out = ind.compute("KDJ", flat, params={"n": "3"})
    near(out["k"], [0.0] * 6)  # 通达信: a division by zero gives 0
    boll = ind.compute("BOLL", {"close": np.full(5, 20.0)}, params={"n": "3"})
    near(boll["upper"], [None, None, 20, 20, 20])


def test_styles_differ_where_the_conventions_do() -> None:
    b = random_walk(3, 300)
    t = ind.compute("MACD", b, style="talib")
    x = ind.compute("MACD", b, style="tdx")
    assert np.isnan(t["hist"][:33]).all() and not np.isnan(x["hist"]).any()
    assert ind.compute("RSI", b, style="tdx").keys() == {"rsi6", "rsi12", "rsi24"}
    wr = ind.compute("WR", b, style="tdx")["wr10"]
    assert wr.min() >= 0 and wr.max() <= 100


def test_bad_names_params_and_inputs_are_refused() -> None:
    with pytest.raises(ind.IndicatorError, match="unknown indicator"):
        ind.compute("FOO", {"close": C})
    with pytest.raises(ind.IndicatorError, match="no parameter 'x'"):
        ind.compute("MA", {"close": C}, params={"x": "1"})
    with pytest.raises(ind.IndicatorError, match="not a whole number"):
        ind.compute("MA", {"close": C}, params={"n": "five"})
    with pytest.raises(ind.IndicatorError, match="needs the column 'high'"):
        ind.compute("KDJ", {"close": C})
    with pytest.raises(ind.IndicatorError, match="at bar 2"):
        ind.compute("MA", {"close": np.array([1.0, 2.0, np.nan])})
    with pytest.raises(ind.IndicatorError, match="unknown style"):
        ind.compute("MA", {"close": C}, style="excel")


def test_series_shorter_than_the_period_is_all_undefined() -> None:
    out = ind.compute("MACD", {"close": C}, style="talib")
    assert np.isnan(out["dif"]).all()
    assert np.isnan(ind.compute("CCI", HLC, params={"n": "14"})["cci"]).all()
    assert np.isnan(ind.compute("RSI", {"close": C}, style="talib")["rsi14"]).all()
