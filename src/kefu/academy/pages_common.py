"""What the /academy console's pages share: the form body, the role gate (a login redirect for
an anonymous visitor), the flash redirect and the one-action form post (role and CSRF checks,
a refusal flashed back and nothing written)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated
from urllib.parse import urlencode

from fastapi import Depends, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session
from starlette.datastructures import FormData

from kefu.core.errors import KefuError, NotFound
from kefu.core.http import (
    Caller,
    check_form_csrf,
    language,
    login_redirect,
)
from kefu.core.security import User, require


async def _form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(_form)]


def _gate(request: Request, caller: Caller | None, permission: str) -> Caller | Response:
    if caller is None:
        return login_redirect(request)
    require(caller.user, permission)
    return caller


def _back(url: str, message: str = "", kind: str = "ok") -> RedirectResponse:
    if message:
        sep = "&" if "?" in url else "?"
        url = f"{url}{sep}" + urlencode({"flash": message, "kind": kind})
    return RedirectResponse(url, status_code=303)


def _post(
    request: Request,
    caller: Caller | None,
    db: Session,
    csrf: str,
    permission: str,
    back: str,
    fn: Callable[[User], str],
) -> Response:
    """A console form: role and CSRF checks, then ``fn(user)`` (one action) whose answer is the
    URL to go to; a refusal is flashed back on ``back`` and nothing is written."""
    c = _gate(request, caller, permission)
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    try:
        target = fn(c.user)
    except NotFound:
        raise
    except KefuError as exc:
        db.rollback()
        return _back(back, exc.message(language(request)), "error")
    return RedirectResponse(target, status_code=303)


def _lg(request: Request) -> str:
    return "en" if language(request) == "en" else "zh"
