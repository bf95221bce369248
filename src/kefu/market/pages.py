"""The market's desk pages: the instrument chart, the replay/dispute panel of the 360° view, and the
supervisors' corrections."""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kefu.core.config import get_settings
from kefu.core.errors import KefuError
from kefu.core.http import (
    DbSession,
    OptionalCaller,
    check_form_csrf,
    desk_page_caller,
    fragment,
    language,
    render,
)
from kefu.core.security import can, require
from kefu.market import disputes, prices
from kefu.market.charts import dispute_dict
from kefu.market.views import Ref, RowId

router = APIRouter(include_in_schema=False)
IntId = Query(None, ge=1, le=2**31 - 1)


@router.get("/desk/market/chart", response_class=HTMLResponse)
def chart_page(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    symbol: str = Query(min_length=1, max_length=16),
    customer: int | None = IntId,
    interval: str = Query("1d", pattern="^(1d|1m)$"),
    style: str = Query("tdx", pattern="^(tdx|talib)$"),
    start: datetime | None = None,
    end: datetime | None = None,
    focus: str | None = Query(None, max_length=32),
) -> Response:
    """A candlestick chart with volume, overlays and a sub-chart; the customer's trades marked."""
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    inst = prices.get_instrument(db, viewer=c.user, code=symbol)
    chart = {
        "symbol": inst.code,
        "customer": customer,
        "interval": interval,
        "style": style,
        "start": start.isoformat() if start else None,
        "end": end.isoformat() if end else None,
        "focus": focus,
        "lang": language(request),
    }
    return render(
        request,
        "market/chart.html",
        c,
        area="desk",
        instrument=inst,
        inst_name=inst.name_for(language(request)),
        chart=chart,
    )


def _panel(
    request: Request, db: Any, user: Any, ref: str, case: int | None, draft: bool
) -> HTMLResponse:
    view = disputes.replay_trade(db, viewer=user, ref=ref)
    found = disputes.dispute_of(db, viewer=user, ref=ref)
    t, r = view.trade, view.replay
    chart = {
        "ticks": view.chart,
        "strike": format(t.entry_price or 0, "f"),
        "open_ts": t.at.isoformat(),
        "expiry_ts": t.expiry_at.isoformat() if t.expiry_at else None,
        "settle_ts": r.expiry_tick_ts.isoformat(),
        "settle_price": format(r.expiry_price, "f"),
        "recorded_ts": t.settle_tick_at.isoformat() if t.settle_tick_at else None,
        "recorded_price": format(t.settle_price, "f") if t.settle_price else None,
        "direction": view.direction,
    }
    reply = disputes.draft(view, t.customer_language) if (found and draft) else None
    tz = ZoneInfo(get_settings().timezone)

    def local(moment: datetime | None) -> str | None:
        return moment.astimezone(tz).strftime("%Y-%m-%d %H:%M:%S") if moment else None

    times = {
        "open": local(t.at),
        "expiry": local(t.expiry_at),
        "settle": local(r.expiry_tick_ts),
        "recorded": local(t.settle_tick_at),
    }
    return fragment(
        request,
        "market/_trade_panel.html",
        view=view,
        data=view.as_dict(),
        dispute=dispute_dict(found),
        chart=chart,
        case=case,
        reply=reply,
        times=times,
        minute_chart={
            "symbol": t.symbol,
            "customer": t.customer_id,
            "interval": "1m",
            "start": (t.at - timedelta(hours=1)).isoformat(),
            "end": ((t.expiry_at or t.at) + timedelta(hours=1)).isoformat(),
            "focus": t.ref,
        },
        can_dispute=can(user, "market.dispute"),
    )


@router.get("/desk/market/trades/{ref}", response_class=HTMLResponse)
def trade_panel(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    ref: str = Ref,
    case: int | None = IntId,
) -> Response:
    """The replay of a binary-option record beside the recorded result (a read)."""
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return HTMLResponse("", status_code=401)
    return _panel(request, db, c.user, ref, case, draft=True)


@router.post("/desk/market/trades/{ref}/dispute", response_class=HTMLResponse)
def open_dispute(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    ref: str = Ref,
    case_id: int | None = Form(None, ge=1, le=2**31 - 1),
) -> Response:
    """Opens the dispute (a mismatch opens a correction) and shows the drafted reply."""
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return HTMLResponse("", status_code=401)
    check_form_csrf(c, request.headers.get("x-csrf-token", ""))
    disputes.open_dispute(db, actor=c.user, ref=ref, case_id=case_id)
    return _panel(request, db, c.user, ref, case_id, draft=True)


@router.get("/desk/market/corrections", response_class=HTMLResponse)
def corrections_page(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    flash: str | None = Query(None, max_length=300),
    kind: str = Query("ok", pattern="^(ok|error)$"),
) -> Response:
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    require(c.user, "market.correct")
    rows = disputes.corrections(db, viewer=c.user, status=None)
    return render(
        request,
        "market/corrections.html",
        c,
        area="corrections",
        rows=rows,
        flash=flash,
        flash_kind=kind,
    )


@router.post("/desk/market/corrections/{correction_id}")
def decide_page(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    correction_id: int = RowId,
    decision: str = Form(pattern="^(approve|reject)$"),
    note: str = Form("", max_length=500),
    csrf: str = Form(""),
) -> Response:
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    require(c.user, "market.correct")
    try:
        disputes.decide_correction(
            db,
            actor=c.user,
            correction_id=correction_id,
            decision="approve" if decision == "approve" else "reject",
            note=note,
        )
        query = {"flash": f"#{correction_id}: {decision}d", "kind": "ok"}
    except KefuError as exc:
        if exc.status in (401, 403, 404):
            raise
        query = {"flash": exc.message(language(request)), "kind": "error"}
    return RedirectResponse("/desk/market/corrections?" + urlencode(query), status_code=303)
