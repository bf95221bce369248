"""Retrieval evaluation: hit@1, hit@3 and mean reciprocal rank of the expected article, overall
and per kind of question (colloquial, typo, en, mixed). Pure: takes a search function."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml


@dataclass(frozen=True)
class Question:
    q: str
    slug: str
    kind: str


@dataclass
class Scores:
    n: int = 0
    hit1: int = 0
    hit3: int = 0
    rr: float = 0.0
    misses: list[dict[str, Any]] = field(default_factory=list)

    def add(self, question: Question, ranked: Sequence[str]) -> None:
        self.n += 1
        rank = ranked.index(question.slug) + 1 if question.slug in ranked else 0
        self.hit1 += rank == 1
        self.hit3 += 0 < rank <= 3
        self.rr += 1 / rank if rank else 0.0
        if rank != 1:
            self.misses.append(
                {"q": question.q, "want": question.slug, "rank": rank, "got": list(ranked[:3])}
            )

    def to_dict(self) -> dict[str, Any]:
        n = self.n or 1
        return {
            "n": self.n,
            "hit@1": round(self.hit1 / n, 4),
            "hit@3": round(self.hit3 / n, 4),
            "mrr": round(self.rr / n, 4),
        }


def load_questions(paths: Iterable[Path]) -> list[Question]:
    """Questions from YAML files of {q, slug, kind} (the shipped set: content/kb-eval, see
    knowledge/content.py)."""
    files = sorted(paths)
    out: list[Question] = []
    for path in files:
        data = yaml.safe_load(Path(path).read_text(encoding="utf-8")) or []
        if not isinstance(data, list):
            raise ValueError(f"{path}: expected a YAML list of {{q, slug, kind}}")
        for i, item in enumerate(data, start=1):
            if not isinstance(item, dict) or not item.get("q") or not item.get("slug"):
                raise ValueError(f"{path}: item {i} needs 'q' and 'slug'")
            out.append(Question(str(item["q"]), str(item["slug"]), str(item.get("kind", ""))))
    return out


def evaluate(
    search: Callable[[str], Sequence[str]], questions: Sequence[Question]
) -> dict[str, Any]:
    """``search`` returns slugs, best first (at least the top 10 for a fair MRR)."""
    overall = Scores()
    by_kind: dict[str, Scores] = {}
    for question in questions:
        ranked = list(search(question.q))
        overall.add(question, ranked)
        by_kind.setdefault(question.kind or "-", Scores()).add(question, ranked)
    return {
        **overall.to_dict(),
        "by_kind": {k: v.to_dict() for k, v in sorted(by_kind.items())},
        "misses": overall.misses,
    }
