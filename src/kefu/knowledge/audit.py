"""The knowledge context's audit action names (the strings stored in the audit log)."""

from __future__ import annotations

from enum import StrEnum


class KnowledgeAudit(StrEnum):
    article_create = "kb.create"
    article_update = "kb.update"
    article_revert = "kb.revert"
    candidate = "kb.candidate"
    candidate_added = "kb.candidate_added"
    candidate_dismissed = "kb.candidate_dismissed"
    help_feedback = "kb.help_feedback"
