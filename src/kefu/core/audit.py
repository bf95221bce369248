"""The append-only, hash-chained audit log.

A writer appends its entry *unsealed* in its own transaction (no lock: writers never wait on one
another). A sealer (:func:`seal`; the web app runs one every ``KEFU_AUDIT_SEAL_SECONDS``, and
``kefu audit seal`` does the same) then chains the committed entries in batches: it takes the
``audit_head`` row's lock, gives each entry the next ``seq``, the previous entry's hash and its
own hash over a canonical JSON of its content. Altering a sealed row breaks its hash; deleting
one leaves a gap in ``seq`` (or a head that no longer matches the last row); the database refuses
UPDATE and DELETE on the log except the one update that seals an unsealed entry unchanged.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import json
import os
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from pathlib import Path
from typing import Any

from sqlalchemy import JSON, BigInteger, Integer, String, func, insert, select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.orm import Mapped, Session, mapped_column

from kefu.core.db import Base, UTCDateTime, utcnow

GENESIS = "0" * 64
#: session.info key of the running actions (see core/actions.py): an entry marks the innermost
ACTION_FRAMES = "kefu_action_frames"
#: session.info key: while set (a list), :func:`record` collects its entries there and
#: :func:`insert_collected` writes them in one statement (kefu.core.actions.batched)
COLLECTED = "kefu_audit_collected"


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    #: the entry's place in the chain; None until the sealer chains it (seconds after commit)
    seq: Mapped[int | None] = mapped_column(BigInteger, unique=True, nullable=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str | None] = mapped_column(String(64), nullable=True)
    hash: Mapped[str | None] = mapped_column(String(64), nullable=True)


class AuditHead(Base):
    __tablename__ = "audit_head"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, default=0)
    hash: Mapped[str] = mapped_column(String(64), default=GENESIS)


def _jsonable(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, datetime):
        return value.isoformat()
    if isinstance(value, dict):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [_jsonable(v) for v in value]
    return value


def entry_hash(
    *,
    seq: int,
    at: datetime,
    actor_id: int | None,
    action: str,
    entity: str,
    entity_id: str,
    data: dict[str, Any],
    prev_hash: str,
) -> str:
    canonical = json.dumps(
        {
            "seq": seq,
            "at": at.isoformat(timespec="microseconds"),
            "actor": actor_id,
            "action": action,
            "entity": entity,
            "entity_id": entity_id,
            "data": data,
            "prev": prev_hash,
        },
        sort_keys=True,
        ensure_ascii=False,
        separators=(",", ":"),
    )
    return hashlib.sha256(canonical.encode()).hexdigest()


def _chained_hash(e: AuditEntry, seq: int, prev: str) -> str:
    """The hash ``e`` has at place ``seq`` after an entry hashed ``prev`` (sealer and verify)."""
    return entry_hash(
        seq=seq,
        at=e.at,
        actor_id=e.actor_id,
        action=e.action,
        entity=e.entity,
        entity_id=e.entity_id,
        data=e.data,
        prev_hash=prev,
    )


def record(
    db: Session,
    *,
    actor_id: int | None,
    action: StrEnum | str,
    entity: str,
    entity_id: object,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Appends one entry in the caller's transaction (commits with the change it records), not
    yet chained: :func:`seal` chains it after commit. ``action`` is a member of the context's
    audit enum (``desk/audit.py`` …)."""
    frames = db.info.get(ACTION_FRAMES)
    if frames:
        frames[-1].audited = True
    entry = AuditEntry(
        at=utcnow(),
        actor_id=actor_id,
        action=str(action),
        entity=entity,
        entity_id=str(entity_id),
        data=_jsonable(data or {}),
    )
    collected: list[AuditEntry] | None = db.info.get(COLLECTED)
    if collected is not None:
        collected.append(entry)  # a batch of actions: one INSERT for all at its end
        return entry
    db.add(entry)  # written with the action's own flush (core/actions.py), not one of its own
    return entry


def insert_collected(db: Session) -> int:
    """Writes the entries :func:`record` collected in ``db`` (see ``COLLECTED``) with one
    multi-row INSERT, and stops collecting. Returns how many it wrote."""
    entries: list[AuditEntry] = db.info.pop(COLLECTED, None) or []
    if entries:
        db.connection().execute(
            insert(AuditEntry.__table__),  # type: ignore[arg-type]
            [
                {
                    "at": e.at,
                    "actor_id": e.actor_id,
                    "action": e.action,
                    "entity": e.entity,
                    "entity_id": e.entity_id,
                    "data": e.data,
                }
                for e in entries
            ],
        )
    return len(entries)


def seal(db: Session, *, limit: int = 5000) -> int:
    """Chains up to ``limit`` committed, unsealed entries in the order they are found (their
    ids), under the head row's lock, and returns how many it sealed. The caller commits. Two
    sealers take turns on the lock; on SQLite, where that lock is a no-op, the loser fails on the
    unique ``seq`` and simply tries again later (see :func:`seal_pending`)."""
    head = db.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        db.add(head)
        db.flush()
    rows = db.scalars(
        select(AuditEntry).where(AuditEntry.seq.is_(None)).order_by(AuditEntry.id).limit(limit)
    ).all()
    seq, prev = head.seq, head.hash
    for e in rows:
        seq += 1
        e.seq, e.prev_hash = seq, prev
        e.hash = prev = _chained_hash(e, seq, prev)
    head.seq, head.hash = seq, prev
    db.flush()
    return len(rows)


def seal_pending(session_factory: Any, *, lock: Any = None, limit: int = 5000) -> int:
    """Seals everything committed so far, batch by batch, each batch its own transaction;
    returns the number sealed. A batch that loses a race with another process is retried."""
    total = 0
    for _attempt in range(1000):
        try:
            with lock if lock is not None else contextlib.nullcontext(), session_factory() as s:
                n = seal(s, limit=limit)
                s.commit()
        except (IntegrityError, OperationalError):
            continue  # another sealer chained the same entries first
        total += n
        if n < limit:
            return total
    return total


def pending(db: Session) -> int:
    """Entries recorded but not yet sealed."""
    return int(
        db.scalar(select(func.count()).select_from(AuditEntry).where(AuditEntry.seq.is_(None))) or 0
    )


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""
    #: entries recorded but not yet sealed (not part of the proof until the sealer runs)
    pending: int = 0


# --- checkpoints: the chain anchored outside the database ------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    """The head's seq and hash at a moment, signed with a key the database does not hold."""

    seq: int
    hash: str
    at: str
    mac: str

    def to_json(self) -> str:
        return json.dumps(
            {"seq": self.seq, "hash": self.hash, "at": self.at, "mac": self.mac},
            separators=(",", ":"),
        )


def _checkpoint_mac(key: bytes, seq: int, digest: str, at: str) -> str:
    return hmac.new(
        key, f"kefu-audit-checkpoint:{seq}:{digest}:{at}".encode(), "sha256"
    ).hexdigest()


def make_checkpoint(db: Session, key: bytes) -> Checkpoint | None:
    """A signed checkpoint of the current head (None while the log is empty)."""
    head = db.get(AuditHead, 1)
    if head is None or head.seq == 0:
        return None
    at = utcnow().isoformat(timespec="seconds")
    return Checkpoint(head.seq, head.hash, at, _checkpoint_mac(key, head.seq, head.hash, at))


def append_checkpoint(path: Path, checkpoint: Checkpoint) -> None:
    """Appends to the checkpoint file (opened for appending only, readable by its owner);
    keep it where the database's users cannot write, or ship it off the machine."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
    with os.fdopen(fd, "a", encoding="utf-8") as f:
        f.write(checkpoint.to_json() + "\n")


def read_checkpoints(path: Path) -> list[Checkpoint]:
    if not path.exists():
        return []
    out = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        try:
            d = json.loads(line)
            out.append(Checkpoint(int(d["seq"]), str(d["hash"]), str(d["at"]), str(d["mac"])))
        except (ValueError, KeyError, TypeError) as exc:
            raise ValueError(f"{path}: line {n} is not a checkpoint") from exc
    return out


def verify(
    db: Session,
    *,
    batch: int = 5000,
    checkpoints: Sequence[Checkpoint] = (),
    key: bytes | None = None,
) -> VerifyResult:
    """Walks the chain in order; names the first entry that was altered, removed or inserted.
    With checkpoints (and their key) it also proves that nothing was cut from the end or
    re-hashed: every checkpointed seq must still hold the hash that was signed."""
    for cp in checkpoints:
        if key is None or not hmac.compare_digest(
            cp.mac, _checkpoint_mac(key, cp.seq, cp.hash, cp.at)
        ):
            return VerifyResult(
                False, 0, cp.seq, None, f"the checkpoint of {cp.at} is not signed with this key"
            )
    wanted = {cp.seq for cp in checkpoints}
    seen: dict[int, str] = {}
    result = _walk(db, batch=batch, wanted=wanted, seen=seen)
    if not result.ok:
        return result
    for cp in sorted(checkpoints, key=lambda c: c.seq):
        if cp.seq not in seen:
            return VerifyResult(
                False,
                result.checked,
                result.checked + 1,
                None,
                f"the log ends at seq {result.checked} but the checkpoint of {cp.at} vouches "
                f"for seq {cp.seq}: entries were deleted",
            )
        if seen[cp.seq] != cp.hash:
            return VerifyResult(
                False,
                result.checked,
                cp.seq,
                None,
                f"entry seq {cp.seq} is not the one the checkpoint of {cp.at} signed: "
                "the chain was rewritten",
            )
    return result


def _walk(db: Session, *, batch: int, wanted: set[int], seen: dict[int, str]) -> VerifyResult:
    prev = GENESIS
    expected_seq = 1
    checked = 0
    last_seq = 0
    while True:
        rows = db.scalars(
            select(AuditEntry)
            .where(AuditEntry.seq > last_seq)
            .order_by(AuditEntry.seq)
            .limit(batch)
        ).all()
        if not rows:
            break
        for e in rows:
            if e.seq != expected_seq:
                return VerifyResult(
                    False,
                    checked,
                    expected_seq,
                    e.id,
                    f"entry seq {expected_seq} is missing (next row id {e.id} has seq {e.seq})",
                )
            if e.prev_hash != prev:
                return VerifyResult(
                    False,
                    checked,
                    e.seq,
                    e.id,
                    f"entry seq {e.seq} does not follow its predecessor",
                )
            digest = _chained_hash(e, e.seq, prev)
            if digest != e.hash:
                return VerifyResult(
                    False, checked, e.seq, e.id, f"entry seq {e.seq} was altered (hash mismatch)"
                )
            if e.seq in wanted:
                seen[e.seq] = e.hash
            prev = digest
            expected_seq += 1
            checked += 1
            last_seq = e.seq
        db.expunge_all()
    head = db.get(AuditHead, 1)
    if head is not None and (head.seq != checked or head.hash != prev):
        return VerifyResult(
            False,
            checked,
            checked + 1,
            None,
            f"the log ends at seq {checked} but the head records seq {head.seq}: "
            "entries after it were deleted",
        )
    return VerifyResult(True, checked, pending=pending(db))
