"""The knowledge context's part of content/ (``KEFU_CONTENT_DIR``, default the repository's):

- ``kb/<slug>.md``: the articles, read into :class:`Article` plain data;
- ``policies/synonyms.yaml``: the finance synonym groups the search engine expands with;
- ``policies/rules.yaml``: the rules registry (dated rule values) that the calculators read and
  whose ``{{rule:…}}`` placeholders the articles are rendered with as they are loaded;
- ``kb-eval/*.yaml``: the evaluation questions of ``kefu kb eval`` ({q, slug, kind}), shipped
  beside the articles because they describe the same content: a team that edits its articles
  edits the questions they must answer, without a release.

Loading into the database (versions, audit) is ``store.sync``; this module only reads files.
"""

from __future__ import annotations

import dataclasses
from datetime import date
from decimal import Decimal
from functools import lru_cache
from pathlib import Path
from typing import Any

import yaml

from kefu.core.config import REPO_ROOT, get_settings
from kefu.knowledge.articles import Article, ArticleError, parse_article
from kefu.knowledge.rules import Registry, RuleError, parse_registry
from kefu.knowledge.search import KnowledgeIndex, Synonyms


def content_dir() -> Path:
    return get_settings().content_dir


def kb_dir() -> Path:
    return content_dir() / "kb"


def eval_dir() -> Path:
    return content_dir() / "kb-eval"


def rules_path(folder: Path | None = None) -> Path:
    return (folder or content_dir()) / "policies" / "rules.yaml"


class _ExactLoader(yaml.SafeLoader):
    """YAML with decimals read exactly (0.1 stays Decimal("0.1"), never a float)."""


def _exact_float(loader: yaml.SafeLoader, node: yaml.Node) -> Decimal:
    return Decimal(str(loader.construct_scalar(node)).replace("_", ""))  # type: ignore[arg-type]


_ExactLoader.add_constructor("tag:yaml.org,2002:float", _exact_float)


def read_registry(path: Path) -> Registry:
    """Parses and validates a rules file; errors name the file, the rule and the field."""
    try:
        data: Any = yaml.load(path.read_text(encoding="utf-8"), Loader=_ExactLoader)  # noqa: S506
    except OSError as exc:
        raise RuleError(f"{path.name}: cannot read ({exc.strerror})") from exc
    except yaml.YAMLError as exc:
        raise RuleError(f"{path.name}: not valid YAML ({exc})") from exc
    return parse_registry(data, path.name)


def rules(folder: Path | None = None) -> Registry:
    """The rules registry of the configured content (or of ``folder``), read again when the
    file changes. A content folder without one (a team's copy made before the registry) uses
    the registry shipped with Kefu."""
    path = rules_path(folder)
    if not path.exists():
        path = rules_path(REPO_ROOT / "content")
    try:
        stamp = path.stat().st_mtime_ns
    except OSError:
        stamp = 0
    return _registry_at(path, stamp)


@lru_cache(maxsize=4)
def _registry_at(path: Path, stamp: int) -> Registry:
    return read_registry(path)


#: the article fields placeholders are rendered in (not the questions: customers' own words)
RENDERED = ("title_zh", "title_en", "body_zh", "body_en")


def render_article(article: Article, registry: Registry, as_of: date | None = None) -> Article:
    """The article with its ``{{rule:…}}`` placeholders replaced by the values in force on
    ``as_of`` (default today); an unknown rule raises ArticleError naming the field."""
    changes: dict[str, Any] = {}
    for name in RENDERED:
        lang = "en" if name.endswith("_en") else "zh"
        try:
            changes[name] = registry.render(getattr(article, name), lang, as_of)
        except RuleError as exc:
            raise ArticleError(f"{article.slug}: {name}: {exc}") from exc
    sources = []
    for i, src in enumerate(article.sources, start=1):
        try:
            sources.append(registry.render(src, "zh", as_of))
        except RuleError as exc:
            raise ArticleError(f"{article.slug}: sources[{i}]: {exc}") from exc
    changes["sources"] = tuple(sources)
    return dataclasses.replace(article, **changes)


def load_articles(
    directory: Path | None = None, *, as_of: date | None = None, raw: bool = False
) -> list[Article]:
    """Every ``<slug>.md`` in ``directory`` (default: the configured content's kb/), rendered
    with the rules registry beside it (``../policies/rules.yaml``, else the configured one) as
    of ``as_of`` (default today); ``raw`` keeps the placeholders."""
    folder = directory or kb_dir()
    registry: Registry | None = None
    if not raw:
        beside = rules_path(folder.parent)
        registry = rules(folder.parent) if beside.exists() else rules()
    articles = []
    for path in sorted(folder.glob("*.md")):
        art = parse_article(path.read_text(encoding="utf-8"), path.name)
        if art.slug != path.stem:
            raise ArticleError(f"{path.name}: slug {art.slug!r} differs from the file name")
        if registry is not None:
            try:
                art = render_article(art, registry, as_of)
            except ArticleError as exc:
                raise ArticleError(f"{path.name}: {str(exc).split(': ', 1)[1]}") from exc
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
