"""Identity's HTML routes: the login page, log out, the language switch and the user forms
of the admin console."""

from __future__ import annotations

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kefu.core import i18n
from kefu.core.errors import Forbidden, KefuError
from kefu.core.http import (
    COOKIE,
    LANG_COOKIE,
    DbSession,
    Flash,
    Id,
    OptionalCaller,
    admin_form,
    check_form_csrf,
    language,
    origin_allowed,
    render,
    set_session_cookie,
)
from kefu.core.security import Role, User
from kefu.identity import service as identity

router = APIRouter(include_in_schema=False)
_YEAR = 365 * 86400


def home_for(user: User) -> str:
    """Where a user lands after logging in: the portal for customers, the desk for staff."""
    if user.role == Role.customer:
        return "/"
    return "/desk"


def _local(target: str) -> str:
    """Only paths of this site are followed (never ``//host`` or a full URL)."""
    return target if target.startswith("/") and not target.startswith("//") else "/"


@router.get("/login", response_class=HTMLResponse)
def login_page(
    request: Request, caller: OptionalCaller, next: str = Query("/", max_length=200)
) -> Response:
    if caller is not None:
        return RedirectResponse(home_for(caller.user), status_code=303)
    return render(request, "auth/login.html", None, next=next, error=None, area="login")


@router.post("/login", response_class=HTMLResponse)
def login_submit(
    request: Request,
    db: DbSession,
    username: str = Form(max_length=64),
    password: str = Form(max_length=256),
    next: str = Form("/", max_length=200),
) -> Response:
    if not origin_allowed(request.headers.get("origin"), request.headers.get("host")):
        # login CSRF: another site's page may not log a visitor in (to an account of its choice)
        raise Forbidden(key="identity.errors.foreign_login_form")
    ip = request.client.host if request.client else ""
    try:
        done = identity.login(db, username=username, password=password, ip=ip, via="console")
    except KefuError as exc:
        lang = language(request)
        msg = i18n.t("ui.bad_login", lang) if exc.status == 401 else exc.message(lang)
        page = render(
            request, "auth/login.html", None, next=next, error=msg, username=username, area="login"
        )
        page.status_code = exc.status
        return page
    target = _local(next)
    if target in ("/", "/login"):
        target = home_for(done.user)
    resp = RedirectResponse(target, status_code=303)
    set_session_cookie(resp, done.token)
    if not request.cookies.get(LANG_COOKIE):
        resp.set_cookie(LANG_COOKIE, done.user.language, samesite="lax", path="/", max_age=_YEAR)
    return resp


@router.post("/logout")
def logout(
    request: Request, caller: OptionalCaller, db: DbSession, csrf: str = Form("")
) -> Response:
    if caller is not None:
        check_form_csrf(caller, csrf)
        identity.logout(db, actor=caller.user, token=request.cookies.get(COOKIE))
    resp = RedirectResponse("/login", status_code=303)
    resp.delete_cookie(COOKIE, path="/")
    return resp


@router.get("/lang/{code}")
def switch_language(
    code: str, caller: OptionalCaller, db: DbSession, next: str = Query("/", max_length=200)
) -> Response:
    lang = i18n.normalise(code)
    resp = RedirectResponse(_local(next), status_code=303)
    resp.set_cookie(LANG_COOKIE, lang, samesite="lax", path="/", max_age=_YEAR)
    if caller is not None:
        identity.set_language(db, actor=caller.user, language=lang)
    return resp


# --- user administration (forms of /admin; the page itself is the desk's) -----------------


@router.post("/admin/users")
def admin_add_user(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    username: str = Form(max_length=64),
    role: str = Form(max_length=16),
    password: str = Form(max_length=256),
    display_name: str = Form("", max_length=128),
    csrf: str = Form(""),
) -> Response:
    def add(actor: User) -> Flash:
        identity.create_user(
            db,
            actor=actor,
            username=username,
            role=role,
            password=password,
            display_name=display_name,
        )
        return (
            "polish.flash_user_added",
            {"username": username, "role": i18n.t(f"code.role.{role}", language(request))},
        )

    return admin_form(request, caller, csrf, add)


@router.post("/admin/users/{user_id}/role")
def admin_set_role(
    request: Request,
    user_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    role: str = Form(max_length=16),
    csrf: str = Form(""),
) -> Response:
    def change(actor: User) -> Flash:
        identity.set_role(db, actor=actor, user_id=user_id, role=role)
        return (
            "polish.flash_role_set",
            {"user_id": user_id, "role": i18n.t(f"code.role.{role}", language(request))},
        )

    return admin_form(request, caller, csrf, change)
