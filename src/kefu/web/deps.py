"""Request-scoped dependencies: the database session and the calling user."""

from __future__ import annotations

import hmac
from collections.abc import Iterator
from contextlib import nullcontext
from dataclasses import dataclass

from fastapi import Depends, Request
from sqlalchemy.orm import Session

from kefu.core.db import Database
from kefu.core.errors import Forbidden, Unauthorized
from kefu.core.i18n import negotiate
from kefu.core.security import AuthSession, User, session_for_token

COOKIE = "kefu_session"
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


def get_database(request: Request) -> Database:
    db: Database = request.app.state.db
    return db


def get_db(request: Request) -> Iterator[Session]:
    """One unit of work per request: committed when the handler returns, rolled back on error."""
    database = get_database(request)
    lock = database.write_lock if request.method not in SAFE_METHODS else nullcontext()
    with lock:
        s = database.sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()


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


def optional_caller(request: Request, db: Session = Depends(get_db)) -> Caller | None:
    token, via_cookie = _token(request)
    found = session_for_token(db, token)
    if found is None:
        return None
    user, sess = found
    # JSON API writes with a cookie need the header; console form posts check their own form
    # field (pages._check_form_csrf), and a header, when sent, must always be right
    sent = request.headers.get("x-csrf-token")
    needs = request.url.path.startswith("/api/") or sent is not None
    if via_cookie and request.method not in SAFE_METHODS and needs:
        if not hmac.compare_digest(sent or "", sess.csrf_token):
            raise Forbidden("missing or wrong X-CSRF-Token header for a cookie session")
    request.state.user = user
    request.state.user_lang = user.language
    return Caller(user, sess, via_cookie)


def caller(c: Caller | None = Depends(optional_caller)) -> Caller:
    if c is None:
        raise Unauthorized("login required: send the session cookie or 'Authorization: Bearer'")
    return c


def current_user(c: Caller = Depends(caller)) -> User:
    return c.user


def language(request: Request) -> str:
    pref = request.query_params.get("lang") or request.cookies.get("kefu_lang")
    if pref is None:
        pref = getattr(request.state, "user_lang", None)
    return negotiate(request.headers.get("accept-language"), pref)
