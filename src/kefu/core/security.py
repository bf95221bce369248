"""Users, roles, permissions, password hashing, sessions and PII encryption.

Every permission check in Kefu goes through :func:`require` (or :func:`can`); the map below is
the single source of truth and is tested as a matrix.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
from collections.abc import Iterable
from datetime import datetime, timedelta
from enum import StrEnum
from functools import lru_cache

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from cryptography.fernet import Fernet, InvalidToken
from sqlalchemy import JSON, Boolean, ForeignKey, Index, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kefu.core import i18n
from kefu.core.config import get_settings
from kefu.core.db import Base, UTCDateTime, utcnow
from kefu.core.errors import Forbidden, Unauthorized


class Role(StrEnum):
    customer = "customer"
    agent = "agent"
    supervisor = "supervisor"
    compliance = "compliance"
    trainer = "trainer"
    admin = "admin"


STAFF = frozenset({Role.agent, Role.supervisor, Role.compliance, Role.trainer, Role.admin})
DESK = frozenset({Role.agent, Role.supervisor, Role.compliance, Role.admin})

#: permission -> roles that hold it. Customers reach their own data through ownership checks.
PERMISSIONS: dict[str, frozenset[Role]] = {
    "case.create": frozenset({Role.customer}) | DESK,
    "case.read_own": frozenset({Role.customer}),
    # trainers read real conversations (PII masked) to build courses and review trainees
    "case.read_all": DESK | frozenset({Role.trainer}),
    "case.update": frozenset({Role.agent, Role.supervisor, Role.admin}),
    "case.assign": frozenset({Role.supervisor, Role.admin}),
    "case.take": frozenset({Role.agent, Role.supervisor}),
    "message.reply": frozenset({Role.customer, Role.agent, Role.supervisor, Role.admin}),
    "message.note": DESK,
    "customer.read": DESK | frozenset({Role.trainer}),
    "pii.reveal": frozenset({Role.agent, Role.supervisor, Role.compliance, Role.admin}),
    "csat.submit": frozenset({Role.customer}),
    "canned.use": DESK,
    "canned.manage": frozenset({Role.supervisor, Role.admin}),
    # macros change cases: the roles that edit cases apply them and keep personal ones; shared
    # macros are managed with canned.manage
    "macro.use": frozenset({Role.agent, Role.supervisor, Role.admin}),
    "sla.manage": frozenset({Role.supervisor, Role.admin}),
    # teams and escalation: supervisors and admins keep the teams and their members; the desk's
    # roles work escalations in the internal thread (membership of the team checked by the desk:
    # a compliance officer answers for the compliance team, not for funds operations)
    "team.manage": frozenset({Role.supervisor, Role.admin}),
    "escalation.work": DESK,
    "users.manage": frozenset({Role.admin}),
    "audit.read": frozenset({Role.compliance, Role.admin}),
    # KYC: staff record a customer's identity document; compliance verifies it (maker-checker),
    # records professional investors and judges the guard's decisions
    "kyc.manage": frozenset({Role.agent, Role.supervisor, Role.compliance, Role.admin}),
    "kyc.review": frozenset({Role.compliance, Role.admin}),
    "guard.review": frozenset({Role.compliance, Role.admin}),
    "presence.set": frozenset({Role.agent, Role.supervisor}),
    "screen.use": STAFF | frozenset({Role.customer}),
    "kb.read": STAFF | frozenset({Role.customer}),
    "kb.manage": frozenset({Role.supervisor, Role.trainer, Role.admin}),
    # an agent who answers with an article proposes the customer's words as its question
    "kb.suggest": DESK,
    # quality: QA evaluations, metrics and reports; reviews (override, calibration) by supervisors
    "quality.read": frozenset({Role.supervisor, Role.compliance, Role.admin}),
    "quality.review": frozenset({Role.supervisor, Role.admin}),
    # the academy: every staff member learns (trainees are agents); trainers and admins teach;
    # supervisors follow their team's progress and pending product-knowledge updates
    "academy.learn": STAFF,
    "academy.teach": frozenset({Role.trainer, Role.admin}),
    "academy.progress": frozenset({Role.supervisor, Role.trainer, Role.admin}),
    # AML alerts and cases: compliance officers (and admins); agents see only a neutral flag
    "aml.read": frozenset({Role.compliance, Role.admin}),
    "aml.manage": frozenset({Role.compliance, Role.admin}),
    # the back office's feeds of customers, trades and transfers
    "feeds.write": frozenset({Role.admin}),
    # market tools: charts and indicators for the desk and trainers; disputes of binary-option
    # records by the agents who answer them; corrections decided by a supervisor
    "market.read": DESK | frozenset({Role.trainer}),
    "market.dispute": frozenset({Role.agent, Role.supervisor, Role.admin}),
    "market.correct": frozenset({Role.supervisor, Role.admin}),
}


class User(Base):
    __tablename__ = "users"

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64), unique=True)
    role: Mapped[str] = mapped_column(String(16))
    display_name: Mapped[str] = mapped_column(String(128), default="")
    display_name_en: Mapped[str] = mapped_column(String(128), default="")
    password_hash: Mapped[str] = mapped_column(String(256))
    language: Mapped[str] = mapped_column(String(8), default="zh-CN")
    is_active: Mapped[bool] = mapped_column(Boolean, default=True)
    is_trainee: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    prefs: Mapped[dict[str, object]] = mapped_column(JSON, default=dict)

    @property
    def role_enum(self) -> Role:
        return Role(self.role)

    def name_for(self, lang: str) -> str:
        if lang.startswith("en") and self.display_name_en:
            return self.display_name_en
        return self.display_name or self.username


class AuthSession(Base):
    """A login: the cookie/bearer token is random; only its SHA-256 is stored."""

    __tablename__ = "auth_sessions"

    id: Mapped[int] = mapped_column(primary_key=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    csrf_token: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    revoked: Mapped[bool] = mapped_column(Boolean, default=False)


class LoginAttempt(Base):
    __tablename__ = "login_attempts"
    __table_args__ = (Index("ix_login_attempts_username_at", "username", "at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(64))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    ok: Mapped[bool] = mapped_column(Boolean)
    ip: Mapped[str] = mapped_column(String(64), default="")


# --- permissions -----------------------------------------------------------------------------


def can(user: User | None, permission: str) -> bool:
    if user is None or not user.is_active:
        return False
    roles = PERMISSIONS.get(permission)
    if roles is None:
        raise KeyError(f"unknown permission {permission!r}")
    if permission == "pii.reveal" and user.is_trainee:
        return False
    return user.role_enum in roles


def require(user: User | None, permission: str) -> User:
    """The one permission check: 401 without a user, 403 without the permission."""
    if user is None:
        raise Unauthorized(key="errors.login_required")
    if not can(user, permission):
        raise role_may_not(user, permission)
    return user


def role_may_not(user: User, permission: str) -> Forbidden:
    """The refusal of a permission the user's role lacks, in the reader's language (the role
    by its code in English, as the API always said it, and by its name in Chinese)."""
    role = user.role

    def said(lang: str) -> str:
        return role if i18n.normalise(lang) == "en" else i18n.t(f"code.role.{role}", lang)

    return Forbidden(key="errors.role_may_not", params={"role": said, "permission": permission})


# --- passwords -------------------------------------------------------------------------------

_hasher = PasswordHasher()


def hash_password(password: str) -> str:
    return _hasher.hash(password)


def verify_password(stored: str, password: str) -> bool:
    try:
        return _hasher.verify(stored, password)
    except (VerificationError, InvalidHashError):
        return False


# --- sessions --------------------------------------------------------------------------------


def _sha256(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def open_session(db: Session, user: User) -> tuple[str, AuthSession]:
    token = secrets.token_urlsafe(32)
    row = AuthSession(
        token_hash=_sha256(token),
        user_id=user.id,
        csrf_token=secrets.token_urlsafe(24),
        expires_at=utcnow() + timedelta(hours=get_settings().session_hours),
    )
    db.add(row)
    db.flush()
    return token, row


def session_for_token(db: Session, token: str | None) -> tuple[User, AuthSession] | None:
    if not token:
        return None
    return sessions_for_tokens(db, [token]).get(token)


def sessions_for_tokens(
    db: Session, tokens: Iterable[str | None]
) -> dict[str, tuple[User, AuthSession]]:
    """token -> (user, login) for the tokens of a live login (not revoked, not expired, the
    user active), in one query; other tokens are left out. The chat sockets authenticate many
    at once after a restart."""
    by_hash = {_sha256(t): t for t in tokens if t}
    if not by_hash:
        return {}
    now = utcnow()
    rows = db.execute(
        select(AuthSession, User)
        .join(User, User.id == AuthSession.user_id)
        .where(AuthSession.token_hash.in_(list(by_hash)))
    ).all()
    return {
        by_hash[row.token_hash]: (user, row)
        for row, user in rows
        if not row.revoked and row.expires_at > now and user.is_active
    }


def close_session(db: Session, token: str) -> AuthSession | None:
    row = db.scalar(select(AuthSession).where(AuthSession.token_hash == _sha256(token)))
    if row is not None:
        row.revoked = True
    return row


# --- PII encryption --------------------------------------------------------------------------


class Crypto:
    """Fernet encryption for PII at rest plus an HMAC blind index for exact lookups."""

    def __init__(self, secret: str) -> None:
        material = hashlib.sha256(("kefu-pii-v1:" + secret).encode()).digest()
        self._fernet = Fernet(base64.urlsafe_b64encode(material))
        self._mac_key = hashlib.sha256(("kefu-blind-v1:" + secret).encode()).digest()

    def encrypt(self, value: str) -> str:
        return self._fernet.encrypt(value.encode()).decode()

    def decrypt(self, token: str) -> str:
        try:
            return self._fernet.decrypt(token.encode()).decode()
        except InvalidToken as exc:  # wrong key or altered ciphertext
            raise ValueError(
                "PII ciphertext cannot be decrypted with this KEFU_SECRET_KEY"
            ) from exc

    def blind_index(self, value: str) -> str:
        normalised = "".join(ch for ch in value if ch.isalnum()).upper()
        return hmac.new(self._mac_key, normalised.encode(), hashlib.sha256).hexdigest()


@lru_cache
def get_crypto() -> Crypto:
    return Crypto(get_settings().effective_secret())


def audit_checkpoint_key() -> bytes:
    """The key that signs audit checkpoints: derived from KEFU_SECRET_KEY, never stored in the
    database, so whoever can rewrite the log cannot sign a matching checkpoint."""
    return hashlib.sha256(
        ("kefu-audit-checkpoint-v1:" + get_settings().effective_secret()).encode()
    ).digest()
