"""Tags on cases and bulk work on a selection of the queue.

A tag is a staff label ("vip", "退款", "app-crash"): lower-cased, 1–32 letters, digits, ``-``,
``_`` or ``.``, at most :data:`MAX_TAGS` per case, never shown to the customer. A bulk edit applies
the same change to up to :data:`MAX_BULK` cases through the one-case actions, so every case gets
its own audit entry and event, in the caller's one transaction: one refused case refuses all."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.db import utcnow
from kefu.core.events import emit
from kefu.core.security import User, require
from kefu.desk.access import visible_case
from kefu.desk.assignment import assign_case
from kefu.desk.audit import DeskAudit
from kefu.desk.cases import set_case_priority, set_case_status
from kefu.desk.models import Case, CaseTag
from kefu.desk.validation import field_error, normalise_tags

__all__ = ["MAX_BULK", "MAX_TAGS", "bulk_update", "tag_case"]

MAX_TAGS = 10
MAX_BULK = 200


@action
def tag_case(
    db: Session,
    *,
    actor: User,
    case_id: int,
    add: Sequence[str] = (),
    remove: Sequence[str] = (),
) -> Case:
    """Adds and removes tags on one case (one audit entry with the old and new set)."""
    case = visible_case(db, viewer=actor, case_id=case_id)
    require(actor, "case.update")
    adding, removing = normalise_tags(add, field="add"), normalise_tags(remove, field="remove")
    old = case.tags
    new = [t for t in old if t not in removing] + [
        t for t in adding if t not in old and t not in removing
    ]
    if len(new) > MAX_TAGS:
        raise field_error(
            "add", f"a case carries at most {MAX_TAGS} tags", key="max_tags", n=MAX_TAGS
        )
    if new == old:
        unchanged(db)
        return case
    case.tag_rows = [r for r in case.tag_rows if r.tag in new] + [
        CaseTag(case_id=case.id, tag=t) for t in new if t not in old
    ]
    case.updated_at = utcnow()
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.case_tags,
        entity="case",
        entity_id=case.id,
        data={"old": {"tags": old}, "new": {"tags": sorted(new)}},
    )
    emit(db, "desk", {"type": "case.updated", "case_id": case.id})
    return case


def bulk_update(
    db: Session,
    *,
    actor: User,
    case_ids: Sequence[int],
    status: str | None = None,
    priority: str | None = None,
    assignee_id: int | None = None,
    unassign: bool = False,
    add_tags: Sequence[str] = (),
    remove_tags: Sequence[str] = (),
) -> list[Case]:
    """The same change on every selected case, each through its own action. Every case must be
    one the actor may edit; otherwise nothing changes (the caller's transaction rolls back)."""
    require(actor, "case.update")
    ids = list(dict.fromkeys(case_ids))
    if not ids:
        raise field_error("case_ids", "select at least one case", key="select_cases")
    if len(ids) > MAX_BULK:
        raise field_error(
            "case_ids", f"at most {MAX_BULK} cases at once", key="at_most_cases", n=MAX_BULK
        )
    if not any((status, priority, assignee_id, unassign, add_tags, remove_tags)):
        raise field_error(
            "status",
            "nothing to change: give a status, priority, assignee or tags",
            key="nothing_to_change",
        )
    # tenancy and existence first, so a bad id refuses the batch before anything is written
    cases = [visible_case(db, viewer=actor, case_id=i) for i in ids]
    for case in cases:
        if status is not None:
            set_case_status(db, actor=actor, case_id=case.id, status=status)
        if priority is not None:
            set_case_priority(db, actor=actor, case_id=case.id, priority=priority)
        if unassign or assignee_id is not None:
            assign_case(db, actor=actor, case=case, to=None if unassign else assignee_id)
        if add_tags or remove_tags:
            tag_case(db, actor=actor, case_id=case.id, add=add_tags, remove=remove_tags)
    return cases
