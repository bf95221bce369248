"""Actions: the one way Kefu changes state (after Zulip's ``do_*`` functions).

An action is a service function decorated with :func:`action`. It runs in the caller's
transaction, writes its audit entry (:func:`kefu.core.audit.record`) and queues its events
(:func:`kefu.core.events.emit`, published only after the outermost commit). An action that
returns without an audit entry of its own raises :class:`MissingAudit`: a state change nobody
can trace is a bug, so it fails loudly in every test that reaches it. An action that found
nothing to change says so with :func:`unchanged`.

Refusals that must stay on record although the request fails (a guard block, a failed login)
are written by :func:`keep_on_record` through a session of their own once the caller's
transaction is over, so no service ever commits in the middle of a request.
"""

from __future__ import annotations

import contextlib
import functools
import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, Concatenate, ParamSpec, TypeVar

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

from kefu.core import audit

log = logging.getLogger("kefu.actions")

P = ParamSpec("P")
R = TypeVar("R")

_FRAMES = audit.ACTION_FRAMES
_ON_RECORD = "kefu_on_record"
_ACTIONS_ONLY = "kefu_actions_only"
_BATCHED = "kefu_batched"


class MissingAudit(RuntimeError):
    """An action returned without writing its audit entry (a programming error)."""


@dataclass
class _Frame:
    name: str
    audited: bool = False


def action(fn: Callable[Concatenate[Session, P], R]) -> Callable[Concatenate[Session, P], R]:
    """Marks ``fn(db, *, actor, …)`` as an action: it must write an audit entry of its own
    (an entry written by a nested action counts for that action, not for this one)."""
    name = f"{fn.__module__}.{fn.__qualname__}"

    @functools.wraps(fn)
    def run(db: Session, /, *args: P.args, **kwargs: P.kwargs) -> R:
        frames: list[_Frame] = db.info.setdefault(_FRAMES, [])
        frame = _Frame(name)
        frames.append(frame)
        try:
            result = fn(db, *args, **kwargs)
            if not db.info.get(_BATCHED):
                db.flush()  # the action's own writes reach the database inside its frame
        finally:
            frames.pop()
        if not frame.audited:
            raise MissingAudit(f"action {name} returned without an audit entry")
        return result

    run.__kefu_action__ = True  # type: ignore[attr-defined]
    return run


class OutsideAction(RuntimeError):
    """A session that serves a request tried to write outside any action."""


def actions_only(db: Session) -> Session:
    """Makes ``db`` refuse to flush changes made outside an action: the request sessions of the
    web app and the chat socket are marked, so a view that writes directly fails loudly."""
    db.info[_ACTIONS_ONLY] = True
    return db


@sa_event.listens_for(Session, "before_flush")
def _only_actions_write(session: Session, _context: Any, _instances: Any) -> None:
    if not session.info.get(_ACTIONS_ONLY) or session.info.get(_FRAMES):
        return
    changed = [*session.new, *session.dirty, *session.deleted]
    changed = [o for o in changed if o in session.new or session.is_modified(o)]
    if changed:
        names = sorted({type(o).__name__ for o in changed})
        raise OutsideAction(f"write outside an action: {', '.join(names)}")


def in_batch(db: Session) -> bool:
    """True inside :func:`batched`: actions neither flush nor open savepoints of their own."""
    return bool(db.info.get(_BATCHED))


@contextlib.contextmanager
def batched(db: Session) -> Iterator[None]:
    """Runs many actions as one unit: none flushes on its own (nor autoflushes before a
    query), and one flush at the end writes what they all added — the audit entries of a
    batch of chat messages in one INSERT instead of one flush per message. Any error means the
    whole unit is rolled back by the caller: an action in a batch has no savepoint of its own
    (the chat's group-commit writer then redoes the batch one savepoint per write). The
    actions' audit check (:class:`MissingAudit`) still runs for each action, and their audit
    entries are written together in one multi-row INSERT."""
    db.info[_BATCHED] = True
    db.info[audit.COLLECTED] = []
    try:
        with db.no_autoflush:
            yield
        frames: list[_Frame] = db.info.setdefault(_FRAMES, [])
        frames.append(_Frame("batch", audited=True))  # the actions' own writes
        try:
            db.flush()
            audit.insert_collected(db)
        finally:
            frames.pop()
    finally:
        db.info.pop(_BATCHED, None)
        db.info.pop(audit.COLLECTED, None)


def discard_kept_records(db: Session) -> None:
    """Forgets the refusals :func:`keep_on_record` queued in ``db``'s transaction: for a unit
    that is rolled back and run again, which queues them anew."""
    db.info.pop(_ON_RECORD, None)


def unchanged(db: Session) -> None:
    """Declares that the running action found nothing to change (so it writes no entry)."""
    frames: list[_Frame] = db.info.get(_FRAMES, [])
    if frames:
        frames[-1].audited = True


def is_action(fn: object) -> bool:
    return bool(getattr(fn, "__kefu_action__", False))


def keep_on_record(db: Session, write: Callable[[Session], None]) -> None:
    """Runs ``write`` in a session of its own once ``db``'s transaction ends (committed or
    rolled back), so a refusal is recorded even when the request that caused it fails."""
    if not db.in_transaction():
        _write_now(db, write)
        return
    db.info.setdefault(_ON_RECORD, []).append(write)


def record_refusal(
    db: Session,
    *,
    actor_id: int | None,
    action: StrEnum,
    entity: str,
    entity_id: object,
    data: dict[str, Any] | None = None,
) -> None:
    """An audit entry that survives the failure of the request that caused it."""

    def write(s: Session) -> None:
        audit.record(
            s, actor_id=actor_id, action=action, entity=entity, entity_id=entity_id, data=data
        )

    keep_on_record(db, write)


def _write_now(db: Session, write: Callable[[Session], None]) -> None:
    s = Session(bind=db.get_bind(), expire_on_commit=False)
    try:
        write(s)
        s.commit()
    except Exception:
        s.rollback()
        log.exception("could not keep a refusal on record")
        raise
    finally:
        s.close()


@sa_event.listens_for(Session, "after_transaction_end")
def _write_kept_records(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is not None:
        return
    writes = session.info.pop(_ON_RECORD, None)
    for write in writes or ():
        # a failure is logged by _write_now; the caller's own outcome stands
        with contextlib.suppress(Exception):
            _write_now(session, write)
