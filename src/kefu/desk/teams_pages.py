"""Teams and escalation in the desk console: the case's escalation panel (escalate, the internal
thread, the team's answer, close), the team queue (/desk/teams) and the supervisor's panel of
escalations by team on the live view. Forms are htmx posts that answer with the re-rendered
panel or card; a refusal is shown in it, in the page's language."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, Response
from sqlalchemy.orm import Session

from kefu.core import i18n
from kefu.core.errors import Conflict, Forbidden, KefuError, NotFound
from kefu.core.http import (
    Caller,
    DbSession,
    Id,
    OptionalCaller,
    check_form_csrf,
    desk_page_caller,
    fragment,
    language,
    render,
)
from kefu.core.security import can, require
from kefu.desk import escalation_reads, escalations, teams

router = APIRouter(include_in_schema=False)


def _error(exc: KefuError, lang: str) -> str:
    kind = (
        "err_forbidden"
        if isinstance(exc, Forbidden)
        else "err_conflict"
        if isinstance(exc, Conflict)
        else "err_not_found"
        if isinstance(exc, NotFound)
        else "err_invalid"
    )
    return f"{i18n.t('teams.' + kind, lang)}: {exc.message(lang)}"


def _caller(request: Request, caller: Caller | None) -> Caller | Response:
    c = desk_page_caller(request, caller)
    return HTMLResponse("", status_code=401) if isinstance(c, Response) else c


def _panel(request: Request, db: Session, c: Caller, case_id: int, error: str = "") -> HTMLResponse:
    lang = language(request)
    return fragment(
        request,
        "desk/_escalation.html",
        case_id=case_id,
        rows=escalation_reads.case_escalations(db, viewer=c.user, case_id=case_id, lang=lang),
        teams=teams.read_teams(db, viewer=c.user, lang=lang),
        may_escalate=can(c.user, "case.update"),
        csrf=c.session.csrf_token,
        error=error,
    )


def _card(
    request: Request, db: Session, c: Caller, escalation_id: int, error: str = ""
) -> HTMLResponse:
    lang = language(request)
    row = escalation_reads.escalation_detail(
        db, viewer=c.user, escalation_id=escalation_id, lang=lang
    )
    return fragment(
        request, "desk/_escalation_card.html", e=row, csrf=c.session.csrf_token, error=error
    )


@router.get("/desk/cases/{case_id}/escalations", response_class=HTMLResponse)
def case_panel(request: Request, case_id: Id, caller: OptionalCaller, db: DbSession) -> Response:
    """The case's escalations with their threads, and the form that escalates it."""
    c = _caller(request, caller)
    if isinstance(c, Response):
        return c
    return _panel(request, db, c, case_id)


@router.post("/desk/cases/{case_id}/escalations", response_class=HTMLResponse)
def escalate(
    request: Request,
    case_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    team_id: int = Form(0, ge=0, le=2**31 - 1),
    note: str = Form("", max_length=10_000),
    csrf: str = Form(""),
) -> Response:
    c = _caller(request, caller)
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    require(c.user, "case.update")
    try:
        escalations.escalate_case(db, actor=c.user, case_id=case_id, team_id=team_id, note=note)
    except KefuError as exc:
        db.rollback()
        return _panel(request, db, c, case_id, _error(exc, language(request)))
    return _panel(request, db, c, case_id)


def _thread_action(
    request: Request,
    caller: Caller | None,
    db: Session,
    escalation_id: int,
    csrf: str,
    fn: Callable[[Caller], Any],
) -> Response:
    c = _caller(request, caller)
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    require(c.user, "escalation.work")
    try:
        fn(c)
    except KefuError as exc:
        db.rollback()
        message = _error(exc, language(request))
        if isinstance(exc, NotFound):
            return HTMLResponse(f'<p class="flash error">{message}</p>', status_code=404)
        return _card(request, db, c, escalation_id, message)
    return _card(request, db, c, escalation_id)


@router.get("/desk/escalations/{escalation_id}", response_class=HTMLResponse)
def card(request: Request, escalation_id: Id, caller: OptionalCaller, db: DbSession) -> Response:
    """One escalation with its thread (the team queue opens it beside the list)."""
    c = _caller(request, caller)
    if isinstance(c, Response):
        return c
    return _card(request, db, c, escalation_id)


@router.post("/desk/escalations/{escalation_id}/messages", response_class=HTMLResponse)
def thread_post(
    request: Request,
    escalation_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    body: str = Form("", max_length=10_000),
    csrf: str = Form(""),
) -> Response:
    return _thread_action(
        request,
        caller,
        db,
        escalation_id,
        csrf,
        lambda c: escalations.post_escalation_message(
            db, actor=c.user, escalation_id=escalation_id, body=body
        ),
    )


@router.post("/desk/escalations/{escalation_id}/answer", response_class=HTMLResponse)
def thread_answer(
    request: Request,
    escalation_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    body: str = Form("", max_length=10_000),
    csrf: str = Form(""),
) -> Response:
    return _thread_action(
        request,
        caller,
        db,
        escalation_id,
        csrf,
        lambda c: escalations.answer_escalation(
            db, actor=c.user, escalation_id=escalation_id, body=body
        ),
    )


@router.post("/desk/escalations/{escalation_id}/close", response_class=HTMLResponse)
def thread_close(
    request: Request,
    escalation_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    csrf: str = Form(""),
) -> Response:
    return _thread_action(
        request,
        caller,
        db,
        escalation_id,
        csrf,
        lambda c: escalations.close_escalation(db, actor=c.user, escalation_id=escalation_id),
    )


@router.get("/desk/teams", response_class=HTMLResponse)
def team_queue_page(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    team_id: int = Query(0, ge=0, le=2**31 - 1),
    status: str = Query("open", max_length=16),
) -> Response:
    """The team queue: the escalations of the agent's teams (or of one team) in OLA order."""
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    lang = language(request)
    manager = can(c.user, "team.manage")
    all_teams = teams.read_teams(db, viewer=c.user, lang=lang, include_inactive=manager)
    mine = {t.id for t in teams.teams_of_user(db, c.user.id)}
    if status not in ("open", "answered", "closed", "all"):
        status = "open"
    rows = escalation_reads.team_queue(
        db, viewer=c.user, lang=lang, team_id=team_id or None, status=status
    )
    return render(
        request,
        "desk/teams.html",
        c,
        area="desk",
        teams=all_teams,
        mine=mine,
        team_id=team_id,
        status=status,
        rows=rows,
        manager=manager,
        staff=teams.desk_staff(db, lang=lang) if manager else [],
    )


@router.get("/desk/live/escalations", response_class=HTMLResponse)
def live_panel(request: Request, caller: OptionalCaller, db: DbSession) -> Response:
    """The supervisor's live panel: escalations by team, open, overdue, late answers."""
    c = _caller(request, caller)
    if isinstance(c, Response):
        return c
    rows = escalation_reads.escalation_summary(db, viewer=c.user, lang=language(request))
    return fragment(request, "desk/_live_escalations.html", rows=rows)
