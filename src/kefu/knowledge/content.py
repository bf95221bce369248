"""The knowledge context's part of content/ (``KEFU_CONTENT_DIR``, default the repository's):

- ``kb/<slug>.md``: the articles, read into :class:`Article` plain data;
- ``policies/synonyms.yaml``: the finance synonym groups the search engine expands with;
- ``kb-eval/*.yaml``: the evaluation questions of ``kefu kb eval`` ({q, slug, kind}), shipped
  beside the articles because they describe the same content: a team that edits its articles
  edits the questions they must answer, without a release.

Loading into the database (versions, audit) is ``store.sync``; this module only reads files.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml

from kefu.core.config import get_settings
from kefu.knowledge.articles import Article, ArticleError, parse_article
from kefu.knowledge.search import KnowledgeIndex, Synonyms


def content_dir() -> Path:
    return get_settings().content_dir


def kb_dir() -> Path:
    return content_dir() / "kb"


def eval_dir() -> Path:
    return content_dir() / "kb-eval"


def load_articles(directory: Path | None = None) -> list[Article]:
    """Every ``<slug>.md`` in ``directory`` (default: the configured content's kb/)."""
    folder = directory or kb_dir()
    articles = []
    for path in sorted(folder.glob("*.md")):
        art = parse_article(path.read_text(encoding="utf-8"), path.name)
        if art.slug != path.stem:
            raise ArticleError(f"{path.name}: slug {art.slug!r} differs from the file name")
        articles.append(art)
    return articles


def eval_files() -> list[Path]:
    """The shipped evaluation questions (content/kb-eval/*.yaml)."""
    return sorted(eval_dir().glob("*.yaml"))


def synonyms() -> Synonyms:
    """The synonym groups of the configured content, read once per file and process."""
    return _synonyms_at(content_dir() / "policies" / "synonyms.yaml")


@lru_cache(maxsize=4)
def _synonyms_at(path: Path) -> Synonyms:
    data = yaml.safe_load(path.read_text(encoding="utf-8")) if path.exists() else {}
    return Synonyms((data or {}).get("groups", []))


def default_index() -> KnowledgeIndex:
    """The index over the files themselves (before the first sync, and for the CLI without a
    database), built once per content folder."""
    return _index_at(content_dir())


@lru_cache(maxsize=2)
def _index_at(folder: Path) -> KnowledgeIndex:
    return KnowledgeIndex.build(
        load_articles(folder / "kb"), _synonyms_at(folder / "policies" / "synonyms.yaml")
    )
