"""The compliance console's review of the desk (for compliance officers and admins):
/compliance/guard (the guard's decisions with their conversations, verdicts, labelled export),
/compliance/audit (the audit log: search, verify, CSV), /compliance/reveals (personal-data
reveals) and /compliance/suitability (product mismatches, insistence and refusals)."""

from __future__ import annotations

from datetime import date
from typing import Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, PlainTextResponse, RedirectResponse, Response

from kefu.compliance import review
from kefu.compliance.models import VERDICTS
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
from kefu.customers import kyc, suitability

router = APIRouter(include_in_schema=False)
#: free-text filters: no control characters (PostgreSQL refuses NUL; a 422 names the field)
PLAIN = r"^[^\x00-\x1f\x7f]*$"


def _caller(request: Request, caller: Caller | None) -> Caller | Response:
    if caller is None:
        return login_redirect(request)
    require(caller.user, "audit.read")
    return caller


def _period(since: date | None = Query(None), until: date | None = Query(None)) -> review.Period:
    return review.Period(since, until)


def _ctx(request: Request, period: review.Period, **filters: Any) -> dict[str, Any]:
    """What every review page shows: its filters, the query string that keeps them."""
    query = {k: v for k, v in filters.items() if v not in (None, "")}
    if period.since:
        query["since"] = period.since.isoformat()
    if period.until:
        query["until"] = period.until.isoformat()
    return {"area": "compliance", "f": filters, "period": period, "qs": urlencode(query)}


@router.get("/compliance/guard", response_class=HTMLResponse)
def guard_page(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    period: review.Period = Depends(_period),
    agent: int | None = Query(None, ge=1, le=2**31 - 1),
    rule: str = Query("", max_length=64, pattern=PLAIN),
    kind: str = Query("", pattern="^(|block|warn|override|report)$"),
    verdict: str = Query("", pattern="^(|none|confirmed|false_positive)$"),
) -> Response:
    c = _caller(request, caller)
    if isinstance(c, Response):
        return c
    lang = language(request)
    events = review.guard_events(
        db,
        viewer=c.user,
        agent_id=agent,
        rule=rule.strip(),
        kind=kind,
        verdict=verdict,
        period=period,
        lang=lang,
    )
    return render(
        request,
        "compliance/guard.html",
        c,
        events=events,
        scores=review.rule_scores(db, viewer=c.user),
        agents=review.staff_choices(db, lang),
        verdicts=VERDICTS,
        can_judge=can(c.user, "guard.review"),
        **_ctx(request, period, agent=agent, rule=rule, kind=kind, verdict=verdict),
    )


@router.post("/compliance/guard/{audit_id}/verdict")
def guard_verdict(
    request: Request,
    audit_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    verdict: str = Form(max_length=16),
    note: str = Form("", max_length=500),
    back: str = Form("", max_length=500),
    csrf: str = Form(""),
) -> Response:
    c = _caller(request, caller)
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    review.set_verdict(db, actor=c.user, audit_id=audit_id, verdict=verdict, note=note)
    query = back if back and not back.startswith(("/", "http")) and "//" not in back else ""
    return RedirectResponse(
        "/compliance/guard" + (f"?{query}" if query else "") + f"#e{audit_id}", status_code=303
    )


@router.get("/compliance/guard/export.jsonl")
def guard_export(request: Request, caller: OptionalCaller, db: DbSession) -> Response:
    """The judged decisions as labelled JSON lines (the blind sets' format)."""
    c = _caller(request, caller)
    if isinstance(c, Response):
        return c
    body = "".join(line + "\n" for line in review.labelled_jsonl(db, viewer=c.user))
    return PlainTextResponse(
        body,
        media_type="application/x-ndjson; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="guard-verdicts.jsonl"'},
    )


def _audit_rows(
    c: Caller, db: DbSession, request: Request, period: review.Period, **f: Any
) -> list[dict[str, Any]]:
    return review.audit_entries(
        db,
        viewer=c.user,
        q=f["q"],
        action_prefix=f["action"],
        actor_id=f["actor"],
        entity=f["entity"],
        entity_id=f["entity_id"],
        period=period,
        lang=language(request),
        limit=f.get("limit", 200),
    )


@router.get("/compliance/audit", response_class=HTMLResponse)
def audit_page(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    period: review.Period = Depends(_period),
    q: str = Query("", max_length=200, pattern=PLAIN),
    action: str = Query("", max_length=64, pattern=PLAIN),
    actor: int | None = Query(None, ge=1, le=2**31 - 1),
    entity: str = Query("", max_length=32, pattern=PLAIN),
    entity_id: str = Query("", max_length=64, pattern=PLAIN),
    verify: bool = Query(False),
) -> Response:
    c = _caller(request, caller)
    if isinstance(c, Response):
        return c
    filters = {"q": q, "action": action, "actor": actor, "entity": entity, "entity_id": entity_id}
    return render(
        request,
        "compliance/audit.html",
        c,
        rows=_audit_rows(c, db, request, period, **filters),
        verified=review.verify_log(db, viewer=c.user) if verify else None,
        agents=review.staff_choices(db, language(request)),
        **_ctx(request, period, **filters),
    )


@router.get("/compliance/audit/export.csv")
def audit_export(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    period: review.Period = Depends(_period),
    q: str = Query("", max_length=200, pattern=PLAIN),
    action: str = Query("", max_length=64, pattern=PLAIN),
    actor: int | None = Query(None, ge=1, le=2**31 - 1),
    entity: str = Query("", max_length=32, pattern=PLAIN),
    entity_id: str = Query("", max_length=64, pattern=PLAIN),
) -> Response:
    c = _caller(request, caller)
    if isinstance(c, Response):
        return c
    rows = _audit_rows(
        c,
        db,
        request,
        period,
        q=q,
        action=action,
        actor=actor,
        entity=entity,
        entity_id=entity_id,
        limit=review.SCAN_LIMIT,
    )
    return PlainTextResponse(
        review.audit_csv(rows),
        media_type="text/csv; charset=utf-8",
        headers={"Content-Disposition": 'attachment; filename="kefu-audit.csv"'},
    )


@router.get("/compliance/reveals", response_class=HTMLResponse)
def reveals_page(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    period: review.Period = Depends(_period),
    actor: int | None = Query(None, ge=1, le=2**31 - 1),
    customer: str = Query("", max_length=64, pattern=PLAIN),
) -> Response:
    c = _caller(request, caller)
    if isinstance(c, Response):
        return c
    lang = language(request)
    rows = review.reveals(
        db, viewer=c.user, actor_id=actor, customer_code=customer, period=period, lang=lang
    )
    return render(
        request,
        "compliance/reveals.html",
        c,
        rows=rows,
        agents=review.staff_choices(db, lang),
        **_ctx(request, period, actor=actor, customer=customer),
    )


@router.get("/compliance/suitability", response_class=HTMLResponse)
def suitability_page(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    period: review.Period = Depends(_period),
    outcome: str = Query("", pattern="^(|mismatch|confirmed|refused)$"),
) -> Response:
    c = _caller(request, caller)
    if isinstance(c, Response):
        return c
    outcomes = (outcome,) if outcome else ("mismatch", "confirmed", "refused")
    rows = suitability.requests_for_review(
        db,
        viewer=c.user,
        outcomes=outcomes,
        since=period.since,
        until=period.until,
        lang=language(request),
    )
    return render(
        request,
        "compliance/suitability.html",
        c,
        rows=rows,
        tasks=kyc.open_tasks(db, viewer=c.user),
        **_ctx(request, period, outcome=outcome),
    )
