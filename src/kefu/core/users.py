"""User administration actions (audited)."""

from __future__ import annotations

import re

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.errors import Conflict, NotFound, ValidationFailed
from kefu.core.security import Role, User, hash_password, require

_USERNAME = re.compile(r"[A-Za-z0-9_.\-]{2,64}")


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
    if role not in Role.__members__:
        raise ValidationFailed(
            f"role must be one of {', '.join(Role.__members__)}",
            fields=[{"field": "role", "message": "unknown role"}],
        )
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
        action="user.create",
        entity="user",
        entity_id=u.id,
        data={"username": username, "role": role},
    )
    return u


def set_role(db: Session, *, actor: User, user_id: int, role: str) -> User:
    require(actor, "users.manage")
    u = db.get(User, user_id)
    if u is None:
        raise NotFound(f"user {user_id} does not exist")
    if role not in Role.__members__:
        raise ValidationFailed(
            f"role must be one of {', '.join(Role.__members__)}",
            fields=[{"field": "role", "message": "unknown role"}],
        )
    if u.id == actor.id and role != u.role:
        raise Conflict("you cannot change your own role")
    old = u.role
    u.role = role
    audit.record(
        db,
        actor_id=actor.id,
        action="user.role",
        entity="user",
        entity_id=u.id,
        data={"old": old, "new": role},
    )
    return u
