"""The knowledge context's public face: what other contexts, the web pages and the CLI call
(``from kefu.knowledge import service as knowledge``). The use cases live by topic in
``store.py`` (articles and their versions), ``candidates.py`` (questions from the desk) and
``index.py`` (the search index over the stored articles)."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kefu.knowledge.articles import Article, ArticleError
from kefu.knowledge.calculators import CalcError, compute
from kefu.knowledge.candidates import (
    CANDIDATE_MAX_CHARS,
    candidates,
    decide_candidate,
    open_candidate_counts,
    propose_question,
)
from kefu.knowledge.content import default_index, load_articles, rules, rules_path
from kefu.knowledge.feedback import (
    FeedbackCount,
    feedback_counts,
    record_help_feedback,
    visitor_key,
)
from kefu.knowledge.index import index_builds, index_for, suggest
from kefu.knowledge.rules import RuleError
from kefu.knowledge.schemas import candidate_out
from kefu.knowledge.store import (
    CATEGORIES,
    FIELDS,
    LIMITS,
    LIST_FIELDS,
    SyncReport,
    answer_text,
    article_answers,
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
    "CalcError",
    "FeedbackCount",
    "RuleError",
    "SyncReport",
    "answer_text",
    "article_answers",
    "article_fields",
    "article_title",
    "calculate",
    "candidate_out",
    "candidates",
    "content_hash",
    "decide_candidate",
    "default_index",
    "ensure_loaded",
    "feedback_counts",
    "find_article",
    "get_article",
    "history",
    "index_builds",
    "index_for",
    "list_articles",
    "load_articles",
    "open_candidate_counts",
    "propose_question",
    "record_help_feedback",
    "revert",
    "rules",
    "rules_path",
    "suggest",
    "sync",
    "to_article",
    "update_article",
    "visitor_key",
]


def calculate(kind: str, params: Mapping[str, str]) -> dict[str, Any]:
    """A broker calculator (``kefu calc``, ``/api/v1/calc/{kind}``, the desk panel) on the
    configured rules registry; bad input raises CalcError naming the field."""
    return compute(kind, params, rules())
