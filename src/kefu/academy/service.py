"""The academy's public face: what the CLI, the demo and other contexts call
(``from kefu.academy import service as academy``). The use cases live by topic in
``catalogue.py`` (content sync, banks, courses, lessons, personas), ``quizzes.py``,
``roleplays.py``, ``programmes.py`` (certificates, mentors, progress) and ``updates.py``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from kefu.academy import catalogue, updates
from kefu.academy.catalogue import SyncReport, export_gift, export_moodle, import_gift
from kefu.academy.content import ContentError
from kefu.academy.programmes import enrol, reassess_expired, trainees
from kefu.academy.updates import completion, pending_for, sync_updates
from kefu.core.errors import KefuError

__all__ = [
    "ContentError",
    "KefuError",
    "SyncReport",
    "completion",
    "enrol",
    "export_gift",
    "export_moodle",
    "import_gift",
    "pending_for",
    "reassess_expired",
    "sync_content",
    "sync_updates",
    "trainees",
]


def sync_content(db: Session, *, folder: Path | None = None, force: bool = False) -> dict[str, Any]:
    """``kefu content sync``'s academy part: courses, lessons, banks, personas and programmes
    from content/academy, then the product-knowledge updates of recent rule changes."""
    report = catalogue.sync(db, folder=folder, force=force)
    return {**report.to_dict(), "updates": updates.sync_updates(db)}
