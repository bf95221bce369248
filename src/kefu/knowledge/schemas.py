"""Read models of the knowledge API."""

from __future__ import annotations

from typing import Any

from kefu.knowledge.models import KbQuestionCandidate


def candidate_out(c: KbQuestionCandidate) -> dict[str, Any]:
    """A candidate question as the editor's API shows it."""
    return {
        "id": c.id,
        "lang": c.lang,
        "text": c.text,
        "seen": c.seen,
        "status": c.status,
        "first_case_id": c.first_case_id,
        "last_seen_at": c.last_seen_at.isoformat(),
    }
