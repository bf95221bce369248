"""Price data: instruments, bar and tick imports (one transaction each), and the reads the charts
and the replay use."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from typing import cast

import numpy as np
from sqlalchemy import ColumnElement, Table, func, insert, select
from sqlalchemy.orm import InstrumentedAttribute, Session

from kefu.core import audit
from kefu.core.actions import action
from kefu.core.errors import NotFound, ValidationFailed
from kefu.core.security import User, require
from kefu.market.audit import MarketAudit
from kefu.market.models import INSTRUMENT_KINDS, INTERVALS, Bar, Instrument, Tick
from kefu.market.series import Bars, Ticks, from_us, to_us

__all__ = [
    "BarSeries",
    "add_instrument",
    "bars_of",
    "find_instrument",
    "get_instrument",
    "import_bars",
    "import_ticks",
    "instruments",
    "ticks_of",
]


def _dec(value: float) -> Decimal:
    return Decimal(repr(float(value)))


def instruments(db: Session, *, viewer: User) -> list[Instrument]:
    require(viewer, "market.read")
    return list(db.scalars(select(Instrument).order_by(Instrument.kind, Instrument.code)))


def find_instrument(db: Session, code: str) -> Instrument | None:
    """An instrument by code, or None (loaders; no permission check)."""
    return db.scalar(select(Instrument).where(Instrument.code == code))


def get_instrument(db: Session, *, viewer: User | None, code: str) -> Instrument:
    """An instrument by code (``viewer`` None: a loader or the CLI, no permission check)."""
    if viewer is not None:
        require(viewer, "market.read")
    row = db.scalar(select(Instrument).where(Instrument.code == code))
    if row is None:
        raise NotFound(key="market.errors.instrument_missing", params={"code": repr(code)})
    return row


@action
def add_instrument(
    db: Session,
    *,
    actor: User | None,
    code: str,
    name_zh: str = "",
    name_en: str = "",
    kind: str = "stock",
    currency: str = "CNY",
    price_places: int = 2,
    feed: str = "",
) -> Instrument:
    if kind not in INSTRUMENT_KINDS:
        raise ValidationFailed(f"kind must be one of {', '.join(INSTRUMENT_KINDS)}")
    if not code.strip() or len(code) > 16:
        raise ValidationFailed("an instrument code has 1 to 16 characters")
    if db.scalar(select(Instrument.id).where(Instrument.code == code)) is not None:
        raise ValidationFailed(f"instrument {code!r} already exists")
    row = Instrument(
        code=code,
        name_zh=name_zh or code,
        name_en=name_en or code,
        kind=kind,
        currency=currency,
        price_places=price_places,
        feed=feed,
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=MarketAudit.instrument_add,
        entity="instrument",
        entity_id=row.id,
        data={"code": code, "kind": kind, "feed": feed},
    )
    return row


def _clash(
    db: Session,
    column: InstrumentedAttribute[datetime],
    filters: list[ColumnElement[bool]],
    ts: np.ndarray,
) -> int | None:
    """Index of the first new timestamp already stored (None when none is)."""
    lo, hi = from_us(int(ts[0])), from_us(int(ts[-1]))
    stored = db.scalars(select(column).where(*filters, column >= lo, column <= hi))
    have = np.array(sorted(to_us(t) for t in stored), dtype=np.int64)
    if not len(have):
        return None
    hit = np.flatnonzero(np.isin(ts, have))
    return int(hit[0]) if len(hit) else None


@action
def import_bars(db: Session, *, actor: User | None, code: str, interval: str, bars: Bars) -> int:
    """Stores checked bars for an instrument; a bar already stored refuses the whole file."""
    if interval not in INTERVALS:
        raise ValidationFailed(f"interval must be one of {', '.join(INTERVALS)}")
    inst = get_instrument(db, viewer=None, code=code)
    clash = _clash(db, Bar.ts, [Bar.instrument_id == inst.id, Bar.interval == interval], bars.ts)
    if clash is not None:
        raise ValidationFailed(
            f"line {clash + 2}: a {interval} bar at {bars.labels[clash]} is already stored for "
            f"{code}; nothing was imported"
        )
    rows = [
        {
            "instrument_id": inst.id,
            "interval": interval,
            "ts": from_us(int(bars.ts[i])),
            "open": _dec(bars.open[i]),
            "high": _dec(bars.high[i]),
            "low": _dec(bars.low[i]),
            "close": _dec(bars.close[i]),
            "volume": _dec(bars.volume[i]),
        }
        for i in range(len(bars))
    ]
    db.execute(insert(cast(Table, Bar.__table__)), rows)
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=MarketAudit.bars_import,
        entity="instrument",
        entity_id=inst.id,
        data={
            "code": code,
            "interval": interval,
            "count": len(rows),
            "from": from_us(int(bars.ts[0])).isoformat(),
            "to": from_us(int(bars.ts[-1])).isoformat(),
        },
    )
    return len(rows)


@action
def import_ticks(db: Session, *, actor: User | None, code: str, feed: str, ticks: Ticks) -> int:
    """Stores checked ticks of one feed; a tick already stored refuses the whole file."""
    if not feed.strip() or len(feed) > 32:
        raise ValidationFailed("a feed name has 1 to 32 characters")
    inst = get_instrument(db, viewer=None, code=code)
    clash = _clash(db, Tick.ts, [Tick.instrument_id == inst.id, Tick.feed == feed], ticks.ts)
    if clash is not None:
        raise ValidationFailed(
            f"line {clash + 2}: a {feed} tick at {from_us(int(ticks.ts[clash])).isoformat()} is "
            f"already stored for {code}; nothing was imported"
        )
    rows = [
        {
            "instrument_id": inst.id,
            "feed": feed,
            "ts": from_us(int(ticks.ts[i])),
            "price": _dec(ticks.price[i]),
        }
        for i in range(len(ticks))
    ]
    db.execute(insert(cast(Table, Tick.__table__)), rows)
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=MarketAudit.ticks_import,
        entity="instrument",
        entity_id=inst.id,
        data={
            "code": code,
            "feed": feed,
            "count": len(rows),
            "from": from_us(int(ticks.ts[0])).isoformat(),
            "to": from_us(int(ticks.ts[-1])).isoformat(),
        },
    )
    return len(rows)


@dataclass(frozen=True)
class BarSeries:
    instrument: Instrument
    interval: str
    bars: Bars


def bars_of(
    db: Session,
    *,
    viewer: User,
    code: str,
    interval: str = "1d",
    start: datetime | None = None,
    end: datetime | None = None,
    limit: int = 5000,
) -> BarSeries:
    """The stored bars of an instrument in time order (the latest ``limit`` within the range)."""
    inst = get_instrument(db, viewer=viewer, code=code)
    if interval not in INTERVALS:
        raise ValidationFailed(
            key="market.errors.interval", params={"choices": ", ".join(INTERVALS)}
        )
    stmt = select(Bar).where(Bar.instrument_id == inst.id, Bar.interval == interval)
    if start is not None:
        stmt = stmt.where(Bar.ts >= start)
    if end is not None:
        stmt = stmt.where(Bar.ts <= end)
    rows = list(db.scalars(stmt.order_by(Bar.ts.desc()).limit(limit)))[::-1]
    arr = {
        k: np.array([float(getattr(r, k)) for r in rows], dtype=np.float64)
        for k in ("open", "high", "low", "close", "volume")
    }
    ts = np.array([to_us(r.ts) for r in rows], dtype=np.int64)
    labels = tuple(r.ts.isoformat() for r in rows)
    return BarSeries(
        inst,
        interval,
        Bars(ts, arr["open"], arr["high"], arr["low"], arr["close"], arr["volume"], labels),
    )


def ticks_of(db: Session, *, code: str, feed: str, start: datetime, end: datetime) -> Ticks | None:
    """The stored ticks of one feed between two times (None when there are none). No permission
    check: callers (the replay) check their viewer first."""
    inst = get_instrument(db, viewer=None, code=code)
    rows = db.execute(
        select(Tick.ts, Tick.price)
        .where(Tick.instrument_id == inst.id, Tick.feed == feed, Tick.ts >= start, Tick.ts <= end)
        .order_by(Tick.ts)
    ).all()
    if not rows:
        return None
    return Ticks.of([to_us(r[0]) for r in rows], [float(r[1]) for r in rows])


def count_bars(db: Session, code: str) -> int:
    inst = get_instrument(db, viewer=None, code=code)
    return int(db.scalar(select(func.count(Bar.id)).where(Bar.instrument_id == inst.id)) or 0)
