"""Idempotency keys of merged cases (kefu.desk.merge): a retry sent to a case that was merged
into another finds the message the merge moved there. Kept apart so the message path
(kefu.desk.messages) needs nothing else of the merge."""

from __future__ import annotations

import hashlib

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.desk.models import Case, Message

__all__ = ["follow_merge", "merged_refusal", "moved_key", "prior_after_merge"]


def moved_key(source_id: int, key: str) -> str:
    """The idempotency key a moved message carries when the target already used its key."""
    return f"m{source_id}-" + hashlib.sha256(key.encode()).hexdigest()[:40]


def prior_after_merge(db: Session, case: Case, key: str) -> Message | None:
    """The message a key names on a case merged into another: where the merge moved it."""
    if case.merged_into_id is None:
        return None
    for k in (moved_key(case.id, key), key):
        m = db.scalar(
            select(Message).where(
                Message.case_id == case.merged_into_id, Message.idempotency_key == k
            )
        )
        if m is not None:
            return m
    return None


def follow_merge(db: Session, case: Case | None) -> Case | None:
    """The case where a merged case's matter goes on (itself when it was not merged): what a
    reply to an old e-mail thread of the merged case lands on."""
    for _ in range(8):  # a chain of merges, each into a case not merged before
        if case is None or case.merged_into_id is None:
            return case
        case = db.get(Case, case.merged_into_id)
    return case


#: set in ``Session.info`` while a merge moves messages (the only writes a merged case takes)
MERGING = "kefu_merging"


def merged_refusal(case: Case) -> str | None:
    """What a write to a merged case is told, None for a case that was not merged."""
    if case.merged_into_id is None:
        return None
    return (
        f"case #{case.id} was merged into #{case.merged_into_id} and is read-only: "
        f"continue in case #{case.merged_into_id}"
    )
