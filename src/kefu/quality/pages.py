"""The /quality console for supervisors (and compliance, read only): the dashboard with charts
and drill-down, a case's evaluation with its findings on the messages, the review (override)
and calibration forms, complaint analysis, the periodic agent evaluation, CSV export."""

from __future__ import annotations

import csv
import io
from dataclasses import replace
from datetime import date, datetime, timedelta
from typing import Any, Literal
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kefu.core.config import get_settings
from kefu.core.errors import KefuError
from kefu.core.http import (
    Caller,
    DbSession,
    Id,
    OptionalCaller,
    check_form_csrf,
    fragment,
    language,
    login_redirect,
    render,
)
from kefu.core.security import Role, User, can, role_may_not
from kefu.desk.models import CATEGORIES, CHANNELS
from kefu.identity import service as identity
from kefu.quality import content
from kefu.quality import service as quality
from kefu.quality.scorer import RATINGS, SECTIONS
from kefu.quality.views import Group, Period, filters

router = APIRouter(include_in_schema=False)
FiltersDep = Depends(filters)
METRICS = (
    "qa_avg",
    "qa_pass_rate",
    "csat",
    "frt_minutes",
    "frt_business_minutes",
    "resolution_hours",
    "resolution_business_hours",
    "fr_sla_rate",
    "resolution_sla_rate",
    "reopen_rate",
    "replies_to_resolution",
)


def _today() -> date:
    return datetime.now(ZoneInfo(get_settings().timezone)).date()


#: the window a console page shows when no dates are given: the last twelve weeks
DEFAULT_DAYS = 84


def _window(f: quality.Filters) -> quality.Filters:
    """``f`` with the default window when it names no dates (the JSON API stays explicit)."""
    if f.start is None and f.end is None:
        today = _today()
        return replace(f, start=today - timedelta(days=DEFAULT_DAYS - 1), end=today)
    return f


def _reader(
    request: Request, caller: Caller | None, perm: str = "quality.read"
) -> Caller | Response:
    if caller is None:
        return login_redirect(request)
    if not can(caller.user, perm):
        raise role_may_not(caller.user, perm)
    return caller


def _query(f: quality.Filters, **extra: Any) -> str:
    q: dict[str, Any] = {
        "start": f.start,
        "end": f.end,
        "agent": f.agent_id,
        "category": f.category,
        "channel": f.channel,
        "product": f.product,
        "problem": f.problem,
        "complaints": "true" if f.complaints else None,
    } | extra
    return urlencode({k: v for k, v in q.items() if v not in (None, "")})


def _agents(db: Any) -> list[User]:
    return sorted(
        (u for u in identity.users_by_id(db).values() if u.role in (Role.agent, Role.supervisor)),
        key=lambda u: u.id,
    )


@router.get("/quality", response_class=HTMLResponse)
def dashboard(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    f: quality.Filters = FiltersDep,
    period: Period = "week",
) -> Response:
    c = _reader(request, caller)
    if isinstance(c, Response):
        return c
    user, lang = c.user, language(request)
    f = _window(f)
    agents = _agents(db)
    names = {str(u.id): u.name_for(lang) for u in agents}
    data = {
        "period": period,
        "query": _query(f, period=period),
        "series": {
            "period": quality.breakdown(db, viewer=user, group="period", period=period, filters=f),
            "agent": quality.breakdown(db, viewer=user, group="agent", filters=f),
            "category": quality.breakdown(db, viewer=user, group="category", filters=f),
            "channel": quality.breakdown(db, viewer=user, group="channel", filters=f),
        },
        "names": {"agent": names},
    }
    return render(
        request,
        "quality/dashboard.html",
        c,
        area="quality",
        totals=quality.totals(db, viewer=user, filters=f),
        chart_data=data,
        f=f,
        period=period,
        agents=agents,
        categories=CATEGORIES,
        channels=CHANNELS,
        query=_query(f, period=period),
        calibrations=quality.calibrations(db, viewer=user, limit=10),
        today=_today(),
    )


@router.get("/quality/drill", response_class=HTMLResponse)
def drill_fragment(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    key: str = Query(max_length=32),
    f: quality.Filters = FiltersDep,
    group: Group = "period",
    period: Period = "week",
) -> Response:
    if caller is None or caller.user.role == Role.customer:
        return HTMLResponse("", status_code=401)  # a fragment answers 401, never a redirect
    c = _reader(request, caller)
    assert not isinstance(c, Response)
    rows = quality.drill(db, viewer=c.user, group=group, key=key, period=period, filters=f)
    users = identity.users_by_id(db, [r["agent_id"] for r in rows])
    return fragment(request, "quality/_drill.html", rows=rows, users=users, group=group, key=key)


@router.get("/quality/cases/{case_id}", response_class=HTMLResponse)
def case_page(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    case_id: Id,
    flash: str = Query("", max_length=300),
    kind: str = Query("ok", max_length=8),
) -> Response:
    c = _reader(request, caller)
    if isinstance(c, Response):
        return c
    view = quality.case_view(db, viewer=c.user, case_id=case_id)
    ev = view["evaluation"]
    users = identity.users_by_id(db, [ev.agent_id, ev.overridden_by_id] if ev else [])
    card = content.scorecards().get(ev.scorecard) if ev else None
    return render(
        request,
        "quality/case.html",
        c,
        area="quality",
        view=view,
        ev=ev,
        card=card,
        users=users,
        history=quality.history(db, viewer=c.user, case_id=case_id),
        can_review=can(c.user, "quality.review"),
        sections=SECTIONS,
        flash=flash,
        flash_kind="error" if kind == "error" else "ok",
    )


def _back(path: str, message: str, kind: str = "ok") -> RedirectResponse:
    return RedirectResponse(
        f"{path}?{urlencode({'flash': message[:300], 'kind': kind})}", status_code=303
    )


@router.post("/quality/evaluations/{evaluation_id}/override")
def override_form(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    evaluation_id: Id,
    score: float = Form(ge=0, le=100),
    passed: str = Form(""),
    reason: str = Form("", max_length=2000),
    csrf: str = Form(""),
) -> Response:
    c = _reader(request, caller, "quality.review")
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    lang = language(request)
    row = quality.evaluation(db, viewer=c.user, evaluation_id=evaluation_id)
    path = f"/quality/cases/{row.case_id}"
    try:
        quality.override_evaluation(
            db,
            actor=c.user,
            evaluation_id=evaluation_id,
            score=score,
            passed=passed in ("1", "on", "true"),
            reason=reason,
        )
    except KefuError as exc:
        db.rollback()
        return _back(path, exc.message(lang), "error")
    return _back(path, "override saved" if lang == "en" else "复核结果已保存")


@router.post("/quality/cases/{case_id}/calibrations")
def calibration_form(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    case_id: Id,
    note: str = Form("", max_length=2000),
    csrf: str = Form(""),
) -> Response:
    c = _reader(request, caller, "quality.review")
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    try:
        row = quality.start_calibration(db, actor=c.user, case_id=case_id, note=note)
    except KefuError as exc:
        db.rollback()
        return _back(f"/quality/cases/{case_id}", exc.message(language(request)), "error")
    return RedirectResponse(f"/quality/calibrations/{row.id}", status_code=303)


@router.get("/quality/calibrations/{calibration_id}", response_class=HTMLResponse)
def calibration_page(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    calibration_id: Id,
    flash: str = Query("", max_length=300),
    kind: str = Query("ok", max_length=8),
) -> Response:
    c = _reader(request, caller)
    if isinstance(c, Response):
        return c
    view = quality.calibration_view(db, viewer=c.user, calibration_id=calibration_id)
    mine = next((r for r in view["reviewers"] if r["reviewer_id"] == c.user.id), None)
    return render(
        request,
        "quality/calibration.html",
        c,
        area="quality",
        view=view,
        mine=mine,
        ratings=RATINGS,
        can_review=can(c.user, "quality.review"),
        flash=flash,
        flash_kind="error" if kind == "error" else "ok",
    )


@router.post("/quality/calibrations/{calibration_id}/ratings")
async def rating_form(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    calibration_id: Id,
) -> Response:
    c = _reader(request, caller, "quality.review")
    if isinstance(c, Response):
        return c
    form = await request.form()
    check_form_csrf(c, str(form.get("csrf", "")))
    ratings = {
        str(k)[2:]: str(v) for k, v in form.items() if str(k).startswith("r.") and len(str(k)) < 40
    }
    path = f"/quality/calibrations/{calibration_id}"
    try:
        quality.rate(
            db,
            actor=c.user,
            calibration_id=calibration_id,
            ratings=ratings,
            note=str(form.get("note", ""))[:2000],
        )
    except KefuError as exc:
        db.rollback()
        return _back(path, exc.message(language(request)), "error")
    return _back(path, "ratings saved" if language(request) == "en" else "评分已保存")


@router.get("/quality/complaints", response_class=HTMLResponse)
def complaints_page(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    f: quality.Filters = FiltersDep,
    period: Period = "week",
) -> Response:
    c = _reader(request, caller)
    if isinstance(c, Response):
        return c
    f = _window(f)
    data = quality.complaint_analysis(db, viewer=c.user, filters=f, period=period)
    return render(
        request,
        "quality/complaints.html",
        c,
        area="quality",
        data=data,
        chart_data={"trend": data["trend"], "problems": data["problems"]},
        f=f,
        period=period,
        query=_query(f, period=period),
    )


@router.get("/quality/agents/{user_id}", response_class=HTMLResponse)
def agent_page(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    user_id: Id,
    period: Literal["week", "month"] = "week",
    on: date | None = None,
) -> Response:
    c = _reader(request, caller)
    if isinstance(c, Response):
        return c
    report = quality.agent_report(
        db, viewer=c.user, agent_id=user_id, period=period, on=on or _today()
    )
    return render(
        request,
        "quality/agent.html",
        c,
        area="quality",
        r=report,
        period=period,
        on=on or _today(),
        chart_data={"days": report["days"]},
        agents=_agents(db),
    )


@router.get("/quality/export.csv")
def export_csv(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    f: quality.Filters = FiltersDep,
    group: Group = "period",
    period: Period = "week",
) -> Response:
    c = _reader(request, caller)
    if isinstance(c, Response):
        return c
    rows = quality.breakdown(db, viewer=c.user, group=group, period=period, filters=f)
    out = io.StringIO()
    cols = ["key", "cases", *METRICS, "auto_fails", "csat_responses", "complaints", "compliance"]
    w = csv.DictWriter(out, fieldnames=cols, extrasaction="ignore", lineterminator="\n")
    w.writeheader()
    for r in rows:
        w.writerow(r)
    name = f"quality-{group}-{period}.csv"
    return Response(
        "\ufeff" + out.getvalue(),  # a BOM: spreadsheet programs read the UTF-8 as such
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": f'attachment; filename="{name}"'},
    )
