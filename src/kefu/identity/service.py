"""Identity use cases: log in and out, user administration, and the reads other contexts and
pages need about users. Tables, password hashing and permissions stay in
:mod:`kefu.core.security` (core's permission check needs ``User``)."""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.core import actions, audit, i18n
from kefu.core.actions import action
from kefu.core.config import get_settings
from kefu.core.db import utcnow
from kefu.core.errors import (
    Conflict,
    NotFound,
    Phrase,
    TooManyRequests,
    Unauthorized,
    ValidationFailed,
)
from kefu.core.events import emit
from kefu.core.security import (
    AuthSession,
    LoginAttempt,
    Role,
    User,
    close_session,
    hash_password,
    open_session,
    require,
    verify_password,
)
from kefu.identity.audit import IdentityAudit

__all__ = [
    "COMMON_PASSWORDS",
    "ROLES",
    "Login",
    "check_password_policy",
    "create_user",
    "get_user",
    "list_users",
    "login",
    "logout",
    "set_language",
    "set_role",
    "user_name",
    "users_by_id",
]

_USERNAME = re.compile(r"[A-Za-z0-9_.\-]{2,64}")
ROLES = tuple(Role.__members__)


@dataclass(frozen=True)
class Login:
    """A successful login: the user, the secret session token (cookie or bearer) and its row."""

    user: User
    token: str
    session: AuthSession


# --- log in / log out ----------------------------------------------------------------------


#: passwords seen most often in public breach corpora (English- and Chinese-speaking users);
#: a staff account with one of them is refused whatever its length
COMMON_PASSWORDS = frozenset(
    """
    12345678 123456789 1234567890 11111111 00000000 88888888 66666666 87654321 11223344
    12341234 123123123 147258369 159357456 5201314520 52013145 1314520520 woaini1314
    woaini520 iloveyou iloveyou1 password password1 password123 passw0rd p@ssw0rd qwerty123
    qwertyuiop 1qaz2wsx 1q2w3e4r 1q2w3e4r5t qazwsxedc zxcvbnm123 asdfghjkl abc12345
    abcd1234 abc123456 a1234567 a12345678 aa123456 qq123456 admin123 administrator
    welcome1 letmein1 sunshine princess football baseball dragon123 monkey123 shadow123
    superman starwars trustno1 kefu-demo
    """.split()
)


def check_password_policy(password: str, *, username: str) -> None:
    """At least 8 characters (NIST SP 800-63B §5.1.1.2), not a common password, not the
    username, not one character repeated or a run of consecutive digits."""
    problem = None  # (its key in locales/errors, its English)
    low = password.lower()
    if len(password) < 8:
        problem = ("password_short", "at least 8 characters")
    elif len(password) > 256:
        problem = ("password_long", "at most 256 characters")
    elif low in COMMON_PASSWORDS:
        problem = ("password_common", "this is one of the most common passwords; choose another")
    elif username and username.lower() in low:
        problem = ("password_username", "must not contain the username")
    elif len(set(password)) == 1 or low in "01234567890123456789" or low in "98765432109876543210":
        problem = ("password_easy", "too easy to guess (a repeated character or a run of digits)")
    if problem:
        raise ValidationFailed(
            key="errors.field",
            params={
                "field": Phrase("errors.fields.password", "password"),
                "message": Phrase(f"errors.{problem[0]}", problem[1]),
            },
            fields=[{"field": "password", "message": problem[1]}],
        )


_dummy_hash: str | None = None


def _dummy() -> str:
    """A hash to verify against when the username does not exist, so the answer takes as long
    either way and timing does not tell which usernames exist."""
    global _dummy_hash
    if _dummy_hash is None:
        _dummy_hash = hash_password(secrets.token_urlsafe(16))
    return _dummy_hash


def _backoff(failures: int, limit: int) -> int:
    """Seconds to wait after the latest failure once ``failures`` reached ``limit``: 2, 4, 8 …
    up to 15 minutes, so a guesser is slowed to a crawl and nobody is locked out for good."""
    return 0 if failures < limit else min(2 ** (failures - limit + 1), 900)


def _retry_after(db: Session, *conditions: Any, limit: int, since: datetime) -> int:
    row = db.execute(
        select(func.count(), func.max(LoginAttempt.at)).where(
            LoginAttempt.at >= since, ~LoginAttempt.ok, *conditions
        )
    ).one()
    failures, last = int(row[0] or 0), row[1]
    wait = _backoff(failures, limit)
    if not wait or last is None:
        return 0
    return max(0, int(wait - (utcnow() - last).total_seconds()) + 1)


def _check_password(db: Session, username: str, password: str, *, ip: str) -> User:
    """Checks the password with backoff per username *and* address (a guesser at one address
    slows only themselves; many addresses against one username slow that username at ten times
    the limit; one address spraying many usernames slows at five times); records every attempt
    (a failed one through its own session, so it stays on record although the request fails)."""
    limit = get_settings().login_attempts_per_15min
    since = utcnow() - timedelta(minutes=15)
    wait = max(
        _retry_after(
            db, LoginAttempt.username == username, LoginAttempt.ip == ip, limit=limit, since=since
        ),
        _retry_after(db, LoginAttempt.username == username, limit=10 * limit, since=since),
        _retry_after(db, LoginAttempt.ip == ip, limit=5 * limit, since=since) if ip else 0,
    )
    if wait:
        raise TooManyRequests(
            key="identity.errors.too_many_logins", params={"wait": wait}, retry_after=wait
        )
    user = db.scalar(select(User).where(User.username == username))
    ok = verify_password(user.password_hash if user is not None else _dummy(), password)
    ok = ok and user is not None and user.is_active
    if not ok or user is None:
        attempt = {"username": username[:64], "ok": False, "ip": ip[:64]}
        actions.keep_on_record(db, lambda s: s.add(LoginAttempt(**attempt)))
        raise Unauthorized(key="identity.errors.bad_login")
    db.add(LoginAttempt(username=username[:64], ok=True, ip=ip[:64]))
    return user


@action
def login(
    db: Session, *, username: str, password: str, ip: str = "", via: str | None = None
) -> Login:
    """Checks the password (rate-limited), opens a session and writes ``auth.login``.
    ``via`` names the console a login came through (the JSON API leaves it out)."""
    user = _check_password(db, username, password, ip=ip)
    token, sess = open_session(db, user)
    data: dict[str, str] = {"ip": ip}
    if via is not None:
        data["via"] = via
    audit.record(
        db,
        actor_id=user.id,
        action=IdentityAudit.login,
        entity="user",
        entity_id=user.id,
        data=data,
    )
    return Login(user, token, sess)


@action
def logout(db: Session, *, actor: User, token: str | None) -> None:
    """Revokes the session of ``token`` (when given) and writes ``auth.logout``."""
    if token:
        ended = close_session(db, token.strip())
        if ended is not None:
            # every socket opened with this session closes, in every worker
            emit(db, f"session:{ended.id}", {"type": "session.ended"})
    audit.record(
        db, actor_id=actor.id, action=IdentityAudit.logout, entity="user", entity_id=actor.id
    )


# --- user administration -------------------------------------------------------------------


def _check_role(role: str) -> None:
    if role not in Role.__members__:
        raise ValidationFailed(
            key="errors.role_unknown",
            params={"roles": ", ".join(Role.__members__)},
            fields=[{"field": "role", "message": "unknown role"}],
        )


@action
def create_user(
    db: Session,
    *,
    actor: User | None,
    username: str,
    role: str,
    password: str,
    display_name: str = "",
    display_name_en: str = "",
) -> User:
    if actor is not None:
        require(actor, "users.manage")
    if not _USERNAME.fullmatch(username):
        raise ValidationFailed(
            key="errors.username_format",
            fields=[{"field": "username", "message": "invalid"}],
        )
    _check_role(role)
    check_password_policy(password, username=username)
    if db.scalar(select(User).where(User.username == username)):
        raise Conflict(key="errors.user_exists", params={"username": repr(username)})
    u = User(
        username=username,
        role=role,
        display_name=display_name or username,
        display_name_en=display_name_en,
        password_hash=hash_password(password),
    )
    db.add(u)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=IdentityAudit.user_create,
        entity="user",
        entity_id=u.id,
        data={"username": username, "role": role},
    )
    return u


@action
def set_role(db: Session, *, actor: User, user_id: int, role: str) -> User:
    require(actor, "users.manage")
    u = db.get(User, user_id)
    if u is None:
        raise NotFound(key="identity.errors.user_missing", params={"id": user_id})
    _check_role(role)
    if u.id == actor.id and role != u.role:
        raise Conflict(key="errors.own_role")
    old = u.role
    u.role = role
    audit.record(
        db,
        actor_id=actor.id,
        action=IdentityAudit.user_role,
        entity="user",
        entity_id=u.id,
        data={"old": old, "new": role},
    )
    return u


@action
def set_language(db: Session, *, actor: User, language: str) -> User:
    """The user's interface language (a supported code, see :func:`kefu.core.i18n.normalise`)."""
    lang = i18n.normalise(language)
    u = db.get(User, actor.id)
    if u is None or u.language == lang:
        actions.unchanged(db)
        return u or actor
    old = u.language
    u.language = lang
    audit.record(
        db,
        actor_id=actor.id,
        action=IdentityAudit.user_language,
        entity="user",
        entity_id=u.id,
        data={"old": old, "new": lang},
    )
    return u


# --- reads ---------------------------------------------------------------------------------


def get_user(db: Session, user_id: int) -> User | None:
    return db.get(User, user_id)


def list_users(db: Session) -> list[User]:
    """Every user, oldest first."""
    return list(db.scalars(select(User).order_by(User.id)))


def users_by_id(db: Session, ids: Iterable[int | None] | None = None) -> dict[int, User]:
    """Users by id: those of ``ids`` (unknown ids are left out), or all users."""
    query = select(User)
    if ids is not None:
        wanted = {i for i in ids if i}
        if not wanted:
            return {}
        query = query.where(User.id.in_(wanted))
    return {u.id: u for u in db.scalars(query)}


def user_name(db: Session, user_id: int | None, lang: str) -> str | None:
    """A user's display name in ``lang``; None for no user."""
    u = db.get(User, user_id) if user_id else None
    return u.name_for(lang) if u else None
