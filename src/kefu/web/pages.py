"""Server-rendered consoles: customer portal (/), agent desk (/desk), admin (/admin)."""

from __future__ import annotations

import hmac
from datetime import date, datetime
from pathlib import Path
from typing import Any
from urllib.parse import urlencode
from zoneinfo import ZoneInfo

from fastapi import APIRouter, Depends, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from markupsafe import escape
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import audit, i18n
from kefu.core.config import get_settings
from kefu.core.errors import Forbidden, KefuError, NotFound
from kefu.core.security import (
    PERMISSIONS,
    AuthSession,
    Role,
    User,
    authenticate,
    can,
    close_session,
    open_session,
)
from kefu.core.users import create_user, set_role
from kefu.customers import service as customers
from kefu.customers.service import customer_for_user
from kefu.desk import chat, service
from kefu.desk.models import (
    CATEGORIES,
    PRIORITIES,
    AgentProfile,
    BusinessCalendar,
    CannedReply,
    Case,
    CaseStatus,
    CsatSurvey,
    SlaPolicy,
)
from kefu.desk.readmodel import messages_read
from kefu.knowledge import calculators
from kefu.knowledge import service as knowledge
from kefu.web.deps import COOKIE, Caller, get_db, language, optional_caller

router = APIRouter(include_in_schema=False)
templates = Jinja2Templates(directory=str(Path(__file__).with_name("templates")))
STAFF_DESK = ("agent", "supervisor", "compliance", "trainer", "admin")


def _localtime(value: datetime | str | None) -> str:
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(ZoneInfo(get_settings().timezone)).strftime("%m-%d %H:%M")


templates.env.filters["localtime"] = _localtime


def render(request: Request, name: str, caller: Caller | None, **ctx: Any) -> HTMLResponse:
    lang = language(request)
    user = caller.user if caller else None
    csrf = caller.session.csrf_token if caller else ""
    text_keys = (
        "connected",
        "reconnecting",
        "refused",
        "queue",
        "customer_typing",
        "agent_typing",
        "read",
        "sent",
        "chat_ended",
        "blocked",
        "warned",
        "hint",
        "confirm_send",
        "overdue",
        "you",
        "agent",
        "customer",
        "note",
    )
    camel = {
        k: "".join(p.capitalize() if i else p for i, p in enumerate(k.split("_")))
        for k in text_keys
    }
    config = {
        "lang": lang,
        "csrf": csrf,
        "userId": user.id if user else None,
        "role": user.role if user else None,
        "tz": get_settings().timezone,
        "text": {camel[k]: i18n.t(f"ui.{k}", lang) for k in text_keys}
        | {
            "status": {
                k: i18n.t(f"status.{k}", lang)
                for k in ("new", "open", "pending", "on_hold", "resolved", "closed")
            }
        },
    }
    return templates.TemplateResponse(
        request,
        name,
        {
            "t": lambda key, **kw: i18n.t(key, lang, **kw),
            "lang": lang,
            "user": user,
            "csrf": csrf,
            "config": config,
            "categories": CATEGORIES,
            "priorities": PRIORITIES,
            **ctx,
        },
    )


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    page = render(request, "error.html", None, status=status, title=title, detail=detail)
    page.status_code = status
    return page


def _check_form_csrf(caller: Caller, token: str) -> None:
    if not hmac.compare_digest(token or "", caller.session.csrf_token):
        raise Forbidden("the form expired; reload the page and try again")


def _login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)


def _home_for(user: User) -> str:
    if user.role == Role.customer:
        return "/"
    if user.role == Role.admin:
        return "/desk"
    return "/desk"


# --- login / language ---------------------------------------------------------------------


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request,
    next: str = Query("/", max_length=200),
    caller: Caller | None = Depends(optional_caller),
) -> Response:
    if caller is not None:
        return RedirectResponse(_home_for(caller.user), status_code=303)
    return render(request, "login.html", None, next=next, error=None, area="login")


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    username: str = Form(max_length=64),
    password: str = Form(max_length=256),
    next: str = Form("/", max_length=200),
    db: Session = Depends(get_db),
) -> Response:
    ip = request.client.host if request.client else ""
    try:
        user = authenticate(db, username, password, ip=ip)
    except KefuError as exc:
        lang = language(request)
        msg = i18n.t("ui.bad_login", lang) if exc.status == 401 else exc.detail
        page = render(
            request, "login.html", None, next=next, error=msg, username=username, area="login"
        )
        page.status_code = exc.status
        return page
    token, _sess = open_session(db, user)
    audit.record(
        db,
        actor_id=user.id,
        action="auth.login",
        entity="user",
        entity_id=user.id,
        data={"ip": ip, "via": "console"},
    )
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    if target in ("/", "/login"):
        target = _home_for(user)
    resp = RedirectResponse(target, status_code=303)
    s = get_settings()
    resp.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=s.cookie_secure,
        max_age=s.session_hours * 3600,
        path="/",
    )
    resp.set_cookie(
        "kefu_lang", user.language, samesite="lax", path="/", max_age=365 * 86400
    ) if not request.cookies.get("kefu_lang") else None
    return resp


@router.post("/logout")
def logout(
    request: Request,
    csrf: str = Form(""),
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    if caller is not None:
        _check_form_csrf(caller, csrf)
        token = request.cookies.get(COOKIE)
        if token:
            close_session(db, token)
        audit.record(
            db,
            actor_id=caller.user.id,
            action="auth.logout",
            entity="user",
            entity_id=caller.user.id,
        )
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


@router.get("/lang/{code}")
def switch_language(
    code: str,
    next: str = Query("/", max_length=200),
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    lang = i18n.normalise(code)
    target = next if next.startswith("/") and not next.startswith("//") else "/"
    resp = RedirectResponse(target, status_code=303)
    resp.set_cookie("kefu_lang", lang, samesite="lax", path="/", max_age=365 * 86400)
    if caller is not None:
        user = db.get(User, caller.user.id)
        if user is not None:
            user.language = lang
    return resp


# --- customer portal ------------------------------------------------------------------------


@router.get("/", response_class=HTMLResponse)
def portal(
    request: Request,
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    if caller is None:
        return _login_redirect(request)
    if caller.user.role != Role.customer:
        return RedirectResponse("/desk", status_code=303)
    me = customer_for_user(db, caller.user)
    cases = service.list_cases(db, viewer=caller.user, limit=100)
    cases.sort(key=lambda c: c.updated_at, reverse=True)
    return render(request, "portal.html", caller, area="portal", customer=me, cases=cases)


@router.get("/widget", response_class=HTMLResponse)
def widget(
    request: Request,
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    """The embeddable panel: the customer's open chat, or the start form, or the login form."""
    if caller is None:
        return RedirectResponse("/login?" + urlencode({"next": "/widget"}), status_code=303)
    if caller.user.role != Role.customer:
        return RedirectResponse("/desk", status_code=303)
    open_chats = [
        c
        for c in service.list_cases(
            db, viewer=caller.user, channel="chat", status_category="open,pending", limit=1
        )
    ]
    if open_chats:
        return RedirectResponse(f"/cases/{open_chats[0].id}", status_code=303)
    return RedirectResponse("/", status_code=303)


@router.post("/chat/start")
def portal_start_chat(
    request: Request,
    body: str = Form(max_length=10_000),
    category: str = Form("", max_length=16),
    csrf: str = Form(""),
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    if caller is None:
        return _login_redirect(request)
    _check_form_csrf(caller, csrf)
    lang = "en" if language(request) == "en" else "zh"
    case = chat.start_chat(
        db, actor=caller.user, body=body, category=category or None, language=lang
    )
    return RedirectResponse(f"/cases/{case.id}", status_code=303)


@router.get("/cases/{case_id}", response_class=HTMLResponse)
def portal_case(
    request: Request,
    case_id: int,
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    if caller is None:
        return _login_redirect(request)
    if caller.user.role != Role.customer:
        return RedirectResponse(f"/desk/cases/{case_id}", status_code=303)
    case = service.visible_case(db, viewer=caller.user, case_id=case_id)
    msgs = messages_read(db, case, viewer=caller.user, lang=language(request))
    survey = db.scalar(select(CsatSurvey).where(CsatSurvey.case_id == case.id))
    return render(
        request, "portal_case.html", caller, area="portal", case=case, messages=msgs, survey=survey
    )


@router.post("/cases/{case_id}/csat")
def portal_csat(
    request: Request,
    case_id: int,
    score: int = Form(ge=1, le=5),
    comment: str = Form("", max_length=2000),
    csrf: str = Form(""),
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    if caller is None:
        return _login_redirect(request)
    _check_form_csrf(caller, csrf)
    service.submit_csat(db, actor=caller.user, case_id=case_id, score=score, comment=comment)
    return RedirectResponse(f"/cases/{case_id}", status_code=303)


# --- agent desk -----------------------------------------------------------------------------

_VIEWS = {
    "open": {"status_category": "open"},
    "mine": {"status_category": "open,pending", "assignee": "me"},
    "unassigned": {"status_category": "open", "assignee": "none"},
    "pending": {"status_category": "pending"},
    "resolved": {"status_category": "resolved,closed"},
    "all": {},
}


def _queue(
    db: Session, user: User, lang: str, *, view: str, q: str, category: str, priority: str
) -> list[Any]:
    args: dict[str, Any] = dict(_VIEWS.get(view, _VIEWS["open"]))
    cases = service.list_cases(
        db,
        viewer=user,
        q=q or None,
        category=category or None,
        priority=priority or None,
        limit=100,
        **args,
    )
    policies = {p: service.policy_for(db, p) for p in PRIORITIES}
    names = {
        cid: c.name_for(lang)
        for cid, c in customers.customers_by_id(db, {c.customer_id for c in cases}).items()
    }
    agents = {
        u.id: u.name_for(lang)
        for u in db.scalars(
            select(User).where(User.id.in_({c.assignee_id for c in cases if c.assignee_id}))
        )
    }
    out = []
    for c in cases:
        clock = service.sla_view(db, c, policies=policies)
        c.sla_first = clock["first_response"]  # type: ignore[attr-defined]
        c.sla_resolution = clock["resolution"]  # type: ignore[attr-defined]
        c.customer_name = names.get(c.customer_id, "")  # type: ignore[attr-defined]
        c.assignee_name = agents.get(c.assignee_id or 0)  # type: ignore[attr-defined]
        out.append(c)
    return out


def _desk_ctx(
    request: Request,
    caller: Caller,
    db: Session,
    case: Case | None,
    view: str,
    q: str,
    category: str,
    priority: str,
) -> dict[str, Any]:
    lang = language(request)
    user = caller.user
    ctx: dict[str, Any] = {
        "area": "desk",
        "filters": {"view": view, "q": q, "category": category, "priority": priority},
        "qs": urlencode({"view": view, "q": q, "category": category, "priority": priority}),
        "cases": _queue(db, user, lang, view=view, q=q, category=category, priority=priority),
        "current": case,
        "case": case,
        "agent_profile": db.get(AgentProfile, user.id),
    }
    if case is not None:
        ctx["messages"] = messages_read(db, case, viewer=user, lang=lang)
        ctx["sla"] = service.sla_view(db, case)
        ctx["c360"] = customers.customer_360(
            db, viewer=user, customer_id=case.customer_id, lang=lang
        )
        ctx["statuses"] = list(db.scalars(select(CaseStatus).order_by(CaseStatus.position)))
        ctx["canned"] = list(
            db.scalars(select(CannedReply).order_by(CannedReply.category, CannedReply.key))
        )
        assignee = db.get(User, case.assignee_id) if case.assignee_id else None
        ctx["assignee_name"] = assignee.name_for(lang) if assignee else None
        slots = {s.agent_id: s for s in service.agent_slots(db)}
        agent_users = {u.id: u for u in db.scalars(select(User).where(User.id.in_(set(slots))))}
        ctx["agents"] = [
            {
                "user_id": a,
                "name": agent_users[a].name_for(lang),
                "presence": s.presence,
                "open_cases": s.open_cases,
                "capacity": s.capacity,
            }
            for a, s in slots.items()
            if a in agent_users
        ]
        ctx["can_reveal"] = can(user, "pii.reveal")
        ctx["intent"] = knowledge.article_title(db, case.intent, lang) if case.intent else None
    return ctx


def _desk_user(request: Request, caller: Caller | None) -> Caller | Response:
    if caller is None:
        return _login_redirect(request)
    if caller.user.role not in STAFF_DESK:
        return RedirectResponse("/", status_code=303)
    return caller


@router.get("/desk", response_class=HTMLResponse)
def desk(
    request: Request,
    view: str = Query("open", max_length=16),
    q: str = Query("", max_length=200),
    category: str = Query("", max_length=16),
    priority: str = Query("", max_length=8),
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    c = _desk_user(request, caller)
    if isinstance(c, Response):
        return c
    return render(
        request, "desk.html", c, **_desk_ctx(request, c, db, None, view, q, category, priority)
    )


@router.get("/desk/cases/{case_id}", response_class=HTMLResponse)
def desk_case(
    request: Request,
    case_id: int,
    view: str = Query("open", max_length=16),
    q: str = Query("", max_length=200),
    category: str = Query("", max_length=16),
    priority: str = Query("", max_length=8),
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    c = _desk_user(request, caller)
    if isinstance(c, Response):
        return c
    case = service.visible_case(db, viewer=c.user, case_id=case_id)
    return render(
        request, "desk.html", c, **_desk_ctx(request, c, db, case, view, q, category, priority)
    )


@router.get("/desk/queue", response_class=HTMLResponse)
def desk_queue(
    request: Request,
    view: str = Query("open", max_length=16),
    q: str = Query("", max_length=200),
    category: str = Query("", max_length=16),
    priority: str = Query("", max_length=8),
    current: str = Query("", max_length=20),
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    c = _desk_user(request, caller)
    if isinstance(c, Response):
        return HTMLResponse("", status_code=401)
    lang = language(request)
    cur = db.get(Case, int(current)) if current.isdigit() else None
    return templates.TemplateResponse(
        request,
        "_queue.html",
        {
            "t": lambda key, **kw: i18n.t(key, lang, **kw),
            "lang": lang,
            "current": cur,
            "cases": _queue(db, c.user, lang, view=view, q=q, category=category, priority=priority),
            "qs": urlencode({"view": view, "q": q, "category": category, "priority": priority}),
        },
    )


@router.post("/desk/customers/{customer_id}/reveal", response_class=HTMLResponse)
def desk_reveal(
    request: Request,
    customer_id: int,
    field: str = Form(max_length=16),
    reason: str = Form(max_length=200),
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    c = _desk_user(request, caller)
    if isinstance(c, Response):
        return HTMLResponse("", status_code=401)
    _check_form_csrf(c, request.headers.get("x-csrf-token", ""))
    if field not in ("phone", "email", "id_number", "card"):
        raise NotFound(f"unknown field {field!r}")
    value = customers.reveal(
        db,
        actor=c.user,
        customer_id=customer_id,
        field=field,  # type: ignore[arg-type]
        reason=reason,
    )
    return HTMLResponse(f'<strong data-testid="revealed">{escape(value)}</strong>')


@router.get("/desk/calc", response_class=HTMLResponse)
def desk_calc(
    request: Request,
    kind: str = Query("price-limit", max_length=20),
    caller: Caller | None = Depends(optional_caller),
) -> Response:
    """The desk's calculator panel: the same engine as `kefu calc` and /api/v1/calc/{kind}, only
    the fields of the chosen calculator, labels in the agent's language."""
    c = _desk_user(request, caller)
    if isinstance(c, Response):
        return HTMLResponse("", status_code=401)
    lang = language(request)
    params = {k: v for k, v in request.query_params.items() if k != "kind"}
    try:
        data = calculators.compute(kind, params)
    except calculators.CalcError as exc:
        label = i18n.t(f"calc.f_{exc.field}", lang)
        name = label if not label.startswith("calc.") else exc.field
        return HTMLResponse(
            f'<span class="flash error" data-testid="calc-error">{escape(name)}: '
            f"{escape(str(exc))}</span>"
        )
    rows = "".join(
        f"<tr><td>{escape(i18n.t('calc.r_' + k, lang))}</td>"
        f'<td data-result="{escape(k)}">{escape("—" if v is None else str(v))}</td></tr>'
        for k, v in data.items()
    )
    return HTMLResponse(f'<table class="grid">{rows}</table>')


# --- admin ----------------------------------------------------------------------------------


def _admin_user(request: Request, caller: Caller | None) -> Caller | Response:
    if caller is None:
        return _login_redirect(request)
    if caller.user.role not in ("admin", "supervisor"):
        raise Forbidden("the admin console is for admins and supervisors")
    return caller


@router.get("/admin", response_class=HTMLResponse)
def admin(
    request: Request,
    flash: str = Query("", max_length=200),
    kind: str = Query("ok", max_length=8),
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    c = _admin_user(request, caller)
    if isinstance(c, Response):
        return c
    return render(
        request,
        "admin.html",
        c,
        area="admin",
        users=list(db.scalars(select(User).order_by(User.id))),
        roles=list(Role.__members__),
        can_users=can(c.user, "users.manage"),
        policies=list(db.scalars(select(SlaPolicy).order_by(SlaPolicy.id))),
        calendars=list(db.scalars(select(BusinessCalendar).order_by(BusinessCalendar.id))),
        canned=list(db.scalars(select(CannedReply).order_by(CannedReply.key))),
        flash=flash,
        flash_kind="error" if kind == "error" else "ok",
    )


def _admin_action(request: Request, caller: Caller | None, csrf: str, fn: Any) -> Response:
    c = _admin_user(request, caller)
    if isinstance(c, Response):
        return c
    _check_form_csrf(c, csrf)
    try:
        message = fn(c.user)
    except KefuError as exc:
        return RedirectResponse(
            "/admin?" + urlencode({"flash": exc.detail, "kind": "error"}), status_code=303
        )
    return RedirectResponse("/admin?" + urlencode({"flash": message}), status_code=303)


@router.post("/admin/users")
def admin_add_user(
    request: Request,
    username: str = Form(max_length=64),
    role: str = Form(max_length=16),
    password: str = Form(max_length=256),
    display_name: str = Form("", max_length=128),
    csrf: str = Form(""),
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    return _admin_action(
        request,
        caller,
        csrf,
        lambda actor: (
            create_user(
                db,
                actor=actor,
                username=username,
                role=role,
                password=password,
                display_name=display_name,
            )
            and f"added {role} {username}"
        ),
    )


@router.post("/admin/users/{user_id}/role")
def admin_set_role(
    request: Request,
    user_id: int,
    role: str = Form(max_length=16),
    csrf: str = Form(""),
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    return _admin_action(
        request,
        caller,
        csrf,
        lambda actor: (
            set_role(db, actor=actor, user_id=user_id, role=role)
            and f"user {user_id} is now {role}"
        ),
    )


@router.post("/admin/sla/{policy_id}")
def admin_sla(
    request: Request,
    policy_id: int,
    first_response_minutes: int = Form(ge=1),
    resolution_minutes: int = Form(ge=1),
    calendar_id: int = Form(ge=1),
    near_breach_percent: int = Form(80, ge=1, le=99),
    csrf: str = Form(""),
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    return _admin_action(
        request,
        caller,
        csrf,
        lambda actor: (
            service.update_sla_policy(
                db,
                actor=actor,
                policy_id=policy_id,
                first_response_minutes=first_response_minutes,
                resolution_minutes=resolution_minutes,
                calendar_id=calendar_id,
                near_breach_percent=near_breach_percent,
            )
            and "SLA policy saved (applies to new cases and priority changes)"
        ),
    )


@router.post("/admin/calendars/{calendar_id}/days")
def admin_calendar_day(
    request: Request,
    calendar_id: int,
    day: date = Form(),
    kind: str = Form(max_length=8),
    csrf: str = Form(""),
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    return _admin_action(
        request,
        caller,
        csrf,
        lambda actor: (
            service.set_calendar_day(db, actor=actor, calendar_id=calendar_id, day=day, kind=kind)
            and f"{day.isoformat()}: {kind}"
        ),
    )


@router.post("/admin/canned")
def admin_canned(
    request: Request,
    key: str = Form(max_length=64),
    category: str = Form(max_length=16),
    title_zh: str = Form(max_length=128),
    title_en: str = Form(max_length=128),
    body_zh: str = Form(max_length=5000),
    body_en: str = Form(max_length=5000),
    csrf: str = Form(""),
    caller: Caller | None = Depends(optional_caller),
    db: Session = Depends(get_db),
) -> Response:
    return _admin_action(
        request,
        caller,
        csrf,
        lambda actor: (
            service.add_canned(
                db,
                actor=actor,
                key=key,
                category=category,
                title_zh=title_zh,
                title_en=title_en,
                body_zh=body_zh,
                body_en=body_en,
            )
            and f"canned reply {key} added"
        ),
    )


_ = (AuthSession, PERMISSIONS)
