"""The append-only, hash-chained audit log.

Each entry stores ``seq`` (1, 2, 3 …), the previous entry's hash and its own hash over a canonical
JSON of its content. A single ``audit_head`` row holds the last seq and hash and is locked while an
entry is appended, so concurrent writers cannot fork the chain. Altering any row breaks its hash;
deleting one leaves a gap in ``seq`` (or a head that no longer matches the last row).
"""

from __future__ import annotations

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

from sqlalchemy import JSON, BigInteger, Integer, String, select
from sqlalchemy.orm import Mapped, Session, mapped_column

from kefu.core.db import Base, UTCDateTime, utcnow

GENESIS = "0" * 64
#: session.info key of the running actions (see core/actions.py): an entry marks the innermost
ACTION_FRAMES = "kefu_action_frames"


class AuditEntry(Base):
    __tablename__ = "audit_log"

    id: Mapped[int] = mapped_column(primary_key=True)
    seq: Mapped[int] = mapped_column(BigInteger, unique=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime)
    actor_id: Mapped[int | None] = mapped_column(Integer, nullable=True, index=True)
    action: Mapped[str] = mapped_column(String(64), index=True)
    entity: Mapped[str] = mapped_column(String(32))
    entity_id: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    prev_hash: Mapped[str] = mapped_column(String(64))
    hash: Mapped[str] = mapped_column(String(64))


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


def record(
    db: Session,
    *,
    actor_id: int | None,
    action: StrEnum | str,
    entity: str,
    entity_id: object,
    data: dict[str, Any] | None = None,
) -> AuditEntry:
    """Appends one entry in the caller's transaction (commits with the change it records).
    ``action`` is a member of the context's audit enum (``desk/audit.py`` …)."""
    frames = db.info.get(ACTION_FRAMES)
    if frames:
        frames[-1].audited = True
    head = db.execute(select(AuditHead).where(AuditHead.id == 1).with_for_update()).scalar()
    if head is None:
        head = AuditHead(id=1, seq=0, hash=GENESIS)
        db.add(head)
        db.flush()
    payload = _jsonable(data or {})
    at = utcnow()
    seq = head.seq + 1
    digest = entry_hash(
        seq=seq,
        at=at,
        actor_id=actor_id,
        action=str(action),
        entity=entity,
        entity_id=str(entity_id),
        data=payload,
        prev_hash=head.hash,
    )
    entry = AuditEntry(
        seq=seq,
        at=at,
        actor_id=actor_id,
        action=str(action),
        entity=entity,
        entity_id=str(entity_id),
        data=payload,
        prev_hash=head.hash,
        hash=digest,
    )
    db.add(entry)
    head.seq = seq
    head.hash = digest
    db.flush()
    return entry


@dataclass(frozen=True)
class VerifyResult:
    ok: bool
    checked: int
    broken_seq: int | None = None
    broken_id: int | None = None
    reason: str = ""


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
    last_id = 0
    while True:
        rows = db.scalars(
            select(AuditEntry).where(AuditEntry.id > last_id).order_by(AuditEntry.id).limit(batch)
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
            digest = entry_hash(
                seq=e.seq,
                at=e.at,
                actor_id=e.actor_id,
                action=e.action,
                entity=e.entity,
                entity_id=e.entity_id,
                data=e.data,
                prev_hash=e.prev_hash,
            )
            if digest != e.hash:
                return VerifyResult(
                    False, checked, e.seq, e.id, f"entry seq {e.seq} was altered (hash mismatch)"
                )
            if e.seq in wanted:
                seen[e.seq] = e.hash
            prev = e.hash
            expected_seq += 1
            checked += 1
            last_id = e.id
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
    return VerifyResult(True, checked)
