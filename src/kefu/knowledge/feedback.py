""" "Was this helpful?" under the help centre's articles: one answer per article and visitor
(voting again changes it), a cap on how many answers one visitor gives an hour, and the
counts the knowledge console shows its editors per article."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import case, func, select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.db import utcnow
from kefu.core.errors import TooManyRequests, ValidationFailed
from kefu.core.security import User
from kefu.knowledge.audit import KnowledgeAudit
from kefu.knowledge.models import HelpFeedback, KbArticle
from kefu.knowledge.store import get_article

__all__ = [
    "HOURLY_LIMIT",
    "FeedbackCount",
    "feedback_counts",
    "record_help_feedback",
    "visitor_key",
]

#: answers one visitor may give (or change) in an hour: enough for anyone reading, too few to
#: skew the counts by script
HOURLY_LIMIT = 30


def visitor_key(*, user: User | None, cookie: str | None) -> str:
    """Who answered: a logged-in user by id, an anonymous browser by (a hash of) its cookie."""
    if user is not None:
        return f"u:{user.id}"
    if not cookie or not 16 <= len(cookie) <= 128:
        raise ValidationFailed(
            key="knowledge.errors.cookie_missing",
            fields=[{"field": "visitor", "message": "missing or malformed cookie"}],
        )
    return "a:" + hashlib.sha256(cookie.encode()).hexdigest()[:64]


@action
def record_help_feedback(
    db: Session, *, actor: User | None, slug: str, visitor: str, helpful: bool, lang: str
) -> bool:
    """Records (or changes) ``visitor``'s answer under article ``slug``; returns whether it
    changed anything. Refused with 429 once the visitor gave :data:`HOURLY_LIMIT` answers in
    the last hour."""
    article = get_article(db, slug)
    row = db.scalar(
        select(HelpFeedback).where(
            HelpFeedback.article_id == article.id, HelpFeedback.visitor == visitor
        )
    )
    if row is not None and row.helpful == helpful:
        unchanged(db)
        return False
    recent = db.scalar(
        select(func.count(HelpFeedback.id)).where(
            HelpFeedback.visitor == visitor,
            HelpFeedback.updated_at >= utcnow() - timedelta(hours=1),
        )
    )
    if (recent or 0) >= HOURLY_LIMIT:
        raise TooManyRequests(
            key="knowledge.errors.answers_per_hour", params={"n": HOURLY_LIMIT}, retry_after=3600
        )
    now = utcnow()
    old = None if row is None else row.helpful
    if row is None:
        row = HelpFeedback(
            article_id=article.id,
            visitor=visitor,
            helpful=helpful,
            lang="en" if lang == "en" else "zh",
            created_at=now,
            updated_at=now,
        )
        db.add(row)
    else:
        row.helpful, row.updated_at = helpful, now
    db.flush()
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=KnowledgeAudit.help_feedback,
        entity="kb_article",
        entity_id=article.slug,
        # an anonymous visitor is kept as the hash only, never the cookie
        data={"helpful": {"old": old, "new": helpful}, "visitor": visitor[:14]},
    )
    return True


@dataclass(frozen=True)
class FeedbackCount:
    helpful: int
    not_helpful: int

    @property
    def total(self) -> int:
        return self.helpful + self.not_helpful


def feedback_counts(db: Session) -> dict[str, FeedbackCount]:
    """Yes and no answers per article slug (articles nobody answered are left out)."""
    rows = db.execute(
        select(
            KbArticle.slug,
            func.sum(case((HelpFeedback.helpful.is_(True), 1), else_=0)),
            func.sum(case((HelpFeedback.helpful.is_(False), 1), else_=0)),
        )
        .join(HelpFeedback, HelpFeedback.article_id == KbArticle.id)
        .group_by(KbArticle.slug)
    ).all()
    return {slug: FeedbackCount(int(yes or 0), int(no or 0)) for slug, yes, no in rows}
