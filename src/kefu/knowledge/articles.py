"""Knowledge-base articles: the text of content/kb/<slug>.md (YAML front matter, a zh and an en
body) parsed into plain data. Reading the files is knowledge/content.py's job."""

from __future__ import annotations

from dataclasses import dataclass

import yaml

ZH_MARK, EN_MARK = "<!-- lang:zh -->", "<!-- lang:en -->"


class ArticleError(ValueError):
    """A malformed article, naming the file and the field."""


@dataclass(frozen=True)
class Article:
    slug: str
    category: str
    title_zh: str
    title_en: str
    body_zh: str
    body_en: str
    tags: tuple[str, ...]
    related: tuple[str, ...]
    questions_zh: tuple[str, ...]
    questions_en: tuple[str, ...]
    sources: tuple[str, ...]

    def title(self, lang: str) -> str:
        return self.title_en if lang.startswith("en") else self.title_zh

    def body(self, lang: str) -> str:
        return self.body_en if lang.startswith("en") else self.body_zh


def parse_article(text: str, name: str = "<article>") -> Article:
    if not text.startswith("---"):
        raise ArticleError(f"{name}: no YAML front matter (the file must start with ---)")
    try:
        _, front, body = text.split("---", 2)
        meta = yaml.safe_load(front) or {}
    except (ValueError, yaml.YAMLError) as exc:
        raise ArticleError(f"{name}: front matter is not valid YAML ({exc})") from exc
    for field in ("slug", "category", "title", "questions"):
        if field not in meta:
            raise ArticleError(f"{name}: missing field {field!r}")
    if ZH_MARK not in body or EN_MARK not in body:
        raise ArticleError(f"{name}: the body needs both {ZH_MARK} and {EN_MARK}")
    zh = body.split(ZH_MARK, 1)[1].split(EN_MARK, 1)[0].strip()
    en = body.split(EN_MARK, 1)[1].strip()
    title, questions = meta["title"] or {}, meta["questions"] or {}
    return Article(
        slug=str(meta["slug"]),
        category=str(meta["category"]),
        title_zh=str(title.get("zh", "")),
        title_en=str(title.get("en", "")),
        body_zh=zh,
        body_en=en,
        tags=tuple(str(t) for t in meta.get("tags") or ()),
        related=tuple(str(t) for t in meta.get("related") or ()),
        questions_zh=tuple(str(q) for q in questions.get("zh") or ()),
        questions_en=tuple(str(q) for q in questions.get("en") or ()),
        sources=tuple(str(s) for s in meta.get("sources") or ()),
    )
