"""The market's demo content: instruments from ``content/demo/market/instruments.yaml`` and price
data generated for them (kefu.market.simulate), pinned to the recorded trades of
``content/demo/customers.yaml``; the platform's settlement tick is recorded on each demo
binary-option trade. Idempotent: an instrument that already has bars is left alone."""

from __future__ import annotations

from collections import defaultdict
from datetime import UTC, date, datetime, time, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import numpy as np
import yaml
from sqlalchemy.orm import Session

from kefu.customers import trades as customer_trades
from kefu.market import prices, simulate
from kefu.market.series import Bars, Ticks, from_us, to_us

__all__ = ["load_demo_market"]

SHANGHAI = ZoneInfo("Asia/Shanghai")
MINUTE = simulate.MINUTE


def _read(path: Path) -> dict[str, Any]:
    with path.open(encoding="utf-8") as fh:
        data = yaml.safe_load(fh) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping")
    return data


def _days(first: date, last: date, *, weekends: bool, holidays: set[date]) -> list[date]:
    out, d = [], first
    while d <= last:
        if (weekends or d.weekday() < 5) and d not in holidays:
            out.append(d)
        d += timedelta(days=1)
    return out


def _session(day: date) -> np.ndarray:
    """The 240 minute bars of an A-share session (09:30–11:30, 13:00–15:00 Beijing time)."""
    am = datetime.combine(day, time(9, 30), SHANGHAI)
    pm = datetime.combine(day, time(13, 0), SHANGHAI)
    starts = [to_us(am + timedelta(minutes=m)) for m in range(120)]
    starts += [to_us(pm + timedelta(minutes=m)) for m in range(120)]
    return np.array(starts, dtype=np.int64)


def _bars(o: simulate.OHLCV) -> Bars:
    return Bars(
        o.ts,
        o.open,
        o.high,
        o.low,
        o.close,
        o.volume,
        tuple(from_us(int(t)).isoformat() for t in o.ts),
    )


def _as_dt(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def load_demo_market(db: Session, content: Path) -> dict[str, int]:
    """Generates and stores the demo's bars and ticks; ``content`` is ``content/demo``."""
    cfg = _read(content / "market" / "instruments.yaml")
    customers = _read(content / "customers.yaml").get("customers", [])
    rng = np.random.default_rng(int(cfg["seed"]))
    first, last = date.fromisoformat(str(cfg["from"])), date.fromisoformat(str(cfg["to"]))
    holidays = {date.fromisoformat(str(d)) for d in cfg.get("holidays_cn", [])}
    late = {str(k): v for k, v in (cfg.get("late_settlement") or {}).items()}
    tie_rule = str(cfg.get("tie_rule", "refund"))
    fills: dict[str, list[tuple[datetime, float]]] = defaultdict(list)
    binaries: dict[str, list[dict[str, Any]]] = defaultdict(list)
    last_price: dict[str, float] = {}
    for c in customers:
        for p in c.get("positions", []):
            last_price.setdefault(str(p["symbol"]), float(p["last_price"]))
        for t in c.get("trades", []):
            if t.get("kind") == "binary":
                binaries[str(t["symbol"])].append(t)
            elif t.get("status", "filled") == "filled" and t.get("price") is not None:
                fills[str(t["symbol"])].append((_as_dt(t["at"]), float(t["price"])))
    counts = {"instruments": 0, "bars": 0, "ticks": 0}
    for spec in cfg.get("instruments", []):
        code = str(spec["code"])
        if prices.find_instrument(db, code) is not None:
            continue  # loaded before
        kind, places = spec.get("kind", "stock"), int(spec["places"])
        feed = str(spec.get("feed", ""))
        prices.add_instrument(
            db,
            actor=None,
            code=code,
            name_zh=spec["name_zh"],
            name_en=spec["name_en"],
            kind=kind,
            currency=spec.get("currency", "CNY"),
            price_places=places,
            feed=feed,
        )
        counts["instruments"] += 1
        if kind == "stock":
            counts["bars"] += _stock(
                db, rng, code, spec, first, last, holidays, fills[code], last_price.get(code)
            )
        else:
            b, t = _binary(db, rng, code, spec, first, last, binaries[code], late, tie_rule, feed)
            counts["bars"] += b
            counts["ticks"] += t
    return counts


def _stock(
    db: Session,
    rng: np.random.Generator,
    code: str,
    spec: dict[str, Any],
    first: date,
    last: date,
    holidays: set[date],
    fills: list[tuple[datetime, float]],
    final: float | None,
) -> int:
    places, sigma = int(spec["places"]), float(spec["sigma"])
    fill_days = {f[0].astimezone(SHANGHAI).date() for f in fills}
    days = sorted(set(_days(first, last, weekends=False, holidays=holidays)) | fill_days)
    index = {d: i for i, d in enumerate(days)}
    by_day: dict[date, list[tuple[datetime, float]]] = defaultdict(list)
    for at, price in sorted(fills):
        by_day[at.astimezone(SHANGHAI).date()].append((at, price))
    anchors = {
        index[d]: round(f[0][1] * float(np.exp(rng.normal(0, sigma * 0.3))), places)
        for d, f in by_day.items()
    }
    if final is not None:
        anchors[len(days) - 1] = final
    ts = np.array([to_us(datetime.combine(d, time(9, 30), SHANGHAI)) for d in days], dtype=np.int64)
    d_bars = simulate.daily(
        rng, ts, anchors, sigma=sigma, places=places, volume=float(spec["volume"])
    )
    minute_sets = []
    for d, day_fills in sorted(by_day.items()):
        i = index[d]
        session = _session(d)
        pins: dict[int, float] = {}
        for at, price in day_fills:
            m = int(np.clip(np.searchsorted(session, to_us(at), side="right") - 1, 1, 238))
            pins.setdefault(m, price)
        m_bars = simulate.intraday(
            rng,
            session,
            day_open=float(d_bars.open[i]),
            day_close=float(d_bars.close[i]),
            fills=pins,
            sigma=sigma / np.sqrt(240),
            places=places,
            day_volume=float(d_bars.volume[i]),
        )
        d_bars.high[i] = max(d_bars.high[i], m_bars.high.max())
        d_bars.low[i] = min(d_bars.low[i], m_bars.low.min())
        d_bars.volume[i] = m_bars.volume.sum()
        minute_sets.append(m_bars)
    n = prices.import_bars(db, actor=None, code=code, interval="1d", bars=_bars(d_bars))
    if minute_sets:
        merged = simulate.OHLCV(
            *(
                np.concatenate([getattr(m, f) for m in minute_sets])
                for f in ("ts", "open", "high", "low", "close", "volume")
            )
        )
        n += prices.import_bars(db, actor=None, code=code, interval="1m", bars=_bars(merged))
    return n


def _binary(
    db: Session,
    rng: np.random.Generator,
    code: str,
    spec: dict[str, Any],
    first: date,
    last: date,
    trades: list[dict[str, Any]],
    late: dict[str, Any],
    tie_rule: str,
    feed: str,
) -> tuple[int, int]:
    places, sigma = int(spec["places"]), float(spec["sigma"])
    trade_days = {_as_dt(t["at"]).astimezone(UTC).date() for t in trades}
    days = sorted(
        set(_days(first, last, weekends=bool(spec.get("weekends")), holidays=set())) | trade_days
    )
    index = {d: i for i, d in enumerate(days)}
    anchors = {
        index[_as_dt(t["at"]).astimezone(UTC).date()]: float(t["entry_price"])
        for t in sorted(trades, key=lambda t: str(t["at"]))
    }
    ts = np.array([to_us(datetime.combine(d, time(0, 0), UTC)) for d in days], dtype=np.int64)
    d_bars = simulate.daily(rng, ts, anchors, sigma=sigma, places=places, volume=0.0)
    tick_sets, settled = [], []
    per_tick = sigma / np.sqrt(86_400 / 2.5)
    for t in sorted(trades, key=lambda t: str(t["at"])):
        open_us, expiry_us = to_us(_as_dt(t["at"])), to_us(_as_dt(t["expiry_at"]))
        lt = late.get(str(t["id"]))
        sim = simulate.binary_ticks(
            rng,
            open_us=open_us,
            expiry_us=expiry_us,
            entry=float(t["entry_price"]),
            settle=float(t["settle_price"]),
            places=places,
            sigma=per_tick,
            late_us=int(lt["seconds"]) * 1_000_000 if lt else 0,
            replay_price=float(lt["replay_price"]) if lt else None,
        )
        tick_sets.append(sim)
        settled.append((str(t["id"]), from_us(int(sim.ts[sim.settle_index]))))
    ticks_ts = np.concatenate([s.ts for s in tick_sets]) if tick_sets else np.empty(0, np.int64)
    ticks_px = np.concatenate([s.price for s in tick_sets]) if tick_sets else np.empty(0)
    order = np.argsort(ticks_ts, kind="stable")
    ticks_ts, ticks_px = ticks_ts[order], ticks_px[order]
    keep = np.concatenate([[True], np.diff(ticks_ts) > 0]) if len(ticks_ts) else np.empty(0, bool)
    ticks_ts, ticks_px = ticks_ts[keep], ticks_px[keep]
    m_bars = simulate.aggregate(ticks_ts, ticks_px) if len(ticks_ts) else None
    if m_bars is not None:  # each day's bar spans the ticks of that day
        day_of = np.searchsorted(ts, m_bars.ts, side="right") - 1
        np.maximum.at(d_bars.high, day_of, m_bars.high)
        np.minimum.at(d_bars.low, day_of, m_bars.low)
        np.add.at(d_bars.volume, day_of, m_bars.volume)
    n = prices.import_bars(db, actor=None, code=code, interval="1d", bars=_bars(d_bars))
    n_ticks = 0
    if m_bars is not None:
        n += prices.import_bars(db, actor=None, code=code, interval="1m", bars=_bars(m_bars))
        n_ticks = prices.import_ticks(
            db, actor=None, code=code, feed=feed, ticks=Ticks.of(ticks_ts, ticks_px)
        )
    for ref, tick_at in settled:
        customer_trades.record_settlement(
            db, actor=None, ref=ref, tick_at=tick_at, feed=feed, tie_rule=tie_rule
        )
    return n, n_ticks
