"""The desk's HTML routes: the customer portal (/), the chat widget and the agent desk (/desk)
with its fragments. The admin console's desk part is ``admin_pages``."""

from __future__ import annotations

import re
from typing import Annotated, Any
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from sqlalchemy.orm import Session

from kefu.aml import service as aml
from kefu.core import i18n
from kefu.core.http import (
    Caller,
    DbSession,
    Id,
    OptionalCaller,
    check_form_csrf,
    desk_page_caller,
    fragment,
    language,
    login_redirect,
    render,
)
from kefu.core.security import Role, can
from kefu.customers import service as customers
from kefu.desk import chat, escalation_reads, overview, queries, readmodel, views_pages
from kefu.desk import service as desk
from kefu.desk.models import CATEGORIES, PRIORITIES, Case
from kefu.desk.readmodel import messages_read
from kefu.identity import service as identity
from kefu.knowledge import service as knowledge

router = APIRouter(include_in_schema=False)
#: the choice lists of the case forms
CHOICES = {"categories": CATEGORIES, "priorities": PRIORITIES}


# --- customer portal ------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def portal(request: Request, caller: OptionalCaller, db: DbSession) -> Response:
    if caller is None:
        return login_redirect(request)
    if caller.user.role != Role.customer:
        return RedirectResponse("/desk", status_code=303)
    me = customers.customer_for_user(db, caller.user)
    cases = desk.list_cases(db, viewer=caller.user, limit=100)
    cases.sort(key=lambda c: c.updated_at, reverse=True)
    return render(
        request, "portal/portal.html", caller, area="portal", customer=me, cases=cases, **CHOICES
    )


@router.get("/widget", response_class=HTMLResponse)
def widget(request: Request, caller: OptionalCaller, db: DbSession) -> Response:
    """The embeddable panel: the customer's open chat, or the start form, or the login form."""
    if caller is None:
        return RedirectResponse("/login?" + urlencode({"next": "/widget"}), status_code=303)
    if caller.user.role != Role.customer:
        return RedirectResponse("/desk", status_code=303)
    open_chats = desk.list_cases(
        db, viewer=caller.user, channel="chat", status_category="open,pending", limit=1
    )
    if open_chats:
        return RedirectResponse(f"/cases/{open_chats[0].id}", status_code=303)
    return RedirectResponse("/", status_code=303)


@router.post("/chat/start")
def portal_start_chat(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    body: str = Form(max_length=10_000),
    category: str = Form("", max_length=16),
    csrf: str = Form(""),
) -> Response:
    if caller is None:
        return login_redirect(request)
    check_form_csrf(caller, csrf)
    lang = "en" if language(request) == "en" else "zh"
    case = chat.start_chat(
        db, actor=caller.user, body=body, category=category or None, language=lang
    )
    return RedirectResponse(f"/cases/{case.id}", status_code=303)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def portal_case(request: Request, case_id: Id, caller: OptionalCaller, db: DbSession) -> Response:
    if caller is None:
        return login_redirect(request)
    if caller.user.role != Role.customer:
        return RedirectResponse(f"/desk/cases/{case_id}", status_code=303)
    case = desk.visible_case(db, viewer=caller.user, case_id=case_id)
    if case.merged_into_id is not None:  # merged (kefu.desk.merge): the matter goes on there
        return RedirectResponse(f"/cases/{case.merged_into_id}", status_code=303)
    msgs = messages_read(db, case, viewer=caller.user, lang=language(request))
    return render(
        request,
        "portal/portal_case.html",
        caller,
        area="portal",
        case=case,
        messages=msgs,
        survey=desk.survey_of(db, case.id),
        escalation_status=escalation_reads.customer_status(
            db, viewer=caller.user, case_id=case.id, lang=language(request)
        ),
        attach_mb=desk.file_policy().max_bytes // (1024 * 1024),
        **CHOICES,
    )


@router.post("/cases/{case_id}/csat")
def portal_csat(
    request: Request,
    case_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    score: int = Form(ge=1, le=5),
    comment: str = Form("", max_length=2000),
    csrf: str = Form(""),
) -> Response:
    if caller is None:
        return login_redirect(request)
    check_form_csrf(caller, csrf)
    desk.submit_csat(db, actor=caller.user, case_id=case_id, score=score, comment=comment)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


# --- agent desk -----------------------------------------------------------------------------


def _filters(
    view: str = Query("open", max_length=16),
    q: str = Query("", max_length=200),
    category: str = Query("", max_length=16),
    priority: str = Query("", max_length=8),
    tag: str = Query("", max_length=64),
    assignee: str = Query("", max_length=20),
    channel: str = Query("", max_length=8),
    status: str = Query("", max_length=32),
    customer: str = Query("", max_length=100),
    created_from: str = Query("", max_length=10),
    created_to: str = Query("", max_length=10),
    sort: str = Query("", max_length=8),
    saved: str = Query("", max_length=12),
) -> dict[str, Any]:
    """The queue's filters, shared by the desk page, a case in it and the queue fragment."""
    more = {
        "assignee": assignee,
        "channel": channel,
        "status": status,
        "customer": customer,
        "created_from": created_from,
        "created_to": created_to,
        "sort": sort,
        "saved": saved,
    }
    base = {"view": view, "q": q, "category": category, "priority": priority, "tag": tag}
    return base | {k: v for k, v in more.items() if v}


QueueFilters = Annotated[dict[str, Any], Depends(_filters)]


def _desk_ctx(
    request: Request, caller: Caller, db: Session, case: Case | None, filters: dict[str, Any]
) -> dict[str, Any]:
    lang = language(request)
    user = caller.user
    ctx: dict[str, Any] = {
        "area": "desk",
        "filters": filters,
        "qs": urlencode(filters),
        "cases": queries.queue(db, viewer=user, lang=lang, **filters),
        "current": case,
        "case": case,
        "agent_profile": queries.agent_profile(db, user.id),
        "can_live": can(user, "case.assign"),
        # tags and bulk work need case.update (read-only roles see neither control)
        "bulk": can(user, "case.update"),
        **CHOICES,
        **views_pages.desk_context(db, user, lang, filters, case),
    }
    if ctx["bulk"]:
        ctx["bulk_statuses"] = desk.list_statuses(db)
        ctx["bulk_agents"] = (
            queries.agents_with_presence(db, lang=lang) if can(user, "case.assign") else []
        )
    if case is not None:
        ctx["messages"] = messages_read(db, case, viewer=user, lang=lang)
        ctx["transcript"] = readmodel.transcript_for(case, viewer=user)
        ctx["sla"] = desk.sla_view(db, case)
        ctx["c360"] = customers.customer_360(
            db, viewer=user, customer_id=case.customer_id, lang=lang
        )
        ctx["statuses"] = desk.list_statuses(db)
        ctx["canned"] = desk.list_canned(db)
        ctx["macros"] = desk.list_macros(db, viewer=user) if can(user, "macro.use") else []
        ctx["attach_mb"] = desk.file_policy().max_bytes // (1024 * 1024)
        ctx["assignee_name"] = identity.user_name(db, case.assignee_id, lang)
        ctx["agents"] = queries.agents_with_presence(db, lang=lang)
        ctx["can_reveal"] = can(user, "pii.reveal")
        # read-only roles (compliance, trainer) see no reply box nor case controls
        ctx["can_reply"] = can(user, "message.reply")
        # a neutral flag only: the desk never learns of an AML alert (no tipping off)
        ctx["attention"] = aml.attention(db, case.customer_id)
        ctx["intent"] = knowledge.article_title(db, case.intent, lang) if case.intent else None
    return ctx


@router.get("/desk", response_class=HTMLResponse)
def desk_page(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    filters: QueueFilters,
) -> Response:
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    ctx = _desk_ctx(request, c, db, None, filters)
    return render(request, "desk/desk.html", c, **ctx)


@router.get("/desk/cases/{case_id}", response_class=HTMLResponse)
def desk_case(
    request: Request,
    case_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    filters: QueueFilters,
) -> Response:
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    case = desk.visible_case(db, viewer=c.user, case_id=case_id)
    ctx = _desk_ctx(request, c, db, case, filters)
    return render(request, "desk/desk.html", c, **ctx)


@router.get("/desk/macros", response_class=HTMLResponse)
def desk_macros(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    q: str = Query("", max_length=100),
) -> Response:
    """The macros an agent may apply: the shared ones and their own, with the form that adds or
    edits one (through the JSON API)."""
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    rows = desk.list_macros(db, viewer=c.user, q=q)
    return render(
        request,
        "desk/macros.html",
        c,
        area="desk",
        macros=[desk.macro_out(m) for m in rows],
        q=q,
        statuses=desk.list_statuses(db),
        may_share=can(c.user, "canned.manage"),
        **CHOICES,
    )


@router.get("/desk/customers", response_class=HTMLResponse)
def desk_customers(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    q: str = Query("", max_length=100),
) -> Response:
    """The customer list: search by name, code, account, or phone / ID number (whole)."""
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    rows = overview.customer_list(db, viewer=c.user, q=q, lang=language(request))
    return render(request, "desk/customers.html", c, area="desk", rows=rows, q=q)


@router.get("/desk/customers/{customer_id}", response_class=HTMLResponse)
def desk_customer(
    request: Request, customer_id: Id, caller: OptionalCaller, db: DbSession
) -> Response:
    """One customer: the 360° view (accounts, positions, trades, transfers, KYC; personal data
    masked, revealed on record) and all their cases."""
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    lang = language(request)
    c360 = customers.customer_360(db, viewer=c.user, customer_id=customer_id, lang=lang)
    cases = overview.customer_cases(db, viewer=c.user, customer_id=customer_id)
    return render(
        request,
        "desk/customer.html",
        c,
        area="desk",
        c360=c360,
        cases=readmodel.cases_read(db, cases, viewer=c.user, lang=lang),
        can_reveal=can(c.user, "pii.reveal"),
    )


@router.get("/desk/live", response_class=HTMLResponse)
def desk_live(request: Request, caller: OptionalCaller, db: DbSession) -> Response:
    """The supervisor's live view; its board refreshes itself every 10 seconds."""
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    board = overview.live_view(db, viewer=c.user, lang=language(request))
    return render(request, "desk/live.html", c, area="desk", board=board)


@router.get("/desk/live/board", response_class=HTMLResponse)
def desk_live_board(request: Request, caller: OptionalCaller, db: DbSession) -> Response:
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return HTMLResponse("", status_code=401)
    board = overview.live_view(db, viewer=c.user, lang=language(request))
    return fragment(request, "desk/_live_board.html", board=board, user=c.user)


@router.get("/desk/queue", response_class=HTMLResponse)
def desk_queue(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    filters: QueueFilters,
    current: str = Query("", max_length=20),
) -> Response:
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return HTMLResponse("", status_code=401)
    return fragment(
        request,
        "desk/_queue.html",
        current=queries.case_or_none(db, int(current))
        if re.fullmatch(r"[0-9]{1,18}", current)
        else None,
        cases=queries.queue(db, viewer=c.user, lang=language(request), **filters),
        qs=urlencode(filters),
        bulk=can(c.user, "case.update"),
    )


@router.get("/desk/calc", response_class=HTMLResponse)
def desk_calc(
    request: Request,
    caller: OptionalCaller,
    kind: str = Query("price-limit", max_length=20),
) -> Response:
    """The desk's calculator panel: the same engine as `kefu calc` and /api/v1/calc/{kind}, only
    the fields of the chosen calculator, labels in the agent's language."""
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return HTMLResponse("", status_code=401)
    params = {k: v for k, v in request.query_params.items() if k != "kind"}
    try:
        data = knowledge.calculate(kind, params)
    except knowledge.CalcError as exc:
        lang = language(request)
        label = i18n.t(f"calc.f_{exc.field}", lang)
        name = label if not label.startswith("calc.") else exc.field
        error = i18n.t(f"calc.e_{exc.key}", lang, **exc.params) if exc.key else str(exc)
        return fragment(request, "desk/_calc.html", error=error, field=name, kind=kind)
    return fragment(request, "desk/_calc.html", error=None, result=data, kind=kind)


@router.get("/desk/cases/{case_id}/kb", response_class=HTMLResponse)
def desk_kb(request: Request, caller: OptionalCaller, db: DbSession, case_id: Id) -> Response:
    """The knowledge panel: the articles that answer what the customer said last."""
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return HTMLResponse("", status_code=401)
    case = desk.visible_case(db, viewer=c.user, case_id=case_id)
    text = desk.last_customer_text(case)
    lang = language(request)
    hits = knowledge.suggest(db, text, top=3, lang=lang)
    return fragment(
        request,
        "partials/kb_results.html",
        searched=bool(text.strip()),
        hits=hits,
        # "insert" puts the whole answer in the reply, in the case's language
        answers=knowledge.article_answers(
            db, [h.slug for h in hits], "en" if case.language == "en" else "zh"
        ),
        insert=can(c.user, "message.reply"),  # read-only roles have no reply to insert into
        case_id=case.id,
    )
