"""Knowledge search on a 10,000-article corpus: Kefu's index (jieba words + character bigrams +
finance synonyms + weighted fields, bm25s) beside plain BM25 over single characters (bm25s, the
same fields, no segmentation, no synonyms), both built and queried in this run.

The corpus is the shipped articles plus distractors up to --size: English pseudo-articles made
of Banking77 training questions grouped by intent (Casanueva et al. 2020, CC BY 4.0), and
articles recombined from the real articles' own sentences (the hardest distractors: the same
vocabulary in other combinations). The questions are the development set in
content/kb-eval/ and the held-out set in tests/knowledge/holdout/ (quality is printed for
each; latency is over both), whose answers are the real articles.

    python bench/knowledge.py [--size 10000] [--passes 5]
"""

from __future__ import annotations

import argparse
import csv
import random
import re
import statistics
import time
import unicodedata
from collections import defaultdict
from collections.abc import Callable, Sequence
from pathlib import Path

import bm25s
import numpy as np

from kefu.knowledge.articles import Article
from kefu.knowledge.content import eval_files, load_articles, synonyms
from kefu.knowledge.evaluation import Question, evaluate, load_questions
from kefu.knowledge.search import KnowledgeIndex

HOLDOUT_DIR = Path(__file__).resolve().parents[1] / "tests" / "knowledge" / "holdout"

BANKING77 = Path(__file__).resolve().parents[2] / "shared" / "datasets" / "banking77"
_SENT = re.compile(r"(?<=[。！？.!?])\s*|\n+")


def _sentences(text: str) -> list[str]:
    return [s.strip("- ").strip() for s in _SENT.split(text) if len(s.strip()) > 6]


def distractors(real: Sequence[Article], count: int, seed: int = 7) -> list[Article]:
    rng = random.Random(seed)
    out: list[Article] = []
    by_intent: dict[str, list[str]] = defaultdict(list)
    path = BANKING77 / "train.csv"
    if path.exists():
        with path.open(encoding="utf-8") as f:
            for row in csv.DictReader(f):
                by_intent[row["category"]].append(row["text"])
    for intent, texts in sorted(by_intent.items()):
        for i in range(0, len(texts), 10):
            if len(out) >= count // 10:
                break
            chunk = texts[i : i + 10]
            title = intent.replace("_", " ")
            out.append(_article(f"b77.{intent}.{i}", title, title, " ".join(chunk), "", ()))
    zh = [s for a in real for s in _sentences(a.body_zh)]
    en = [s for a in real for s in _sentences(a.body_en)]
    tags = [t for a in real for t in a.tags]
    while len(out) < count:
        n = len(out)
        title = " ".join(rng.sample(tags, 2))
        body_zh = "".join(rng.sample(zh, min(6, len(zh))))
        body_en = " ".join(rng.sample(en, min(6, len(en))))
        out.append(_article(f"mix.{n}", title, title, body_zh, body_en, tuple(rng.sample(tags, 3))))
    return out


def _article(
    slug: str, title_zh: str, title_en: str, body_zh: str, body_en: str, tags: tuple[str, ...]
) -> Article:
    return Article(slug, "other", title_zh, title_en, body_zh, body_en, tags, (), (), (), ())


class CharBM25:
    """The baseline: every non-space character is a token; the same text fields, unweighted."""

    def __init__(self, articles: Sequence[Article]) -> None:
        self.slugs = [a.slug for a in articles]
        docs = [
            self.tokens(
                " ".join(
                    (
                        a.title_zh,
                        a.title_en,
                        *a.questions_zh,
                        *a.questions_en,
                        *a.tags,
                        a.body_zh,
                        a.body_en,
                    )
                )
            )
            for a in articles
        ]
        self.retriever = bm25s.BM25()
        self.retriever.index(docs, show_progress=False)
        self.vocab = {t for d in docs for t in d}

    @staticmethod
    def tokens(text: str) -> list[str]:
        norm = unicodedata.normalize("NFKC", text).lower()
        return [ch for ch in norm if ch.isalnum()]

    def search(self, query: str, top: int = 10) -> list[str]:
        q = [t for t in self.tokens(query) if t in self.vocab]
        if not q:
            return []
        ids, scores = self.retriever.retrieve([q], k=top, show_progress=False)
        return [self.slugs[int(i)] for i, s in zip(ids[0], scores[0], strict=True) if s > 0]


def timed(
    search: Callable[[str], list[str]], questions: Sequence[Question], passes: int
) -> tuple[dict[str, object], list[float]]:
    quality = evaluate(search, questions)
    lat: list[float] = []
    for _ in range(passes):
        for q in questions:
            t = time.perf_counter()
            search(q.q)
            lat.append((time.perf_counter() - t) * 1000)
    return quality, lat


def pct(values: list[float], p: float) -> float:
    return float(np.percentile(np.asarray(values), p))


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--size", type=int, default=10_000)
    ap.add_argument("--passes", type=int, default=5)
    a = ap.parse_args()
    real = load_articles()
    corpus = [*real, *distractors(real, max(0, a.size - len(real)))]
    dev = load_questions(eval_files())
    holdout = load_questions(HOLDOUT_DIR.glob("*.yaml"))
    questions = [*dev, *holdout]
    print(
        f"corpus: {len(corpus)} articles ({len(real)} real + {len(corpus) - len(real)} "
        f"distractors); {len(dev)} development + {len(holdout)} held-out questions × "
        f"{a.passes} passes; 1 process"
    )

    t = time.perf_counter()
    kefu = KnowledgeIndex.build(corpus, synonyms())
    kefu_build = time.perf_counter() - t
    t = time.perf_counter()
    base = CharBM25(corpus)
    base_build = time.perf_counter() - t

    def kefu_search(q: str) -> list[str]:
        return [h.slug for h in kefu.search(q, top=10)]

    kefu.search("预热 warm up")  # jieba's dictionary loads on first use
    rows = []
    for name, fn, build in (
        ("Kefu (jieba+bigrams+synonyms, bm25s)", kefu_search, kefu_build),
        ("baseline: BM25 over characters (bm25s)", base.search, base_build),
    ):
        _, lat = timed(fn, questions, a.passes)
        quality = evaluate(fn, dev)
        held = evaluate(fn, holdout)
        rows.append((name, held, lat, build))
        print(
            f"{name}: p50 {pct(lat, 50):.2f} ms  p95 {pct(lat, 95):.2f} ms  "
            f"p99 {pct(lat, 99):.2f} ms  mean {statistics.fmean(lat):.2f} ms  |  "
            f"index built in {build:.1f} s"
        )
        for label, qual in (("development", quality), ("held-out", held)):
            kinds = qual["by_kind"]
            assert isinstance(kinds, dict)
            print(
                f"    {label}: hit@1 {qual['hit@1']:.3f}  hit@3 {qual['hit@3']:.3f}  "
                f"MRR {qual['mrr']:.3f}; by kind "
                + ", ".join(f"{k} {v['hit@1']:.2f}/{v['hit@3']:.2f}" for k, v in kinds.items())
                + " (hit@1/hit@3)"
            )
    (_, kq, kl, _), (_, bq, bl, _) = rows
    print(
        f"ratio: Kefu held-out hit@1 {kq['hit@1']:.3f} vs {bq['hit@1']:.3f} "
        f"({float(kq['hit@1']) - float(bq['hit@1']):+.3f}); p95 latency Kefu/baseline "
        f"{pct(kl, 95) / pct(bl, 95):.2f}×; goal p95 < 5 ms: "
        f"{'met' if pct(kl, 95) < 5 else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
