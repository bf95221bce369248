"""What every synced or edited catalogue item shares: the hash of its content (a sync that finds
the same hash writes nothing) and the report of a content sync or import."""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field
from typing import Any


def content_hash(data: Any) -> str:
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    kept_console_edits: list[str] = field(default_factory=list)
    unchanged: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "retired": self.retired,
            "kept_console_edits": self.kept_console_edits,
            "unchanged": self.unchanged,
        }
