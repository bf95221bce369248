"""Canned replies: bilingual templates with variables ({customer_name}, {case_ref} …)."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.errors import Conflict, NotFound
from kefu.core.security import User, require
from kefu.customers.service import customers_by_id
from kefu.desk.audit import DeskAudit
from kefu.desk.models import CannedReply, Case
from kefu.desk.validation import field_error


def list_canned(db: Session, *, by_category: bool = True, q: str = "") -> list[CannedReply]:
    """The canned replies, grouped by category then key (the desk's picker), or by key alone
    (the admin list); with ``q``, only those whose key, category, title or text contains it
    (case-insensitive, either language)."""
    order = (CannedReply.category, CannedReply.key) if by_category else (CannedReply.key,)
    stmt = select(CannedReply).order_by(*order)
    words = q.strip().lower().split()
    for w in words[:5]:
        like = f"%{w.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(
            or_(
                *(
                    func.lower(col).like(like)
                    for col in (
                        CannedReply.key,
                        CannedReply.category,
                        CannedReply.title_zh,
                        CannedReply.title_en,
                        CannedReply.body_zh,
                        CannedReply.body_en,
                    )
                )
            )
        )
    return list(db.scalars(stmt))


_VAR = re.compile(r"\{([a-z_]+)\}")


def fill_template(template: str, variables: dict[str, str]) -> str:
    """A canned text with its ``{variables}`` filled in; unknown ones stay visible (e.g.
    "{account_number}") rather than vanish silently."""
    values = {"today": date.today().isoformat(), **variables}
    return _VAR.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)


def render_canned(
    db: Session, *, actor: User, key: str, lang: str, variables: dict[str, str]
) -> str:
    require(actor, "canned.use")
    row = db.scalar(select(CannedReply).where(CannedReply.key == key))
    if row is None:
        raise NotFound(f"canned reply {key!r} does not exist")
    template = row.body_en if lang.startswith("en") else row.body_zh
    return fill_template(template, variables)


def case_variables(db: Session, case: Case, agent: User) -> dict[str, str]:
    customer = customers_by_id(db, [case.customer_id]).get(case.customer_id)
    lang = case.language
    return {
        "customer_name": customer.name_for(lang) if customer else "",
        "agent_name": agent.name_for(lang),
        "case_ref": f"#{case.id}",
        "account_number": customer.accounts[0].number if customer and customer.accounts else "",
    }


@action
def add_canned(
    db: Session,
    *,
    actor: User,
    key: str,
    category: str,
    title_zh: str,
    title_en: str,
    body_zh: str,
    body_en: str,
) -> CannedReply:
    require(actor, "canned.manage")
    if not re.fullmatch(r"[a-z0-9_.\-]{2,64}", key):
        raise field_error("key", "2–64 of a-z 0-9 _ . -", key="canned_key")
    if db.scalar(select(CannedReply).where(CannedReply.key == key)):
        raise Conflict(key="errors.canned_exists", params={"key": repr(key)})
    _check_texts(title_zh=title_zh, title_en=title_en, body_zh=body_zh, body_en=body_en)
    row = CannedReply(
        key=key,
        category=category,
        title_zh=title_zh.strip(),
        title_en=title_en.strip(),
        body_zh=body_zh.strip(),
        body_en=body_en.strip(),
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.canned_create,
        entity="canned_reply",
        entity_id=row.id,
        data={"key": key},
    )
    return row


_LIMITS = {"category": 16, "title_zh": 128, "title_en": 128, "body_zh": 5000, "body_en": 5000}


def _check_texts(**fields: str) -> None:
    for field, value in fields.items():
        if not value.strip():
            raise field_error(field, "must not be empty", key="empty")
        if len(value) > _LIMITS[field]:
            n = _LIMITS[field]
            raise field_error(field, f"at most {n} characters", key="at_most_chars", n=n)


def _canned(db: Session, key: str) -> CannedReply:
    row = db.scalar(select(CannedReply).where(CannedReply.key == key))
    if row is None:
        raise NotFound(f"canned reply {key!r} does not exist")
    return row


@action
def update_canned(
    db: Session,
    *,
    actor: User,
    key: str,
    category: str | None = None,
    title_zh: str | None = None,
    title_en: str | None = None,
    body_zh: str | None = None,
    body_en: str | None = None,
) -> CannedReply:
    """Changes the given fields of a canned reply; the entry keeps the old and new values."""
    require(actor, "canned.manage")
    row = _canned(db, key)
    given = {
        k: v
        for k, v in {
            "category": category,
            "title_zh": title_zh,
            "title_en": title_en,
            "body_zh": body_zh,
            "body_en": body_en,
        }.items()
        if v is not None
    }
    _check_texts(**given)
    changed = {k: v.strip() for k, v in given.items() if v.strip() != getattr(row, k)}
    if not changed:
        unchanged(db)
        return row
    old = {k: getattr(row, k) for k in changed}
    for k, v in changed.items():
        setattr(row, k, v)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.canned_update,
        entity="canned_reply",
        entity_id=row.id,
        data={"key": key, "old": old, "new": changed},
    )
    return row


@action
def delete_canned(db: Session, *, actor: User, key: str) -> None:
    """Removes a canned reply; its last texts stay in the audit entry."""
    require(actor, "canned.manage")
    row = _canned(db, key)
    old = {k: getattr(row, k) for k in ("category", *_LIMITS)}
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.canned_delete,
        entity="canned_reply",
        entity_id=row.id,
        data={"key": key, "old": old},
    )
    db.delete(row)
    db.flush()
