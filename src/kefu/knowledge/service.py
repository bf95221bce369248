"""The knowledge context's public face: what other contexts, the web pages and the CLI call
(``from kefu.knowledge import service as knowledge``). The use cases live by topic in
``store.py`` (articles and their versions), ``candidates.py`` (questions from the desk) and
``index.py`` (the search index over the stored articles)."""

from __future__ import annotations

from kefu.knowledge.articles import Article, ArticleError
from kefu.knowledge.candidates import (
    CANDIDATE_MAX_CHARS,
    candidates,
    decide_candidate,
    open_candidate_counts,
    propose_question,
)
from kefu.knowledge.content import default_index, load_articles
from kefu.knowledge.index import index_for, suggest
from kefu.knowledge.schemas import candidate_out
from kefu.knowledge.store import (
    CATEGORIES,
    FIELDS,
    LIMITS,
    LIST_FIELDS,
    SyncReport,
    article_fields,
    article_title,
    content_hash,
    ensure_loaded,
    find_article,
    get_article,
    history,
    list_articles,
    revert,
    sync,
    to_article,
    update_article,
)

__all__ = [
    "CANDIDATE_MAX_CHARS",
    "CATEGORIES",
    "FIELDS",
    "LIMITS",
    "LIST_FIELDS",
    "Article",
    "ArticleError",
    "SyncReport",
    "article_fields",
    "article_title",
    "candidate_out",
    "candidates",
    "content_hash",
    "decide_candidate",
    "default_index",
    "ensure_loaded",
    "find_article",
    "get_article",
    "history",
    "index_for",
    "list_articles",
    "load_articles",
    "open_candidate_counts",
    "propose_question",
    "revert",
    "suggest",
    "sync",
    "to_article",
    "update_article",
]
