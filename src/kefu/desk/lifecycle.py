"""Status transitions of a case: the SLA clock pauses while waiting on the customer, a resolved
case asks for a rating, and every transition is on record (whoever or whatever caused it)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.db import utcnow
from kefu.core.events import emit
from kefu.core.i18n import t
from kefu.core.security import User
from kefu.desk.audit import DeskAudit
from kefu.desk.conversation import add_message
from kefu.desk.models import Case, CsatSurvey
from kefu.desk.sla_policies import pause_or_resume, refresh_next_due
from kefu.desk.statuses import status_by_key

#: called inside the transaction of the status change when a case becomes resolved or closed
#: (from an open or pending status): other contexts hook in through ``on_case_finished``
FinishedHook = Callable[[Session, Case, "User | None", datetime], None]
_FINISHED: list[FinishedHook] = []


def on_case_finished(hook: FinishedHook) -> None:
    """Registers ``hook(db, case, actor, now)`` (once): the quality context scores every case
    that finishes, in the same transaction as the change, so the two commit together."""
    if hook not in _FINISHED:
        _FINISHED.append(hook)


def change_status(
    db: Session, *, case: Case, actor: User | None, key: str, now: datetime | None = None
) -> bool:
    """Moves ``case`` to status ``key`` inside the calling action, with its audit entry and
    events; returns False when the case already has that status."""
    new = status_by_key(db, key)
    if case.status_id == new.id:
        return False
    now = now or utcnow()
    old_key, old_cat = case.status.key, case.status_category
    case.status_id, case.status, case.status_category = new.id, new, new.category
    pause_or_resume(db, case, new_category=new.category, now=now)
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=DeskAudit.case_update,
        entity="case",
        entity_id=case.id,
        data={"old": {"status": old_key}, "new": {"status": new.key}},
    )
    if new.category == "resolved" and old_cat != "resolved":
        case.resolved_at = now
        add_message(
            db,
            case=case,
            actor=None,
            kind="system",
            body=t("system.case_resolved", case.language) + " " + t("csat.request", case.language),
            at=now,
        )
        survey = db.scalar(select(CsatSurvey).where(CsatSurvey.case_id == case.id))
        if survey is None:
            db.add(CsatSurvey(case_id=case.id, requested_at=now))
    elif new.category == "closed":
        case.closed_at = now
        case.resolved_at = case.resolved_at or now
    elif new.category in ("open", "pending"):
        case.resolved_at = None
        case.closed_at = None
    case.updated_at = now
    refresh_next_due(case)
    if new.category in ("resolved", "closed") and old_cat not in ("resolved", "closed"):
        for hook in _FINISHED:
            hook(db, case, actor, now)
    changes = {"status": new.key}
    emit(db, f"case:{case.id}", {"type": "case.updated", "case_id": case.id, "changes": changes})
    emit(db, "desk", {"type": "case.updated", "case_id": case.id})
    return True


def open_if_new(
    db: Session, *, case: Case, actor: User | None, now: datetime | None = None
) -> None:
    """Someone has taken up a new case (assigned it, answered it, ended its chat): it is no
    longer new, and the customer's view follows through the same events as any change."""
    if case.status.key == "new":
        change_status(db, case=case, actor=actor, key="open", now=now)
