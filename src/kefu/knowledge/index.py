"""The search index over the stored articles, cached per process.

The index is rebuilt only when the stored articles change: an edit bumps a version and the
latest update time, a new article the count. Behind that cheap key, indexes are kept by a
digest of the articles' content, so a database loaded with the same articles again (a restore,
a second worker's sync) reuses the index instead of segmenting everything anew."""

from __future__ import annotations

import hashlib
import threading
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.knowledge import content
from kefu.knowledge.models import KbArticle
from kefu.knowledge.search import Hit, KnowledgeIndex
from kefu.knowledge.store import content_hash, list_articles, row_fields, to_article

_cache_lock = threading.Lock()
_cache: dict[tuple[Any, ...], KnowledgeIndex] = {}
_by_digest: dict[str, KnowledgeIndex] = {}
#: how many times this process segmented the articles into a new index (the app builds one at
#: start-up, so the first search after it finds the index warm)
_builds = 0


def index_builds() -> int:
    """How many indexes this process has built so far."""
    return _builds


def index_for(db: Session) -> KnowledgeIndex:
    """The index over the articles ``db`` holds now, with the configured synonyms."""
    global _builds
    synonyms = content.synonyms()
    key = (
        *db.execute(
            select(
                func.count(KbArticle.id),
                func.coalesce(func.sum(KbArticle.version), 0),
                func.max(KbArticle.updated_at),
            )
        ).one(),
        id(synonyms),
    )
    with _cache_lock:
        hit = _cache.get(key)
    if hit is not None:
        return hit
    rows = list_articles(db)
    digest = hashlib.sha256(
        (
            f"{id(synonyms)}|" + "".join(f"{r.slug}:{content_hash(row_fields(r))};" for r in rows)
        ).encode()
    ).hexdigest()
    with _cache_lock:
        index = _by_digest.get(digest)
    if index is None:
        index = KnowledgeIndex.build([to_article(r) for r in rows], synonyms)
        with _cache_lock:
            _builds += 1
    with _cache_lock:
        _cache.clear()
        _cache[key] = index
        if digest not in _by_digest and len(_by_digest) >= 4:
            _by_digest.pop(next(iter(_by_digest)))
        _by_digest[digest] = index
    return index


def suggest(db: Session, q: str, *, top: int = 3, lang: str = "zh") -> list[Hit]:
    """The articles that best answer ``q`` (the portal's search box, the desk's panel)."""
    if not q.strip():
        return []
    return index_for(db).search(q, top=top, lang="en" if lang == "en" else "zh")
