"""Case statuses: the built-in six (seeded by a migration and by `kefu content sync`) and the
team's own, each mapped to one of the four categories the SLA clock understands."""

from __future__ import annotations

import re

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action
from kefu.core.errors import Conflict, Phrase
from kefu.core.security import User, require
from kefu.desk.audit import DeskAudit
from kefu.desk.models import CaseStatus
from kefu.desk.validation import field_error

BUILTIN_STATUSES = (
    # key, category, zh, en
    ("new", "open", "新建", "New"),
    ("open", "open", "处理中", "Open"),
    ("pending", "pending", "等待客户", "Waiting on customer"),
    ("on_hold", "pending", "挂起", "On hold"),
    ("resolved", "resolved", "已解决", "Resolved"),
    ("closed", "closed", "已关闭", "Closed"),
)
STATUS_CATEGORIES = ("open", "pending", "resolved", "closed")


def ensure_builtin_statuses(db: Session) -> int:
    """Seeds the built-in statuses that are missing (content sync, tests); returns how many.
    Reads never call this: the migration seeds them."""
    existing = set(db.scalars(select(CaseStatus.key)))
    added = 0
    for pos, (key, cat, zh, en) in enumerate(BUILTIN_STATUSES):
        if key not in existing:
            db.add(
                CaseStatus(
                    key=key, category=cat, name_zh=zh, name_en=en, position=pos, is_builtin=True
                )
            )
            added += 1
    db.flush()
    return added


def status_by_key(db: Session, key: str) -> CaseStatus:
    st = db.scalar(select(CaseStatus).where(CaseStatus.key == key))
    if st is None:
        keys = ", ".join(db.scalars(select(CaseStatus.key).order_by(CaseStatus.position)))
        raise field_error(
            "status",
            f"unknown status {key!r}; known: {keys or 'none'}",
            key="unknown_status",
            status=repr(key),
            known=keys or Phrase("errors.none", "none"),
        )
    return st


def list_statuses(db: Session) -> list[CaseStatus]:
    return list(db.scalars(select(CaseStatus).order_by(CaseStatus.position)))


@action
def create_status(
    db: Session, *, actor: User, key: str, category: str, name_zh: str, name_en: str
) -> CaseStatus:
    require(actor, "sla.manage")
    if category not in STATUS_CATEGORIES:
        raise field_error("category", "must be open, pending, resolved or closed")
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,31}", key):
        raise field_error("key", "lowercase letters, digits and _ (2–32 characters)")
    if db.scalar(select(CaseStatus).where(CaseStatus.key == key)):
        raise Conflict(f"status {key!r} already exists")
    pos = (db.scalar(select(func.max(CaseStatus.position))) or 0) + 1
    st = CaseStatus(key=key, category=category, name_zh=name_zh, name_en=name_en, position=pos)
    db.add(st)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.status_create,
        entity="case_status",
        entity_id=st.id,
        data={"key": key, "category": category},
    )
    return st
