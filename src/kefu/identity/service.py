"""Identity use cases: log in and out, user administration, and the reads other contexts and
pages need about users. Tables, password hashing and permissions stay in
:mod:`kefu.core.security` (core's permission check needs ``User``)."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.core import actions, audit, i18n
from kefu.core.actions import action
from kefu.core.config import get_settings
from kefu.core.db import utcnow
from kefu.core.errors import Conflict, NotFound, TooManyRequests, Unauthorized, ValidationFailed
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
    "ROLES",
    "Login",
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


def _check_password(db: Session, username: str, password: str, *, ip: str) -> User:
    """Checks the password with a per-username rate limit; records every attempt (a failed
    one through its own session, so it stays on record although the request fails)."""
    since = utcnow() - timedelta(minutes=15)
    failures = db.scalar(
        select(func.count())
        .select_from(LoginAttempt)
        .where(LoginAttempt.username == username, LoginAttempt.at >= since, ~LoginAttempt.ok)
    )
    if (failures or 0) >= get_settings().login_attempts_per_15min:
        raise TooManyRequests("too many failed logins for this user; try again in 15 minutes")
    user = db.scalar(select(User).where(User.username == username))
    ok = user is not None and user.is_active and verify_password(user.password_hash, password)
    if not ok or user is None:
        attempt = {"username": username[:64], "ok": False, "ip": ip[:64]}
        actions.keep_on_record(db, lambda s: s.add(LoginAttempt(**attempt)))
        raise Unauthorized("wrong username or password")
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
        close_session(db, token.strip())
    audit.record(
        db, actor_id=actor.id, action=IdentityAudit.logout, entity="user", entity_id=actor.id
    )


# --- user administration -------------------------------------------------------------------


def _check_role(role: str) -> None:
    if role not in Role.__members__:
        raise ValidationFailed(
            f"role must be one of {', '.join(Role.__members__)}",
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
            "username: 2–64 letters, digits, _ . -",
            fields=[{"field": "username", "message": "invalid"}],
        )
    _check_role(role)
    if len(password) < 8:
        raise ValidationFailed(
            "password: at least 8 characters",
            fields=[{"field": "password", "message": "too short"}],
        )
    if db.scalar(select(User).where(User.username == username)):
        raise Conflict(f"user {username!r} already exists")
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
        raise NotFound(f"user {user_id} does not exist")
    _check_role(role)
    if u.id == actor.id and role != u.role:
        raise Conflict("you cannot change your own role")
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


def users_by_id(db: Session, ids: Iterable[int] | None = None) -> dict[int, User]:
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
