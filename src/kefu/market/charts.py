"""Read models of the market context: the chart's data (bars, indicators, trade markers) and the
plain-data views of disputes and corrections the API and the pages share."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

import numpy as np
from sqlalchemy.orm import Session

from kefu.core.security import User
from kefu.customers import trades as customer_trades
from kefu.market import indicators, prices
from kefu.market.disputes import DisputeView
from kefu.market.models import Correction

__all__ = ["CHART_INDICATORS", "chart_data", "correction_dict", "dispute_dict"]

#: what the chart offers: overlays on the price pane, studies in the sub-chart, volume
CHART_INDICATORS = ("MA", "BOLL", "VOL", "MACD", "KDJ", "RSI")


def _floats(a: np.ndarray) -> list[float | None]:
    return [None if np.isnan(v) else float(v) for v in a.tolist()]


def chart_data(
    db: Session,
    *,
    viewer: User,
    symbol: str,
    interval: str,
    style: str,
    start: datetime | None,
    end: datetime | None,
    limit: int,
    customer_id: int | None,
    lang: str,
) -> dict[str, Any]:
    series = prices.bars_of(
        db, viewer=viewer, code=symbol, interval=interval, start=start, end=end, limit=limit
    )
    b, inst = series.bars, series.instrument
    cols = b.columns()
    studies = {
        name: {k: _floats(v) for k, v in indicators.compute(name, cols, style=style).items()}
        for name in CHART_INDICATORS
    }
    markers: list[dict[str, Any]] = []
    if customer_id is not None:
        for t in customer_trades.trades_in(
            db, viewer=viewer, customer_id=customer_id, symbol=symbol
        ):
            markers.append(
                {
                    "ref": t.ref,
                    "at": t.at.isoformat(),
                    "kind": t.kind,
                    "status": t.status,
                    "side": t.side or t.direction,
                    "qty": t.qty,
                    "price": format(t.price or t.entry_price or 0, "f"),
                    "expiry_at": t.expiry_at.isoformat() if t.expiry_at else None,
                    "result": t.result,
                }
            )
    return {
        "symbol": inst.code,
        "name": inst.name_for(lang),
        "kind": inst.kind,
        "currency": inst.currency,
        "price_places": inst.price_places,
        "interval": interval,
        "style": style,
        "ts": list(b.labels),
        "open": b.open.tolist(),
        "high": b.high.tolist(),
        "low": b.low.tolist(),
        "close": b.close.tolist(),
        "volume": b.volume.tolist(),
        "indicators": studies,
        "trades": markers,
    }


def dispute_dict(found: DisputeView | None) -> dict[str, Any] | None:
    if found is None:
        return None
    d, c = found.dispute, found.correction
    return {
        "id": d.id,
        "status": d.status,
        "opened_at": d.opened_at.isoformat(),
        "case_id": d.case_id,
        "matches": d.matches,
        "correction": correction_dict(c) if c is not None else None,
    }


def correction_dict(c: Correction) -> dict[str, Any]:
    return {
        "id": c.id,
        "trade_ref": c.trade_ref,
        "account": c.account_number,
        "currency": c.currency,
        "amount": format(c.amount.quantize(Decimal("0.01")), "f"),
        "status": c.status,
        "requested_at": c.requested_at.isoformat(),
        "decided_at": c.decided_at.isoformat() if c.decided_at else None,
        "note": c.note,
    }
