"""The compliance console's AML pages: /compliance (alerts), /compliance/cases and one case with
its customer's timeline; the officer's forms; the suspicious-transaction report export."""

from __future__ import annotations

import csv
import io
from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kefu.aml import service as aml
from kefu.core.errors import KefuError
from kefu.core.http import (
    Caller,
    DbSession,
    Id,
    OptionalCaller,
    check_form_csrf,
    language,
    login_redirect,
    render,
)
from kefu.core.security import can, require

router = APIRouter(include_in_schema=False)
STATUSES = ("open", "escalated", "closed", "all")


def _officer(request: Request, caller: Caller | None, permission: str) -> Caller | Response:
    """The console's caller: the login page for nobody, 403 without the permission."""
    if caller is None:
        return login_redirect(request)
    require(caller.user, permission)
    return caller


def _alerts_page(
    request: Request,
    caller: Caller | None,
    db: DbSession,
    rule: str,
    status: str,
    customer: str,
    since: str,
) -> Response:
    c = _officer(request, caller, "aml.read")
    if isinstance(c, Response):
        return c
    lang = language(request)
    day: date | None = None
    try:
        day = date.fromisoformat(since) if since else None
    except ValueError:
        day = None
    rule = rule if rule in aml.RULES else ""
    status = status if status in STATUSES else "open"
    rows = aml.alert_list(
        db, viewer=c.user, lang=lang, rule=rule, status=status, customer=customer, since=day
    )
    return render(
        request,
        "compliance/alerts.html",
        c,
        area="compliance",
        section="alerts",
        alerts=rows,
        rules=aml.RULES,
        statuses=STATUSES,
        f={"rule": rule, "status": status, "customer": customer, "since": since},
    )


@router.get("/compliance", response_class=HTMLResponse)
def index(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    rule: str = Query("", max_length=32),
    status: str = Query("open", max_length=16),
    customer: str = Query("", max_length=100),
    since: str = Query("", max_length=10),
) -> Response:
    """The console opens on the open alerts."""
    return _alerts_page(request, caller, db, rule, status, customer, since)


@router.get("/compliance/alerts", response_class=HTMLResponse)
def alerts(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    rule: str = Query("", max_length=32),
    status: str = Query("open", max_length=16),
    customer: str = Query("", max_length=100),
    since: str = Query("", max_length=10),
) -> Response:
    return _alerts_page(request, caller, db, rule, status, customer, since)


@router.get("/compliance/cases", response_class=HTMLResponse)
def cases(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    status: str = Query("open", max_length=16),
    mine: bool = False,
) -> Response:
    c = _officer(request, caller, "aml.read")
    if isinstance(c, Response):
        return c
    status = status if status in STATUSES else "open"
    rows = aml.case_list(db, viewer=c.user, lang=language(request), status=status, mine=mine)
    return render(
        request,
        "compliance/cases.html",
        c,
        area="compliance",
        section="cases",
        cases=rows,
        statuses=STATUSES,
        f={"status": status, "mine": mine},
    )


@router.get("/compliance/cases/{aml_case_id}", response_class=HTMLResponse)
def case(
    request: Request,
    aml_case_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    flash: str = Query("", max_length=300),
    kind: str = Query("ok", max_length=8),
) -> Response:
    c = _officer(request, caller, "aml.read")
    if isinstance(c, Response):
        return c
    view = aml.case_view(db, viewer=c.user, case_id=aml_case_id, lang=language(request))
    return render(
        request,
        "compliance/case.html",
        c,
        area="compliance",
        section="cases",
        v=view,
        rules=aml.RULES,
        officers=aml.compliance_officers(db),
        can_manage=can(c.user, "aml.manage"),
        policy=aml.current_policy(),
        flash=flash,
        flash_kind="error" if kind == "error" else "ok",
    )


def _step(request: Request, caller: Caller | None, case_id: int, csrf: str, run: Any) -> Response:
    """A form of the case page: role and CSRF checks, the action, back to the case with the
    outcome (or the refusal) flashed."""
    c = _officer(request, caller, "aml.manage")
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    where = f"/compliance/cases/{case_id}"
    lang = language(request)
    try:
        run(c)
    except KefuError as exc:
        return RedirectResponse(
            where + "?" + urlencode({"flash": exc.message(lang), "kind": "error"}), status_code=303
        )
    from kefu.core import i18n

    return RedirectResponse(
        where + "?" + urlencode({"flash": i18n.t("aml.saved", lang)}), status_code=303
    )


@router.post("/compliance/cases/{aml_case_id}/assign", response_class=HTMLResponse)
def assign(
    request: Request,
    aml_case_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    assignee_id: int = Form(ge=1, le=2**31 - 1),
    csrf: str = Form("", max_length=100),
) -> Response:
    return _step(
        request,
        caller,
        aml_case_id,
        csrf,
        lambda c: aml.assign(db, actor=c.user, case_id=aml_case_id, assignee_id=assignee_id),
    )


@router.post("/compliance/cases/{aml_case_id}/comment", response_class=HTMLResponse)
def comment(
    request: Request,
    aml_case_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    body: str = Form(max_length=2000),
    csrf: str = Form("", max_length=100),
) -> Response:
    return _step(
        request,
        caller,
        aml_case_id,
        csrf,
        lambda c: aml.add_comment(db, actor=c.user, case_id=aml_case_id, body=body),
    )


@router.post("/compliance/cases/{aml_case_id}/escalate", response_class=HTMLResponse)
def escalate(
    request: Request,
    aml_case_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    reason: str = Form(max_length=2000),
    csrf: str = Form("", max_length=100),
) -> Response:
    return _step(
        request,
        caller,
        aml_case_id,
        csrf,
        lambda c: aml.escalate(db, actor=c.user, case_id=aml_case_id, reason=reason),
    )


@router.post("/compliance/cases/{aml_case_id}/close", response_class=HTMLResponse)
def close(
    request: Request,
    aml_case_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    outcome: str = Form(max_length=20),
    reason: str = Form(max_length=2000),
    csrf: str = Form("", max_length=100),
) -> Response:
    return _step(
        request,
        caller,
        aml_case_id,
        csrf,
        lambda c: aml.close_case(
            db, actor=c.user, case_id=aml_case_id, outcome=outcome, reason=reason
        ),
    )


@router.post("/compliance/cases/{aml_case_id}/snooze", response_class=HTMLResponse)
def snooze(
    request: Request,
    aml_case_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    rule: str = Form(max_length=32),
    days: int = Form(ge=1, le=365),
    reason: str = Form(max_length=500),
    csrf: str = Form("", max_length=100),
) -> Response:
    return _step(
        request,
        caller,
        aml_case_id,
        csrf,
        lambda c: aml.snooze_rule(
            db, actor=c.user, case_id=aml_case_id, rule=rule, days=days, reason=reason
        ),
    )


REPORT_COLUMNS = (
    "case_id",
    "customer_code",
    "customer_name",
    "party_type",
    "id_type",
    "id_number_masked",
    "alert_id",
    "rule",
    "report",
    "direction",
    "alert_amount",
    "currency",
    "transaction",
    "window_start",
    "window_end",
    "due_on",
    "explanation",
    "source",
)


def report_csv(report: dict[str, Any]) -> str:
    """One row per transaction of each alert, with the customer and the deadline."""
    out = io.StringIO()
    w = csv.writer(out)
    w.writerow(REPORT_COLUMNS)
    cu = report["customer"]
    for a in report["alerts"]:
        for ref in a["transactions"]:
            w.writerow(
                [
                    report["case_id"],
                    cu["code"],
                    cu["name"],
                    cu["party_type"],
                    cu["id_type"],
                    cu["id_number"],
                    a["id"],
                    a["rule"],
                    a["report"],
                    a["direction"] or "",
                    a["amount"],
                    a["currency"],
                    ref,
                    a["window_start"],
                    a["window_end"],
                    a["due_on"] or report["suspicious_due_on"] or "",
                    a["explanation"],
                    a["source"],
                ]
            )
    return out.getvalue()


@router.post("/compliance/cases/{aml_case_id}/report", response_class=HTMLResponse)
def report(
    request: Request,
    aml_case_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    format: str = Form("html", pattern="^(html|csv)$"),
    csrf: str = Form("", max_length=100),
) -> Response:
    """The suspicious-transaction report, as CSV or a printable page (the export is audited)."""
    c = _officer(request, caller, "aml.manage")
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    lang = language(request)
    data = aml.export_report(db, actor=c.user, case_id=aml_case_id, lang=lang)
    if format == "csv":
        return Response(
            "\ufeff" + report_csv(data),  # a BOM, so spreadsheet programs read it as UTF-8
            media_type="text/csv; charset=utf-8",
            headers={"content-disposition": f'attachment; filename="str-case-{aml_case_id}.csv"'},
        )
    return render(
        request,
        "compliance/report.html",
        c,
        area="compliance",
        section="cases",
        r=data,
        days=aml.current_policy().report_deadline_working_days,
    )
