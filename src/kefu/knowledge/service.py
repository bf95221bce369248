"""Knowledge-base use cases: load content/kb into the database, edit articles with versions and
an audit trail, and serve the search index built from what the database holds now."""

from __future__ import annotations

import hashlib
import json
import logging
import threading
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.compliance.service import screen_text
from kefu.core import audit
from kefu.core.config import get_settings
from kefu.core.db import utcnow
from kefu.core.errors import NotFound, ValidationFailed
from kefu.core.security import User, require
from kefu.knowledge.articles import Article, load_articles
from kefu.knowledge.intent import IntentDataError, IntentModel, demo_training_set
from kefu.knowledge.models import KbArticle, KbArticleVersion, KbQuestionCandidate
from kefu.knowledge.search import KnowledgeIndex, is_chinese

log = logging.getLogger(__name__)

FIELDS = (
    "category",
    "title_zh",
    "title_en",
    "body_zh",
    "body_en",
    "tags",
    "related",
    "questions_zh",
    "questions_en",
    "sources",
)
LIST_FIELDS = ("tags", "related", "questions_zh", "questions_en", "sources")
# help-centre sections (not case categories): what a customer browses by
CATEGORIES = (
    "account",
    "funds",
    "trading",
    "binary",
    "analysis",
    "technical",
    "service",
    "compliance",
)
LIMITS = {"title_zh": 200, "title_en": 200, "body_zh": 20_000, "body_en": 20_000}


def article_fields(a: Article) -> dict[str, Any]:
    return {
        "category": a.category,
        "title_zh": a.title_zh,
        "title_en": a.title_en,
        "body_zh": a.body_zh,
        "body_en": a.body_en,
        "tags": list(a.tags),
        "related": list(a.related),
        "questions_zh": list(a.questions_zh),
        "questions_en": list(a.questions_en),
        "sources": list(a.sources),
    }


def content_hash(fields: dict[str, Any]) -> str:
    canonical = json.dumps({k: fields[k] for k in FIELDS}, ensure_ascii=False, sort_keys=True)
    return hashlib.sha256(canonical.encode()).hexdigest()


def _row_fields(row: KbArticle) -> dict[str, Any]:
    return {k: getattr(row, k) for k in FIELDS}


def to_article(row: KbArticle) -> Article:
    return Article(
        slug=row.slug,
        category=row.category,
        title_zh=row.title_zh,
        title_en=row.title_en,
        body_zh=row.body_zh,
        body_en=row.body_en,
        tags=tuple(row.tags),
        related=tuple(row.related),
        questions_zh=tuple(row.questions_zh),
        questions_en=tuple(row.questions_en),
        sources=tuple(row.sources),
    )


def _apply(
    db: Session,
    row: KbArticle,
    fields: dict[str, Any],
    *,
    origin: str,
    actor_id: int | None,
    note: str,
    action: str,
) -> None:
    """Writes the new text and its version row, and records it in the audit chain."""
    digest = content_hash(fields)
    for k in FIELDS:
        setattr(row, k, fields[k])
    row.version = (row.version or 0) + 1
    row.content_hash = digest
    row.origin = origin
    row.updated_at = utcnow()
    row.updated_by = actor_id
    db.add(row)
    db.flush()
    db.add(
        KbArticleVersion(
            article_id=row.id,
            version=row.version,
            origin=origin,
            content_hash=digest,
            snapshot=fields,
            note=note[:200],
            author_id=actor_id,
        )
    )
    audit.record(
        db,
        actor_id=actor_id,
        action=action,
        entity="kb_article",
        entity_id=row.slug,
        data={"version": row.version, "origin": origin, "hash": digest, "note": note[:200]},
    )


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    unchanged: list[str] = field(default_factory=list)
    kept_admin_edits: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "kept_admin_edits": self.kept_admin_edits,
        }


def sync(
    db: Session,
    articles: Sequence[Article] | None = None,
    *,
    actor_id: int | None = None,
    force: bool = False,
) -> SyncReport:
    """Loads the shipped articles. A file that changed makes a new version; an article last
    edited in /admin/kb keeps the edit (reported) unless ``force``."""
    report = SyncReport()
    rows = {r.slug: r for r in db.scalars(select(KbArticle))}
    for a in articles if articles is not None else load_articles():
        fields = article_fields(a)
        row = rows.get(a.slug)
        if row is None:
            row = KbArticle(slug=a.slug, version=0)
            _apply(
                db, row, fields, origin="file", actor_id=actor_id, note="sync", action="kb.create"
            )
            report.created.append(a.slug)
        elif row.content_hash == content_hash(fields):
            report.unchanged.append(a.slug)
        elif row.origin == "admin" and not force:
            report.kept_admin_edits.append(a.slug)
        else:
            _apply(
                db, row, fields, origin="file", actor_id=actor_id, note="sync", action="kb.update"
            )
            report.updated.append(a.slug)
    db.flush()
    return report


def ensure_loaded(db: Session) -> SyncReport | None:
    """On first start the database has no articles: load the shipped ones."""
    if db.scalar(select(func.count(KbArticle.id))):
        return None
    return sync(db)


def list_articles(db: Session) -> list[KbArticle]:
    return list(db.scalars(select(KbArticle).order_by(KbArticle.category, KbArticle.slug)))


def get_article(db: Session, slug: str) -> KbArticle:
    row = db.scalar(select(KbArticle).where(KbArticle.slug == slug))
    if row is None:
        raise NotFound(f"no knowledge-base article {slug!r}")
    return row


def article_title(db: Session, slug: str, lang: str) -> dict[str, str] | None:
    """{"slug", "title"} of a stored article in the reader's language, None if it is gone."""
    row = db.scalar(select(KbArticle).where(KbArticle.slug == slug))
    if row is None:
        return None
    return {"slug": row.slug, "title": row.title_en if lang == "en" else row.title_zh}


def history(db: Session, slug: str) -> list[KbArticleVersion]:
    row = get_article(db, slug)
    return list(
        db.scalars(
            select(KbArticleVersion)
            .where(KbArticleVersion.article_id == row.id)
            .order_by(KbArticleVersion.version.desc())
        )
    )


def _clean_list(value: Any, name: str) -> list[str]:
    if isinstance(value, str):
        value = [p.strip() for p in value.replace("，", ",").splitlines()]
        value = [q for p in value for q in ([p] if name.startswith("questions") else p.split(","))]
    if not isinstance(value, list):
        raise ValidationFailed(f"{name}: a list of strings", fields=[{"field": name}])
    out = [str(v).strip() for v in value if str(v).strip()]
    if any(len(v) > 300 for v in out):
        raise ValidationFailed(f"{name}: an entry is over 300 characters", fields=[{"field": name}])
    return out


def update_article(
    db: Session, *, actor: User, slug: str, changes: dict[str, Any], note: str = ""
) -> KbArticle:
    """An edit from /admin/kb: validated, screened by the compliance guard (agents insert
    these texts into replies), then stored as a new version."""
    require(actor, "kb.manage")
    row = get_article(db, slug)
    unknown = sorted(set(changes) - set(FIELDS))
    if unknown:
        raise ValidationFailed(
            f"unknown field(s): {', '.join(unknown)}", fields=[{"field": f} for f in unknown]
        )
    fields = _row_fields(row)
    for k, v in changes.items():
        if k in LIST_FIELDS:
            fields[k] = _clean_list(v, k)
        else:
            text = str(v).replace("\r\n", "\n").strip()
            if not text:
                raise ValidationFailed(f"{k}: must not be empty", fields=[{"field": k}])
            if len(text) > LIMITS.get(k, 200):
                raise ValidationFailed(
                    f"{k}: at most {LIMITS.get(k, 200)} characters", fields=[{"field": k}]
                )
            fields[k] = text
    if fields["category"] not in CATEGORIES:
        raise ValidationFailed(
            f"category: one of {', '.join(CATEGORIES)}", fields=[{"field": "category"}]
        )
    for k in ("title_zh", "title_en", "body_zh", "body_en"):
        result = screen_text(fields[k], "agent")
        if result["verdict"] == "block":
            first = result["findings"][0]
            raise ValidationFailed(
                f"{k}: the compliance guard blocks {first['match']!r} "
                f"({first['category']}): {first['explanation']['en']}",
                fields=[{"field": k, "rule": first["rule"]}],
            )
    if content_hash(fields) == row.content_hash:
        return row
    _apply(
        db,
        row,
        fields,
        origin="admin",
        actor_id=actor.id,
        note=note or "edited",
        action="kb.update",
    )
    return row


# --- the editors' loop: customers' words that an article answered become its questions -------

CANDIDATE_MAX_CHARS = 120


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
        return None
    lang = "zh" if is_chinese(text) else "en"
    if text in (row.questions_zh if lang == "zh" else row.questions_en):
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
        action="kb.candidate",
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


def decide_candidate(
    db: Session, *, actor: User, slug: str, candidate_id: int, accept: bool
) -> KbQuestionCandidate:
    """An editor adds a candidate to the article's questions (a new, guard-screened version)
    or dismisses it; a dismissed text is not proposed again as open."""
    require(actor, "kb.manage")
    row = get_article(db, slug)
    cand = db.get(KbQuestionCandidate, candidate_id)
    if cand is None or cand.article_id != row.id:
        raise NotFound(f"{slug} has no candidate question {candidate_id}")
    if cand.status != "open":
        raise ValidationFailed(
            f"candidate {candidate_id} is already {cand.status}", fields=[{"field": "status"}]
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
        action="kb.candidate_" + cand.status,
        entity="kb_article",
        entity_id=slug,
        data={"candidate": cand.id, "text": cand.text},
    )
    return cand


def revert(db: Session, *, actor: User, slug: str, version: int) -> KbArticle:
    """Restores an earlier version's text as a new version (history is never rewritten)."""
    require(actor, "kb.manage")
    row = get_article(db, slug)
    old = db.scalar(
        select(KbArticleVersion).where(
            KbArticleVersion.article_id == row.id, KbArticleVersion.version == version
        )
    )
    if old is None:
        raise NotFound(f"{slug} has no version {version}")
    _apply(
        db,
        row,
        dict(old.snapshot),
        origin="admin",
        actor_id=actor.id,
        note=f"reverted to version {version}",
        action="kb.revert",
    )
    return row


# The index is rebuilt only when the stored articles change: an edit bumps a version and the
# latest update time, a new article the count. Behind that cheap key, indexes are kept by a
# digest of the articles' content, so a database loaded with the same articles again (a restore,
# a second worker's sync) reuses the index instead of segmenting everything anew.
_cache_lock = threading.Lock()
_cache: dict[tuple[Any, ...], KnowledgeIndex] = {}
_by_digest: dict[str, KnowledgeIndex] = {}


def index_for(db: Session) -> KnowledgeIndex:
    key = tuple(
        db.execute(
            select(
                func.count(KbArticle.id),
                func.coalesce(func.sum(KbArticle.version), 0),
                func.max(KbArticle.updated_at),
            )
        ).one()
    )
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    rows = list_articles(db)
    digest = hashlib.sha256(
        "".join(f"{r.slug}:{content_hash(_row_fields(r))};" for r in rows).encode()
    ).hexdigest()
    with _cache_lock:
        index = _by_digest.get(digest)
    if index is None:
        index = KnowledgeIndex.build([to_article(r) for r in rows])
    with _cache_lock:
        _cache.clear()
        _cache[key] = index
        if digest not in _by_digest and len(_by_digest) >= 4:
            _by_digest.pop(next(iter(_by_digest)))
        _by_digest[digest] = index
    return index


# Intent routing: which queue a new case belongs in (the desk's case category) and what the
# customer asks about (the knowledge-base article that answers it).


@dataclass(frozen=True)
class Routing:
    category: str
    confidence: float
    intent: str  # the slug of the article that answers the message, "" when none does

    def to_dict(self) -> dict[str, Any]:
        return {"category": self.category, "confidence": self.confidence, "intent": self.intent}


def _routing_policy() -> dict[str, dict[str, str]]:
    return _read_routing_policy(get_settings().content_dir / "policies" / "routing.yaml")


@lru_cache(maxsize=4)
def _read_routing_policy(path: Path) -> dict[str, dict[str, str]]:
    """content/policies/routing.yaml, read once per process (like the synonyms)."""
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    return {
        "kb_category": dict((data or {}).get("kb_category") or {}),
        "article": dict((data or {}).get("article") or {}),
    }


def case_category_of(article: Article, policy: dict[str, dict[str, str]] | None = None) -> str:
    """The desk category whose queue handles questions this article answers."""
    policy = policy or _routing_policy()
    return policy["article"].get(article.slug) or policy["kb_category"].get(
        article.category, "account"
    )


def routing_training_set() -> tuple[list[str], list[str]]:
    """The demo cases plus every shipped article's titles and alternative questions, labelled
    with the case category that handles the article (content/policies/routing.yaml)."""
    texts, labels = demo_training_set()
    policy = _routing_policy()
    for a in load_articles(get_settings().content_dir / "kb"):
        label = case_category_of(a, policy)
        for text in (a.title_zh, a.title_en, *a.questions_zh, *a.questions_en):
            texts.append(text)
            labels.append(label)
    return texts, labels


_model_lock = threading.Lock()
_model: list[IntentModel] = []


def routing_model() -> IntentModel:
    """KEFU_INTENT_MODEL if set, else a model trained once per process from the shipped
    content (about a second)."""
    with _model_lock:
        if not _model:
            path = get_settings().intent_model
            model = None
            if path:
                try:
                    model = IntentModel.load(path)
                except (IntentDataError, OSError) as exc:
                    # a case must still be filed: route with the shipped model, say why loudly
                    log.error(
                        "KEFU_INTENT_MODEL %s is not usable (%s); routing with the "
                        "model trained from the shipped content",
                        path,
                        exc,
                    )
            _model.append(model or IntentModel.train(*routing_training_set()))
        return _model[0]


def route(db: Session, text: str, *, categories: Sequence[str]) -> Routing:
    """Category and intent of a customer's message. The category is the routing model's when
    it is one of ``categories`` (the desk's); otherwise (a team model with its own labels) the
    one that handles the best-matching article."""
    text = text.strip()
    if not text:
        return Routing(categories[0], 0.0, "")
    intent = index_for(db).intent(text)  # "" for a topic no article covers
    label, confidence = routing_model().predict(text)
    if label not in categories:
        row = db.scalar(select(KbArticle).where(KbArticle.slug == intent)) if intent else None
        label = case_category_of(to_article(row)) if row is not None else categories[0]
        confidence = 0.0
        if label not in categories:
            label = categories[0]
    return Routing(label, confidence, intent)
