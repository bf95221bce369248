"""Macros: a canned text plus case actions (status, priority, tags, assign to me / unassign)
applied in one go. A macro is personal (its owner's) or shared (managed by supervisors with
``canned.manage``). Applying one runs each change through its own action — every change has its
own audit entry, plus one entry naming the macro — in the caller's one transaction, and returns
the text rendered for the case; the text is only inserted into the reply box, so it reaches the
customer through the guard like any reply."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.db import utcnow
from kefu.core.errors import Conflict, NotFound
from kefu.core.security import User, require
from kefu.desk.access import visible_case
from kefu.desk.assignment import assign_case
from kefu.desk.audit import DeskAudit
from kefu.desk.canned import case_variables, fill_template
from kefu.desk.cases import set_case_priority, set_case_status
from kefu.desk.models import PRIORITIES, Case, Macro
from kefu.desk.statuses import status_by_key
from kefu.desk.tags import MAX_TAGS, tag_case
from kefu.desk.validation import check_choice, field_error, normalise_tags

__all__ = [
    "ASSIGN",
    "apply_macro",
    "create_macro",
    "delete_macro",
    "list_macros",
    "load_macros",
    "macro_out",
    "update_macro",
]

#: what a macro does with the assignee: nothing, take the case, put it back in the queue
ASSIGN = ("", "me", "none")
_FIELDS = ("name", "body_zh", "body_en", "status", "priority", "add_tags", "remove_tags", "assign")


def macro_out(m: Macro, lang: str = "zh") -> dict[str, Any]:
    return {
        "id": m.id,
        "name": m.name,
        "shared": m.owner_id is None,
        "owner_id": m.owner_id,
        "body_zh": m.body_zh,
        "body_en": m.body_en,
        "status": m.status,
        "priority": m.priority,
        "add_tags": list(m.add_tags),
        "remove_tags": list(m.remove_tags),
        "assign": m.assign,
    }


def list_macros(db: Session, *, viewer: User, q: str = "") -> list[Macro]:
    """The shared macros and the viewer's own, by name; ``q`` narrows to names or texts that
    contain it."""
    require(viewer, "macro.use")
    stmt = select(Macro).where(or_(Macro.owner_id.is_(None), Macro.owner_id == viewer.id))
    for w in q.strip().lower().split()[:5]:
        like = f"%{w.replace('%', '').replace('_', '')}%"
        stmt = stmt.where(
            or_(
                func.lower(Macro.name).like(like),
                func.lower(Macro.body_zh).like(like),
                func.lower(Macro.body_en).like(like),
            )
        )
    return list(db.scalars(stmt.order_by(Macro.owner_id.is_(None), Macro.name, Macro.id)))


def _visible(db: Session, viewer: User, macro_id: int) -> Macro:
    m = db.get(Macro, macro_id)
    if m is None or (m.owner_id is not None and m.owner_id != viewer.id):
        raise NotFound(f"macro {macro_id} does not exist")
    return m


def _editable(db: Session, actor: User, macro_id: int) -> Macro:
    require(actor, "macro.use")
    m = _visible(db, actor, macro_id)
    if m.owner_id is None:
        require(actor, "canned.manage")
    return m


def _clean(db: Session, values: dict[str, Any]) -> dict[str, Any]:
    """Checks a macro's fields, naming the one that is wrong."""
    out = dict(values)
    if "name" in out:
        out["name"] = str(out["name"]).strip()
        if not out["name"]:
            raise field_error("name", "must not be empty", key="empty")
        if len(out["name"]) > 80:
            raise field_error("name", "at most 80 characters", key="at_most_chars", n=80)
    for f in ("body_zh", "body_en"):
        if f in out:
            out[f] = str(out[f]).strip()
            if len(out[f]) > 5000:
                raise field_error(f, "at most 5000 characters", key="at_most_chars", n=5000)
    if "status" in out:
        out["status"] = out["status"] or None
        if out["status"] is not None:
            status_by_key(db, out["status"])  # names an unknown status
    if "priority" in out:
        out["priority"] = out["priority"] or None
        if out["priority"] is not None:
            check_choice("priority", out["priority"], PRIORITIES)
    for f in ("add_tags", "remove_tags"):
        if f in out:
            out[f] = normalise_tags(out[f] or (), field=f)
            if len(out[f]) > MAX_TAGS:
                raise field_error(f, f"at most {MAX_TAGS} tags", key="at_most_tags", n=MAX_TAGS)
    if "assign" in out:
        out["assign"] = out["assign"] or ""
        check_choice("assign", out["assign"], ASSIGN)
    return out


def _does_something(m: Macro) -> bool:
    return bool(
        m.body_zh or m.body_en or m.status or m.priority or m.add_tags or m.remove_tags or m.assign
    )


def _name_taken(db: Session, name: str, owner_id: int | None, but: int | None = None) -> bool:
    owner = Macro.owner_id.is_(None) if owner_id is None else Macro.owner_id == owner_id
    stmt = select(Macro.id).where(owner, func.lower(Macro.name) == name.lower())
    if but is not None:
        stmt = stmt.where(Macro.id != but)
    return db.scalar(stmt) is not None


@action
def create_macro(
    db: Session,
    *,
    actor: User,
    name: str,
    shared: bool = False,
    body_zh: str = "",
    body_en: str = "",
    status: str | None = None,
    priority: str | None = None,
    add_tags: Sequence[str] = (),
    remove_tags: Sequence[str] = (),
    assign: str = "",
) -> Macro:
    require(actor, "macro.use")
    if shared:
        require(actor, "canned.manage")
    values = _clean(
        db,
        {
            "name": name,
            "body_zh": body_zh,
            "body_en": body_en,
            "status": status,
            "priority": priority,
            "add_tags": list(add_tags),
            "remove_tags": list(remove_tags),
            "assign": assign,
        },
    )
    owner_id = None if shared else actor.id
    if _name_taken(db, values["name"], owner_id):
        raise Conflict(key="errors.macro_exists", params={"name": repr(values["name"])})
    m = Macro(owner_id=owner_id, **values)
    if not _does_something(m):
        raise field_error(
            "body_zh", "a macro needs a text or at least one action", key="macro_empty"
        )
    db.add(m)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.macro_create,
        entity="macro",
        entity_id=m.id,
        data={"new": macro_out(m)},
    )
    return m


@action
def update_macro(db: Session, /, *, actor: User, macro_id: int, **changes: Any) -> Macro:
    """Changes the given fields (any of name, body_zh, body_en, status, priority, add_tags,
    remove_tags, assign) of a macro the actor may manage."""
    m = _editable(db, actor, macro_id)
    unknown = set(changes) - set(_FIELDS)
    if unknown:
        raise field_error(sorted(unknown)[0], "not a field of a macro")
    values = _clean(db, changes)
    if "name" in values and _name_taken(db, values["name"], m.owner_id, but=m.id):
        raise Conflict(key="errors.macro_exists", params={"name": repr(values["name"])})
    old = macro_out(m)
    diff = {k: v for k, v in values.items() if old.get(k) != v}
    if not diff:
        unchanged(db)
        return m
    for k, v in diff.items():
        setattr(m, k, v)
    if not _does_something(m):
        raise field_error(
            "body_zh", "a macro needs a text or at least one action", key="macro_empty"
        )
    m.updated_at = utcnow()
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.macro_update,
        entity="macro",
        entity_id=m.id,
        data={"old": {k: old[k] for k in diff}, "new": diff},
    )
    return m


@action
def delete_macro(db: Session, *, actor: User, macro_id: int) -> None:
    m = _editable(db, actor, macro_id)
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.macro_delete,
        entity="macro",
        entity_id=m.id,
        data={"old": macro_out(m)},
    )
    db.delete(m)
    db.flush()


@action
def apply_macro(
    db: Session, *, actor: User, case_id: int, macro_id: int, lang: str | None = None
) -> tuple[Case, str]:
    """Applies a macro's actions to a case and returns (case, its text rendered for the case in
    the case's language). All changes or none: a refused change refuses the macro."""
    case = visible_case(db, viewer=actor, case_id=case_id)
    require(actor, "case.update")
    m = _visible(db, actor, macro_id)
    done: list[str] = []
    if m.assign == "me" and case.assignee_id != actor.id:
        assign_case(db, actor=actor, case=case, to=actor.id)
        done.append("assign")
    elif m.assign == "none" and case.assignee_id is not None:
        assign_case(db, actor=actor, case=case, to=None)
        done.append("unassign")
    if m.priority and m.priority != case.priority:
        set_case_priority(db, actor=actor, case_id=case.id, priority=m.priority)
        done.append("priority")
    if m.add_tags or m.remove_tags:
        tag_case(db, actor=actor, case_id=case.id, add=m.add_tags, remove=m.remove_tags)
        done.append("tags")
    # the status last: a macro that resolves does so after its other changes
    if m.status and m.status != case.status.key:
        set_case_status(db, actor=actor, case_id=case.id, status=m.status)
        done.append("status")
    text_lang = lang or case.language
    template = m.body_en if text_lang.startswith("en") else m.body_zh
    text = fill_template(template or m.body_zh or m.body_en, case_variables(db, case, actor))
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.macro_apply,
        entity="case",
        entity_id=case.id,
        data={"macro_id": m.id, "name": m.name, "changed": done},
    )
    return case, text


def load_macros(db: Session, *, actor: User, specs: Sequence[dict[str, Any]]) -> int:
    """Adds the shared macros of ``specs`` (e.g. content/demo/macros.yaml) that are not there
    yet, by name; returns how many were added. Each is created through :func:`create_macro`."""
    added = 0
    for spec in specs:
        if _name_taken(db, str(spec["name"]).strip(), None):
            continue
        fields = {k: spec[k] for k in _FIELDS if k in spec}
        create_macro(db, actor=actor, shared=True, **fields)
        added += 1
    return added
