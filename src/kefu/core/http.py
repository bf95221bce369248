"""HTTP plumbing every context's ``views.py`` and ``pages.py`` uses: the request's database
session, the calling user, the language, form CSRF and the Jinja2 page renderer.

This is core, the bottom layer: it imports no context and nothing of :mod:`kefu.web`; the
templates directory is found by path.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable, Iterator
from contextlib import nullcontext
from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit
from zoneinfo import ZoneInfo

from fastapi import Depends, Request
from fastapi import Path as PathParam
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from fastapi.templating import Jinja2Templates
from sqlalchemy.orm import Session

from kefu.core import i18n
from kefu.core.actions import actions_only
from kefu.core.config import get_settings
from kefu.core.db import Database
from kefu.core.errors import Forbidden, KefuError, Unauthorized
from kefu.core.i18n import negotiate
from kefu.core.security import AuthSession, User, session_for_token

__all__ = [
    "ADMIN_CONSOLE",
    "COOKIE",
    "LANG_COOKIE",
    "SAFE_METHODS",
    "STAFF_DESK",
    "TEMPLATES_DIR",
    "Caller",
    "CallerDep",
    "CurrentUser",
    "DbSession",
    "Flash",
    "Lang",
    "OptionalCaller",
    "admin_form",
    "admin_page_caller",
    "asked_language",
    "caller",
    "check_form_csrf",
    "current_user",
    "desk_page_caller",
    "error_page",
    "fragment",
    "get_database",
    "get_db",
    "language",
    "localtime",
    "login_redirect",
    "money",
    "optional_caller",
    "render",
    "set_session_cookie",
    "templates",
]

COOKIE = "kefu_session"
LANG_COOKIE = "kefu_lang"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})
#: roles that work in the agent desk (and its fragments: queue, knowledge panel, calculator)
STAFF_DESK = ("agent", "supervisor", "compliance", "trainer", "admin")
#: roles that open the admin console (/admin); each form there checks its own permission
ADMIN_CONSOLE = ("admin", "supervisor")
#: src/kefu/web/templates, found by path: core never imports kefu.web
TEMPLATES_DIR = Path(__file__).resolve().parent.parent / "web" / "templates"


# --- request scope: database session and caller ------------------------------------------------


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_db(request: Request) -> Iterator[Session]:
    """One unit of work per request: committed when the handler returns, rolled back on error.
    The session writes only through actions (core/actions.py): a direct write fails loudly."""
    database = get_database(request)
    lock = database.write_lock if request.method not in SAFE_METHODS else nullcontext()
    with lock:
        s = actions_only(database.sessions())
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()


#: committed before the response is sent (scope="function"): a client that follows a redirect
#: or reads right after a write always sees it — with the default scope the commit would run
#: after the response and a fast follow-up request could miss the write (a login bounced back)
DB = Depends(get_db, scope="function")
DbSession = Annotated[Session, DB]
#: a row id in a path (a 32-bit INTEGER column on PostgreSQL): out-of-range numbers answer
#: 422 naming the parameter, never a 500
Id = Annotated[int, PathParam(ge=1, le=2**31 - 1)]


@dataclass
class Caller:
    user: User
    session: AuthSession
    via_cookie: bool


def _token(request: Request) -> tuple[str | None, bool]:
    auth = request.headers.get("authorization", "")
    if auth.lower().startswith("bearer "):
        return auth[7:].strip(), False
    return request.cookies.get(COOKIE), True


def optional_caller(request: Request, db: DbSession) -> Caller | None:
    token, via_cookie = _token(request)
    found = session_for_token(db, token)
    if found is None:
        return None
    user, sess = found
    # JSON API writes with a cookie need the header; console form posts check their own form
    # field (check_form_csrf), and a header, when sent, must always be right
    sent = request.headers.get("x-csrf-token")
    needs = request.url.path.startswith("/api/") or sent is not None
    if via_cookie and request.method not in SAFE_METHODS and needs:
        if not hmac.compare_digest(sent or "", sess.csrf_token):
            raise Forbidden(key="errors.csrf_header")
    request.state.user = user
    request.state.user_lang = user.language
    return Caller(user, sess, via_cookie)


OptionalCaller = Annotated[Caller | None, Depends(optional_caller)]


def caller(c: OptionalCaller) -> Caller:
    if c is None:
        raise Unauthorized(key="errors.login_required_how")
    return c


CallerDep = Annotated[Caller, Depends(caller)]


def current_user(c: CallerDep) -> User:
    return c.user


CurrentUser = Annotated[User, Depends(current_user)]


def language(request: Request) -> str:
    """The request's language: ``?lang=``, the language cookie, the user's setting, then
    ``Accept-Language``. Call it after the caller is known (the user's setting comes from it)."""
    pref = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    if pref is None:
        pref = getattr(request.state, "user_lang", None)
    return negotiate(request.headers.get("accept-language"), pref)


def asked_language(request: Request) -> str | None:
    """The language a request asks for itself (``?lang=``, the language cookie or
    ``Accept-Language``), or None: an API client that names none gets the API's English."""
    pref = request.query_params.get("lang") or request.cookies.get(LANG_COOKIE)
    accept = request.headers.get("accept-language")
    if not pref and not accept:
        return None
    return negotiate(accept, pref)


Lang = Annotated[str, Depends(language)]


def set_session_cookie(response: Response, token: str) -> None:
    """The login cookie: HttpOnly, SameSite=Lax, as long as a session lives."""
    settings = get_settings()
    response.set_cookie(
        COOKIE,
        token,
        httponly=True,
        samesite="lax",
        secure=settings.cookie_secure,
        max_age=settings.session_hours * 3600,
        path="/",
    )


# --- pages ---------------------------------------------------------------------------------------

templates = Jinja2Templates(directory=str(TEMPLATES_DIR))


def localtime(value: datetime | str | None) -> str:
    """Jinja2 filter ``localtime``: a UTC time shown in the configured zone."""
    if value is None:
        return ""
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    return value.astimezone(ZoneInfo(get_settings().timezone)).strftime("%m-%d %H:%M")


templates.env.filters["localtime"] = localtime


def money(value: Decimal | str | float | None) -> str:
    """Jinja2 filter ``money``: an amount with thousands separators and two decimals
    ("297499.0700" → "297,499.07"); an empty value stays empty and a non-number as it is."""
    if value is None or value == "":
        return ""
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        return str(value)
    if not d.is_finite():
        return str(value)
    return f"{d.quantize(Decimal('0.01'), rounding=ROUND_HALF_UP):,.2f}"


templates.env.filters["money"] = money


def _code(lang: str) -> Callable[[str, object], str]:
    """The templates' ``code(group, value)``: a stored code value (a status, a kind, a role …)
    in words of ``lang`` from the ``code.<group>.<value>`` catalog entries; a value without an
    entry shows as itself."""

    def code(group: str, value: object) -> str:
        if value is None or value == "":
            return ""
        key = f"code.{group}.{value}"
        text = i18n.t(key, lang)
        return str(value) if text == key else text

    return code


_TEXT_KEYS = (
    "connected",
    "reconnecting",
    "refused",
    "queue",
    "queue_nobody",
    "leave_message",
    "left_message",
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
_CAMEL = {
    k: "".join(p.capitalize() if i else p for i, p in enumerate(k.split("_"))) for k in _TEXT_KEYS
}
_STATUSES = ("new", "open", "pending", "on_hold", "resolved", "closed")
#: what the pages' script says when the server refuses (by HTTP status; "other" leads the
#: server's own words)
_REFUSALS = ("401", "403", "404", "413", "429", "other", "close")


def render(request: Request, name: str, caller: Caller | None, **ctx: Any) -> HTMLResponse:
    """A full console page: ``t``, ``lang``, ``user``, ``csrf`` and the script's ``config``
    are always there; ``ctx`` adds the page's own data."""
    lang = language(request)
    user = caller.user if caller else None
    csrf = caller.session.csrf_token if caller else ""
    config = {
        "lang": lang,
        "csrf": csrf,
        "userId": user.id if user else None,
        "role": user.role if user else None,
        "tz": get_settings().timezone,
        "text": {_CAMEL[k]: i18n.t(f"ui.{k}", lang) for k in _TEXT_KEYS}
        | {"status": {k: i18n.t(f"status.{k}", lang) for k in _STATUSES}}
        | {"refusal": {k: i18n.t(f"polish.refusal_{k}", lang) for k in _REFUSALS}},
    }
    return templates.TemplateResponse(
        request,
        name,
        {
            "t": lambda key, **kw: i18n.t(key, lang, **kw),
            "code": _code(lang),
            "lang": lang,
            "user": user,
            "csrf": csrf,
            "config": config,
            **ctx,
        },
    )


def fragment(request: Request, name: str, **ctx: Any) -> HTMLResponse:
    """An htmx fragment (a partial template): only ``t`` and ``lang`` besides ``ctx``."""
    lang = language(request)
    return templates.TemplateResponse(
        request,
        name,
        {"t": lambda key, **kw: i18n.t(key, lang, **kw), "code": _code(lang), "lang": lang, **ctx},
    )


def _page_caller(request: Request) -> Caller | None:
    """Who is looking at an error page: a 404 matched no route, so no dependency found the
    caller; the session cookie is read here so the page keeps the console's navigation."""
    token, via_cookie = _token(request)
    if not token:
        return None
    db = get_database(request).sessions()
    try:
        found = session_for_token(db, token)
        if found is None:
            return None
        user, sess = found
        db.expunge(user)
        db.expunge(sess)
    except Exception:
        return None
    finally:
        db.rollback()
        db.close()
    request.state.user_lang = user.language
    return Caller(user, sess, via_cookie)


def error_page(request: Request, status: int, title: str, detail: str) -> HTMLResponse:
    """An error as a page of the console the person was in: their navigation, a title and an
    explanation in the page's language, and what went wrong as the server put it."""
    who = _page_caller(request)
    lang = language(request)
    key = f"polish.error_{status}"
    said = i18n.t(key, lang)
    page = render(
        request,
        "error.html",
        who,
        status=status,
        title=title if said == key else said,
        detail=detail,
        explain=i18n.t(f"polish.error_{status}_explain", lang)
        if i18n.t(f"polish.error_{status}_explain", lang) != f"polish.error_{status}_explain"
        else "",
    )
    page.status_code = status
    return page


def check_form_csrf(caller: Caller, token: str) -> None:
    """Console form posts carry the session's CSRF token in a form field."""
    if not hmac.compare_digest(token or "", caller.session.csrf_token):
        raise Forbidden(key="errors.form_expired")


def login_redirect(request: Request) -> RedirectResponse:
    return RedirectResponse("/login?" + urlencode({"next": request.url.path}), status_code=303)


def desk_page_caller(request: Request, caller: Caller | None) -> Caller | Response:
    """A desk page's caller, or where to send the request instead: the login page for nobody,
    the portal for a customer."""
    if caller is None:
        return login_redirect(request)
    if caller.user.role not in STAFF_DESK:
        return RedirectResponse("/", status_code=303)
    return caller


def admin_page_caller(request: Request, caller: Caller | None) -> Caller | Response:
    """The admin console's caller: the login page for nobody, 403 for other roles."""
    if caller is None:
        return login_redirect(request)
    if caller.user.role not in ADMIN_CONSOLE:
        raise Forbidden(key="errors.admin_console_only")
    return caller


#: what an admin form's ``fn`` returns: a message, or a catalog key and its parameters (the
#: flash is then said in the page's language)
Flash = str | tuple[str, dict[str, Any]]


def admin_form(
    request: Request, caller: Caller | None, csrf: str, fn: Callable[[User], Flash]
) -> Response:
    """A form post of the admin console: the role and CSRF checks, then ``fn(user)`` whose
    message (or refusal) is flashed back on /admin in the page's language."""
    c = admin_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    lang = language(request)
    try:
        result = fn(c.user)
    except Forbidden:
        text = i18n.t("polish.flash_forbidden", lang)
        return RedirectResponse(
            "/admin?" + urlencode({"flash": text, "kind": "error"}), status_code=303
        )
    except KefuError as exc:
        text = i18n.t("polish.flash_refused", lang, detail=exc.message(lang))
        return RedirectResponse(
            "/admin?" + urlencode({"flash": text[:200], "kind": "error"}), status_code=303
        )
    if isinstance(result, tuple):
        key, params = result
        result = i18n.t(key, lang, **params)
    return RedirectResponse("/admin?" + urlencode({"flash": result[:200]}), status_code=303)


def origin_allowed(origin: str | None, host: str | None) -> bool:
    """Whether a browser request comes from the app's own origin or a configured one
    (KEFU_ALLOWED_ORIGINS). Programs that send no Origin are let through: they authenticate by
    token. Guards the chat socket and the login form against other sites' pages."""
    if origin is None:
        return True
    allowed = {o.strip().rstrip("/") for o in get_settings().allowed_origins.split(",") if o}
    if origin.rstrip("/") in allowed:
        return True
    parsed = urlsplit(origin)
    return parsed.scheme in ("http", "https") and bool(host) and parsed.netloc == host
