"""The editors' loop: customers' words that an article answered become candidate questions of
the article; an editor adds one (a new, guard-screened version) or dismisses it."""

from __future__ import annotations

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.core import actions, audit
from kefu.core.actions import action
from kefu.core.db import utcnow
from kefu.core.errors import NotFound, Phrase, ValidationFailed
from kefu.core.security import User, require
from kefu.knowledge.audit import KnowledgeAudit
from kefu.knowledge.models import KbArticle, KbQuestionCandidate
from kefu.knowledge.search import is_chinese
from kefu.knowledge.store import get_article, update_article

CANDIDATE_MAX_CHARS = 120


@action
def propose_question(
    db: Session, *, actor: User, slug: str, text: str, case_id: int | None = None
) -> KbQuestionCandidate | None:
    """Records that ``text`` (a customer's message, already redacted of personal data) was
    answered with article ``slug``. The same words again count up; None when they are no
    question for an article (too long or short) or already one of its questions."""
    require(actor, "kb.suggest")
    row = get_article(db, slug)
    text = " ".join(text.split())
    if not 2 <= len(text) <= CANDIDATE_MAX_CHARS:
        actions.unchanged(db)
        return None
    lang = "zh" if is_chinese(text) else "en"
    if text in (row.questions_zh if lang == "zh" else row.questions_en):
        actions.unchanged(db)
        return None
    now = utcnow()
    cand = db.scalar(
        select(KbQuestionCandidate).where(
            KbQuestionCandidate.article_id == row.id,
            KbQuestionCandidate.lang == lang,
            KbQuestionCandidate.text == text,
        )
    )
    if cand is None:
        cand = KbQuestionCandidate(
            article_id=row.id,
            lang=lang,
            text=text,
            seen=1,
            status="open",
            first_case_id=case_id,
            proposed_by=actor.id,
            created_at=now,
            last_seen_at=now,
        )
        db.add(cand)
    else:
        cand.seen += 1
        cand.last_seen_at = now
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=KnowledgeAudit.candidate,
        entity="kb_article",
        entity_id=slug,
        data={"candidate": cand.id, "text": text, "case_id": case_id, "seen": cand.seen},
    )
    return cand


def candidates(db: Session, slug: str, status: str = "open") -> list[KbQuestionCandidate]:
    """An article's candidate questions, the most frequent first."""
    row = get_article(db, slug)
    return list(
        db.scalars(
            select(KbQuestionCandidate)
            .where(KbQuestionCandidate.article_id == row.id, KbQuestionCandidate.status == status)
            .order_by(KbQuestionCandidate.seen.desc(), KbQuestionCandidate.id)
        )
    )


def open_candidate_counts(db: Session) -> dict[str, int]:
    """slug → number of open candidates, for the editor's article list."""
    rows = db.execute(
        select(KbArticle.slug, func.count(KbQuestionCandidate.id))
        .join(KbQuestionCandidate, KbQuestionCandidate.article_id == KbArticle.id)
        .where(KbQuestionCandidate.status == "open")
        .group_by(KbArticle.slug)
    ).all()
    return {slug: int(n) for slug, n in rows}


@action
def decide_candidate(
    db: Session, *, actor: User, slug: str, candidate_id: int, accept: bool
) -> KbQuestionCandidate:
    """An editor adds a candidate to the article's questions (a new, guard-screened version)
    or dismisses it; a dismissed text is not proposed again as open."""
    require(actor, "kb.manage")
    row = get_article(db, slug)
    cand = db.get(KbQuestionCandidate, candidate_id)
    if cand is None or cand.article_id != row.id:
        raise NotFound(
            key="knowledge.errors.candidate_missing", params={"slug": slug, "id": candidate_id}
        )
    if cand.status != "open":
        status = cand.status
        word = Phrase(f"knowledge.errors.candidate_status.{status}", status)
        raise ValidationFailed(
            key="knowledge.errors.candidate_decided",
            params={
                "id": candidate_id,
                "status": lambda lang: status if lang == "en" else word(lang),
            },
            fields=[{"field": "status"}],
        )
    if accept:
        field_name = "questions_zh" if cand.lang == "zh" else "questions_en"
        current = list(getattr(row, field_name))
        update_article(
            db,
            actor=actor,
            slug=slug,
            changes={field_name: [*current, cand.text]},
            note=f"question from the desk (seen {cand.seen}×)",
        )
    cand.status = "added" if accept else "dismissed"
    cand.decided_by, cand.decided_at = actor.id, utcnow()
    audit.record(
        db,
        actor_id=actor.id,
        action=KnowledgeAudit.candidate_added if accept else KnowledgeAudit.candidate_dismissed,
        entity="kb_article",
        entity_id=slug,
        data={"candidate": cand.id, "text": cand.text},
    )
    return cand
