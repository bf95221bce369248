"""The stored articles: load content/kb into the database, edit them with versions and an audit
trail, revert, and read them back. Every change is an action (core/actions.py)."""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.compliance.service import screen_text
from kefu.core import actions, audit
from kefu.core.actions import action
from kefu.core.db import utcnow
from kefu.core.errors import NotFound, Phrase, ValidationFailed, by_language
from kefu.core.security import User, require
from kefu.knowledge import content
from kefu.knowledge.articles import Article
from kefu.knowledge.audit import KnowledgeAudit
from kefu.knowledge.models import KbArticle, KbArticleVersion
from kefu.knowledge.rules import RuleError

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


def row_fields(row: KbArticle) -> dict[str, Any]:
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
    action: KnowledgeAudit,
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


@action
def sync(
    db: Session,
    articles: Sequence[Article] | None = None,
    *,
    actor_id: int | None = None,
    force: bool = False,
) -> SyncReport:
    """Loads the shipped articles (default: the configured content's kb/). A file that changed
    makes a new version; an article last edited in /admin/kb keeps the edit (reported) unless
    ``force``."""
    report = SyncReport()
    rows = {r.slug: r for r in db.scalars(select(KbArticle))}
    for a in articles if articles is not None else content.load_articles():
        fields = article_fields(a)
        row = rows.get(a.slug)
        if row is None:
            row = KbArticle(slug=a.slug, version=0)
            _apply(
                db,
                row,
                fields,
                origin="file",
                actor_id=actor_id,
                note="sync",
                action=KnowledgeAudit.article_create,
            )
            report.created.append(a.slug)
        elif row.content_hash == content_hash(fields):
            report.unchanged.append(a.slug)
        elif row.origin == "admin" and not force:
            report.kept_admin_edits.append(a.slug)
        else:
            _apply(
                db,
                row,
                fields,
                origin="file",
                actor_id=actor_id,
                note="sync",
                action=KnowledgeAudit.article_update,
            )
            report.updated.append(a.slug)
    if not (report.created or report.updated):
        actions.unchanged(db)
    db.flush()
    return report


def ensure_loaded(db: Session) -> SyncReport | None:
    """On first start the database has no articles: load the shipped ones (through
    :func:`sync`)."""
    if db.scalar(select(func.count(KbArticle.id))):
        return None
    return sync(db)


def list_articles(db: Session) -> list[KbArticle]:
    return list(db.scalars(select(KbArticle).order_by(KbArticle.category, KbArticle.slug)))


def get_article(db: Session, slug: str) -> KbArticle:
    row = db.scalar(select(KbArticle).where(KbArticle.slug == slug))
    if row is None:
        raise NotFound(key="knowledge.errors.article_missing", params={"slug": repr(slug)})
    return row


def find_article(db: Session, slug: str) -> Article | None:
    """A stored article as plain data, None if there is none by that slug."""
    row = db.scalar(select(KbArticle).where(KbArticle.slug == slug))
    return None if row is None else to_article(row)


def article_title(db: Session, slug: str, lang: str) -> dict[str, str] | None:
    """{"slug", "title"} of a stored article in the reader's language, None if it is gone."""
    row = db.scalar(select(KbArticle).where(KbArticle.slug == slug))
    if row is None:
        return None
    return {"slug": row.slug, "title": row.title_en if lang == "en" else row.title_zh}


_MD_LINK = re.compile(r"\[([^\]]+)\]\(([^)\s]+)\)")


def answer_text(body: str) -> str:
    """An article's body as a chat reply: the Markdown marks a customer would see as noise
    (headings, emphasis, code ticks, quotes) dropped, links written out, lists kept."""
    lines = []
    for line in body.strip().splitlines():
        line = re.sub(r"^\s{0,3}(#{1,6}\s+|>\s?)", "", line)
        line = _MD_LINK.sub(r"\1 (\2)", line)
        line = re.sub(r"(\*\*|__|`)", "", line)
        lines.append(line.rstrip())
    return re.sub(r"\n{3,}", "\n\n", "\n".join(lines)).strip()


def article_answers(db: Session, slugs: list[str], lang: str) -> dict[str, str]:
    """slug -> the full answer in the reader's language (what the desk's "insert" puts in the
    reply box; the search hit carries only a snippet)."""
    if not slugs:
        return {}
    rows = db.scalars(select(KbArticle).where(KbArticle.slug.in_(slugs)))
    return {r.slug: answer_text(r.body_en if lang == "en" else r.body_zh) for r in rows}


def history(db: Session, slug: str) -> list[KbArticleVersion]:
    row = get_article(db, slug)
    return list(
        db.scalars(
            select(KbArticleVersion)
            .where(KbArticleVersion.article_id == row.id)
            .order_by(KbArticleVersion.version.desc())
        )
    )


def _field(name: str) -> Callable[[str], str]:
    """An article field: its code in English (as the API says it), its name in Chinese."""
    word = Phrase(f"polish.kb_field_{name}", name)
    return lambda lang: name if lang == "en" else word(lang)


def _refused(name: str, key: str, **params: Any) -> ValidationFailed:
    """A refused article field, ``<field>: <what is wrong>`` in the reader's language."""
    return ValidationFailed(
        key="knowledge.errors.field",
        params={"field": _field(name), "message": Phrase(f"knowledge.errors.{key}", key, params)},
        fields=[{"field": name}],
    )


def _clean_list(value: Any, name: str) -> list[str]:
    if isinstance(value, str):
        value = [p.strip() for p in value.replace("，", ",").splitlines()]
        value = [q for p in value for q in ([p] if name.startswith("questions") else p.split(","))]
    if not isinstance(value, list):
        raise _refused(name, "list_of_strings")
    out = [str(v).strip() for v in value if str(v).strip()]
    if any(len(v) > 300 for v in out):
        raise _refused(name, "entry_too_long", n=300)
    return out


@action
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
            key="knowledge.errors.unknown_fields",
            params={"fields": ", ".join(unknown)},
            fields=[{"field": f} for f in unknown],
        )
    fields = row_fields(row)
    for k, v in changes.items():
        if k in LIST_FIELDS:
            fields[k] = _clean_list(v, k)
        else:
            text = str(v).replace("\r\n", "\n").strip()
            if not text:
                raise _refused(k, "empty")
            if len(text) > LIMITS.get(k, 200):
                raise _refused(k, "at_most_chars", n=LIMITS.get(k, 200))
            if k in content.RENDERED:
                # an editor may write {{rule:…}} placeholders: stored with today's values,
                # as the shipped files are when they are synced
                try:
                    text = content.rules().render(text, "en" if k.endswith("_en") else "zh")
                except RuleError as exc:
                    raise ValidationFailed(f"{k}: {exc}", fields=[{"field": k}]) from exc
            fields[k] = text
    if fields["category"] not in CATEGORIES:
        raise _refused("category", "one_of", choices=", ".join(CATEGORIES))
    for k in ("title_zh", "title_en", "body_zh", "body_en"):
        result = screen_text(fields[k], "agent")
        if result["verdict"] == "block":
            first = result["findings"][0]
            said = first["explanation"]
            raise ValidationFailed(
                key="knowledge.errors.guard_blocks",
                params={
                    "field": _field(k),
                    "match": repr(first["match"]),
                    "category": first["category"],
                    "why": by_language(said.get("zh", ""), said.get("en", "")),
                },
                fields=[{"field": k, "rule": first["rule"]}],
                guard={
                    "field": k,
                    "match": first["match"],
                    "category": first["category"],
                    "explanation": first["explanation"],
                },
            )
    if content_hash(fields) == row.content_hash:
        actions.unchanged(db)
        return row
    _apply(
        db,
        row,
        fields,
        origin="admin",
        actor_id=actor.id,
        note=note or "edited",
        action=KnowledgeAudit.article_update,
    )
    return row


@action
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
        raise NotFound(
            key="knowledge.errors.version_missing", params={"slug": slug, "version": version}
        )
    _apply(
        db,
        row,
        dict(old.snapshot),
        origin="admin",
        actor_id=actor.id,
        note=f"reverted to version {version}",
        action=KnowledgeAudit.article_revert,
    )
    return row
