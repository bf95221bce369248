"""Canned replies: bilingual templates with variables ({customer_name}, {case_ref} …)."""

from __future__ import annotations

import re
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action
from kefu.core.errors import Conflict, NotFound
from kefu.core.security import User, require
from kefu.customers.service import customers_by_id
from kefu.desk.audit import DeskAudit
from kefu.desk.models import CannedReply, Case
from kefu.desk.validation import field_error


def list_canned(db: Session, *, by_category: bool = True) -> list[CannedReply]:
    """The canned replies, grouped by category then key (the desk's picker), or by key alone
    (the admin list)."""
    order = (CannedReply.category, CannedReply.key) if by_category else (CannedReply.key,)
    return list(db.scalars(select(CannedReply).order_by(*order)))


_VAR = re.compile(r"\{([a-z_]+)\}")


def render_canned(
    db: Session, *, actor: User, key: str, lang: str, variables: dict[str, str]
) -> str:
    require(actor, "canned.use")
    row = db.scalar(select(CannedReply).where(CannedReply.key == key))
    if row is None:
        raise NotFound(f"canned reply {key!r} does not exist")
    template = row.body_en if lang.startswith("en") else row.body_zh
    values = {"today": date.today().isoformat(), **variables}
    # unknown variables stay visible (e.g. "{account_number}") rather than vanish silently
    return _VAR.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)


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
        raise field_error("key", "2–64 of a-z 0-9 _ . -")
    if db.scalar(select(CannedReply).where(CannedReply.key == key)):
        raise Conflict(f"canned reply {key!r} already exists")
    for field, value in (
        ("title_zh", title_zh),
        ("title_en", title_en),
        ("body_zh", body_zh),
        ("body_en", body_en),
    ):
        if not value.strip():
            raise field_error(field, "must not be empty")
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
