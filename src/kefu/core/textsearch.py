"""The segmented search column for cases and messages, and safe queries over it.

Chinese runs become overlapping character bigrams (a lone character stays itself); Latin words
and digit runs become lowercase tokens; full-width forms are folded (NFKC). Both SQLite FTS5
(unicode61) and PostgreSQL's 'simple' text-search parser split the column on spaces, so the same
tokens are indexed on both databases and a query is the AND of its tokens."""

from __future__ import annotations

import re
import unicodedata

_CJK = r"\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_TOKEN = re.compile(rf"[{_CJK}]+|[a-z0-9]+")
_IS_CJK = re.compile(rf"[{_CJK}]")


def _tokens(text: str) -> list[str]:
    out: list[str] = []
    norm = unicodedata.normalize("NFKC", text).lower()
    for run in _TOKEN.findall(norm):
        if _IS_CJK.match(run):
            if len(run) == 1:
                out.append(run)
            else:
                out.extend(run[i : i + 2] for i in range(len(run) - 1))
        else:
            out.append(run)
    return out


def index_text(*parts: str) -> str:
    """The value stored in ``search_text``: tokens joined by spaces, first occurrence order."""
    seen: dict[str, None] = {}
    for part in parts:
        for tok in _tokens(part or ""):
            seen.setdefault(tok, None)
    return " ".join(seen)


def query_terms(query: str) -> list[str]:
    """The query's tokens, deduplicated, in order; [] for nothing searchable."""
    return list(dict.fromkeys(_tokens(query)))


def fts5_query(query: str) -> str | None:
    """An FTS5 MATCH expression: every term quoted (so operators in user input are inert) and
    ANDed. A single CJK character is matched as a prefix of the bigrams that start with it."""
    terms = query_terms(query)
    if not terms:
        return None
    parts = []
    for t in terms:
        quoted = '"' + t.replace('"', '""') + '"'
        parts.append(quoted + "*" if len(t) == 1 and _IS_CJK.match(t) else quoted)
    return " AND ".join(parts)


def tsquery_terms(query: str) -> list[str]:
    """Terms for ``to_tsquery('simple', ' & '.join(terms))``. Tokens hold only CJK characters,
    a–z and 0–9, which the 'simple' parser keeps whole, so no tsquery syntax can be injected.
    A single CJK character becomes a prefix match (``字:*``)."""
    return [t + ":*" if len(t) == 1 and _IS_CJK.match(t) else t for t in query_terms(query)]
