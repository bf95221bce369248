"""The guard's plain data: roles, verdicts, findings, screenings, rules, and the protocol of the
learned second opinion it may be given (kefu.compliance.model.GuardModel)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

Role = Literal["agent", "customer"]
Verdict = Literal["block", "warn", "allow"]
BLOCKING = frozenset(
    {"promise", "inducement", "advice", "credential", "offplatform", "third_party", "pii"}
)
MAX_CHARS = 10_000


@dataclass(frozen=True)
class Contribution:
    """One n-gram's part in the model's score, and where it occurs in the normalised text."""

    ngram: str
    contribution: float
    spans: tuple[tuple[int, int], ...]


class Scorer(Protocol):
    """The learned second opinion the guard may be given (kefu.compliance.model.GuardModel):
    a log-odds score of the normalised text — its bias plus the weights of the n-grams found,
    over the square root of their number —, its thresholds, and an explanation."""

    bias: float
    block: float
    review: float
    alone: float
    min_ngrams: int
    alone_min_ngrams: int

    @property
    def weights(self) -> Mapping[str, float]: ...

    def score(self, norm: str) -> float: ...

    def tally(self, norm: str) -> tuple[float, int]: ...

    def explain(
        self, norm: str, top: int = 5, occurrences: int | None = None
    ) -> list[Contribution]: ...


class GuardInputError(ValueError):
    """Text the guard refuses to screen (empty, too long, control characters). ``key`` and
    ``params`` name it for a translated message (``compliance_review.errors.input_<key>``);
    the English stays for the CLI."""

    def __init__(self, message: str, key: str = "", **params: object) -> None:
        super().__init__(message)
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Finding:
    category: str
    rule: str
    start: int
    end: int
    match: str
    explanation_zh: str
    explanation_en: str
    hint_zh: str | None = None
    hint_en: str | None = None
    # compositional rules: (class, word as typed, start, end) for each class that fired; the
    # model: ("MODEL", n-gram as typed, start, end) for its top contributing n-grams
    words: tuple[tuple[str, str, int, int], ...] = ()
    # the model's finding: its score (log-odds) and the top n-grams with their contributions
    score: float | None = None
    ngrams: tuple[tuple[str, float], ...] = ()

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "category": self.category,
            "rule": self.rule,
            "start": self.start,
            "end": self.end,
            "match": self.match,
            "explanation": {"zh": self.explanation_zh, "en": self.explanation_en},
            "hint": {"zh": self.hint_zh, "en": self.hint_en} if self.hint_zh else None,
        }
        if self.words:
            out["words"] = [
                {"class": c, "word": w, "start": a, "end": b} for c, w, a, b in self.words
            ]
        if self.score is not None:
            out["score"] = round(self.score, 2)
            out["ngrams"] = [{"ngram": g, "contribution": round(x, 3)} for g, x in self.ngrams]
        return out


@dataclass(frozen=True)
class Screening:
    verdict: Verdict
    findings: tuple[Finding, ...]
    redacted: str
    report: bool = False

    def to_dict(self) -> dict[str, Any]:
        return {
            "verdict": self.verdict,
            "findings": [f.to_dict() for f in self.findings],
            "redacted": self.redacted,
            "report": self.report,
        }


@dataclass
class Rule:
    id: str
    category: str
    explanation_zh: str
    explanation_en: str
    hint_zh: str | None
    hint_en: str | None
    examples_match: list[str] = field(default_factory=list)
    examples_pass: list[str] = field(default_factory=list)


@dataclass
class Composition:
    """A rule made of word classes that must co-occur: one word of each slot (a slot is one
    class or a list of alternative classes) within ``window`` normalised characters of one
    clause (``scope: clause``) or sentence (``scope: sentence``). ``unless`` names classes
    whose presence anywhere in the message clears it (the risk statement of a pitch)."""

    rule: Rule
    slots: list[frozenset[str]]
    window: int
    sentence: bool
    unless: frozenset[str]
