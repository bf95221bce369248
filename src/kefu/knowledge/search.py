"""Knowledge search: jieba words + Chinese character bigrams (typo tolerance) + Latin words,
finance synonyms across zh/en, BM25 ranking (bm25s). Titles, alternative questions and tags
weigh more than bodies: they are what customers actually type."""

from __future__ import annotations

import logging
import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import bm25s
import jieba
import numpy as np
import snowballstemmer
import yaml
from pypinyin import lazy_pinyin

from kefu.knowledge.articles import Article, load_articles

jieba.setLogLevel(logging.WARNING)
SYNONYMS = Path(__file__).resolve().parents[3] / "content" / "policies" / "synonyms.yaml"
_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]")
_RUN = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff]+|[a-z0-9+.%-]+")
STOP = frozenset(
    {
        "的",
        "了",
        "吗",
        "呢",
        "是",
        "我",
        "你",
        "怎么",
        "什么",
        "为什么",
        "a",
        "an",
        "the",
        "is",
        "my",
        "i",
        "do",
        "to",
        "of",
        "how",
        "what",
        "why",
        "can",
        "t",
        "it",
        "in",
        "for",
        "on",
        "and",
        "does",
        "you",
        "your",
        "me",
        "be",
        "are",
        "was",
        "will",
        "when",
        "where",
        "which",
        "this",
        "that",
        "there",
        "with",
        "from",
        "if",
        "so",
        "have",
        "has",
        "should",
        "would",
        "could",
        "about",
        "at",
        "or",
        "by",
        "get",
        "want",
        "need",
    }
)


_stemmer = snowballstemmer.stemmer("english")


@lru_cache(maxsize=65536)
def _stem(word: str) -> str:
    if not word.isalpha():
        return word  # t+1, 0.05%, 12386 stay as typed
    return str(_stemmer.stemWord(word))


def tokens(text: str) -> list[str]:
    norm = unicodedata.normalize("NFKC", text).lower()
    out: list[str] = []
    for run in _RUN.findall(norm):
        if _CJK.match(run):
            out.extend(w for w in jieba.lcut_for_search(run) if w not in STOP)
            out.extend(run[i : i + 2] for i in range(len(run) - 1))
            # the sound of each character pair: most Chinese typos are homophones typed by
            # pinyin input (提线 for 提现, 开护 for 开户), which share these tokens
            sounds = lazy_pinyin(run)
            out.extend(f"{sounds[i]}_{sounds[i + 1]}" for i in range(len(sounds) - 1))
        else:
            w = _stem(run.strip(".-"))
            if w and w not in STOP:
                out.append(w)
    return out


@lru_cache(maxsize=1)
def synonym_map() -> dict[str, tuple[str, ...]]:
    data = yaml.safe_load(SYNONYMS.read_text(encoding="utf-8")) if SYNONYMS.exists() else {}
    mapping: dict[str, set[str]] = {}
    for group in (data or {}).get("groups", []):
        toks = {t for member in group for t in tokens(str(member))}
        for t in toks:
            mapping.setdefault(t, set()).update(toks)
    return {k: tuple(sorted(v)) for k, v in mapping.items()}


@dataclass(frozen=True)
class Hit:
    slug: str
    title: str
    score: float
    snippet: str

    def to_dict(self) -> dict[str, object]:
        return {
            "slug": self.slug,
            "title": self.title,
            "score": round(self.score, 4),
            "snippet": self.snippet,
        }


def _snippet(body: str, limit: int = 120) -> str:
    text = re.sub(r"\s+", " ", re.sub(r"[#*>`|-]", " ", body)).strip()
    return text if len(text) <= limit else text[: limit - 1] + "…"


class KnowledgeIndex:
    def __init__(self, articles: Sequence[Article], retriever: bm25s.BM25) -> None:
        self.articles = list(articles)
        self.retriever = retriever
        self.vocab: set[str] = set()

    @classmethod
    def build(cls, articles: Sequence[Article]) -> KnowledgeIndex:
        if not articles:
            return cls([], bm25s.BM25())  # nothing to search: search() answers []
        docs = []
        for a in articles:
            strong = " ".join(
                (
                    a.title_zh,
                    a.title_en,
                    *a.questions_zh,
                    *a.questions_en,
                    *a.tags,
                    a.slug.replace(".", " ").replace("-", " "),
                )
            )
            docs.append(tokens(strong) * 3 + tokens(a.body_zh) + tokens(a.body_en))
        retriever = bm25s.BM25()
        retriever.index(docs, show_progress=False)
        index = cls(articles, retriever)
        index.vocab = {t for d in docs for t in d}
        return index

    def search(self, query: str, top: int = 5, lang: str | None = None) -> list[Hit]:
        if not self.articles:
            return []
        lang = lang or ("zh" if _CJK.search(query) else "en")
        syn = synonym_map()
        q: list[str] = []
        for t in tokens(query):
            q.extend((t, t))  # what the customer typed counts twice a synonym's weight
            q.extend(s for s in syn.get(t, ()) if s != t)
        q = [t for t in q if t in self.vocab]
        if not q:
            return []
        k = min(top, len(self.articles))
        ids, scores = self.retriever.retrieve([q], k=k, show_progress=False)
        hits = []
        for i, s in zip(np.asarray(ids)[0], np.asarray(scores)[0], strict=True):
            if s <= 0:
                continue
            a = self.articles[int(i)]
            hits.append(Hit(a.slug, a.title(lang), float(s), _snippet(a.body(lang))))
        return hits


@lru_cache(maxsize=1)
def default_index() -> KnowledgeIndex:
    return KnowledgeIndex.build(load_articles())
