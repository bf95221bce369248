"""Scorecards and evaluations (pure): a scorecard's sections, items and weights
(``content/policies/scorecards/*.yaml``, validated by :func:`parse_scorecard`), the
evaluation the scorer returns (:class:`Evaluation` with its :class:`Finding` list) and a
calibration reviewer's score from item ratings."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from kefu.quality.conversation import QualityError, _lang

SECTIONS = (
    "opening",
    "understanding",
    "accuracy",
    "compliance",
    "communication",
    "resolution",
    "closing",
)
#: what each scorecard item may check; the section an item sits in is the scorecard's choice
CHECKS = (
    "greeting",
    "name",
    "empathy",
    "question",
    "facts",
    "guard",
    "jargon",
    "first_response",
    "gaps",
    "resolved",
    "closing",
)
CRITICAL = ("guard_block", "disclosure_override", "credential_request")


# --- scorecards --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Item:
    check: str
    points: Decimal
    #: deduction per occurrence, for checks that count occurrences (jargon, gaps, facts, guard)
    per: Decimal | None = None


@dataclass(frozen=True)
class Section:
    name: str
    weight: Decimal
    items: tuple[Item, ...]


@dataclass(frozen=True)
class Scorecard:
    name: str
    title_zh: str
    title_en: str
    channels: tuple[str, ...]
    pass_mark: Decimal
    sections: tuple[Section, ...]
    critical: tuple[str, ...]
    first_response_seconds: int
    gap_seconds: int


def _dec(value: Any, where: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (int, float, Decimal, str)):
        raise QualityError(f"{where}: {value!r} is not a number")
    try:
        d = Decimal(str(value))
    except InvalidOperation:
        raise QualityError(f"{where}: {value!r} is not a number") from None
    if not d.is_finite() or d < 0:
        raise QualityError(f"{where}: {value!r} must be a non-negative number")
    return d


def parse_scorecard(data: Any, source: str = "scorecard") -> Scorecard:
    """Validates a parsed scorecard: the seven sections, weights summing to 100, each section's
    item points summing to its weight, known checks and critical items."""
    if not isinstance(data, Mapping):
        raise QualityError(f"{source}: expected a mapping")
    name = data.get("name")
    if not isinstance(name, str) or not re.fullmatch(r"[a-z][a-z0-9_-]*", name):
        raise QualityError(f"{source}: field 'name' must be a lower-case identifier")
    title = data.get("title")
    if not isinstance(title, Mapping) or not title.get("zh") or not title.get("en"):
        raise QualityError(f"{source}: field 'title' needs zh and en")
    channels = data.get("channels")
    if not isinstance(channels, list) or not all(isinstance(c, str) for c in channels):
        raise QualityError(f"{source}: field 'channels' must be a list of channel names")
    secs = data.get("sections")
    if not isinstance(secs, Mapping) or set(secs) != set(SECTIONS):
        raise QualityError(f"{source}: field 'sections' must hold exactly {', '.join(SECTIONS)}")
    sections: list[Section] = []
    seen_checks: set[str] = set()
    for sname in SECTIONS:
        spec = secs[sname]
        where = f"{source}: section {sname!r}"
        if not isinstance(spec, Mapping):
            raise QualityError(f"{where}: expected a mapping")
        weight = _dec(spec.get("weight"), f"{where}: field 'weight'")
        items: list[Item] = []
        raw_items = spec.get("items")
        if not isinstance(raw_items, list) or not raw_items:
            raise QualityError(f"{where}: field 'items' must be a non-empty list")
        for i, it in enumerate(raw_items):
            iw = f"{where}: item {i + 1}"
            if not isinstance(it, Mapping):
                raise QualityError(f"{iw}: expected a mapping")
            check = it.get("check")
            if check not in CHECKS:
                raise QualityError(f"{iw}: field 'check' must be one of {', '.join(CHECKS)}")
            if check in seen_checks:
                raise QualityError(f"{iw}: check {check!r} appears twice in the scorecard")
            seen_checks.add(str(check))
            points = _dec(it.get("points"), f"{iw}: field 'points'")
            per = _dec(it["per"], f"{iw}: field 'per'") if it.get("per") is not None else None
            items.append(Item(str(check), points, per))
        if sum((it.points for it in items), Decimal(0)) != weight:
            raise QualityError(f"{where}: the items' points must sum to the weight {weight}")
        sections.append(Section(sname, weight, tuple(items)))
    total = sum((s.weight for s in sections), Decimal(0))
    if total != 100:
        raise QualityError(f"{source}: the section weights sum to {total}, not 100")
    critical = data.get("critical", [])
    if not isinstance(critical, list) or any(c not in CRITICAL for c in critical):
        raise QualityError(f"{source}: field 'critical' may hold {', '.join(CRITICAL)}")
    timing = data.get("timing") or {}
    if not isinstance(timing, Mapping):
        raise QualityError(f"{source}: field 'timing' must be a mapping")
    frs = _dec(
        timing.get("first_response_seconds", 120), f"{source}: timing.first_response_seconds"
    )
    gap = _dec(timing.get("gap_seconds", 300), f"{source}: timing.gap_seconds")
    return Scorecard(
        name=name,
        title_zh=str(title["zh"]),
        title_en=str(title["en"]),
        channels=tuple(channels),
        pass_mark=_dec(data.get("pass_mark", 80), f"{source}: field 'pass_mark'"),
        sections=tuple(sections),
        critical=tuple(critical),
        first_response_seconds=int(frs),
        gap_seconds=int(gap),
    )


def card_for(channel: str, cards: Mapping[str, Scorecard], default: str = "chat") -> Scorecard:
    """The scorecard whose channels include ``channel`` (else ``default``)."""
    for card in cards.values():
        if channel in card.channels:
            return card
    if default not in cards:
        raise QualityError(f"no scorecard for channel {channel!r} and no {default!r} scorecard")
    return cards[default]


# --- evaluation --------------------------------------------------------------------------------


@dataclass(frozen=True)
class Finding:
    section: str
    #: index of the message in the conversation (None only when there is no agent message)
    message_index: int | None
    #: points gained (> 0) or lost (< 0), in scorecard points
    points: Decimal
    reason_zh: str
    reason_en: str
    rule: str
    critical: bool = False

    def reason(self, lang: str) -> str:
        return self.reason_en if _lang(lang) == "en" else self.reason_zh

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        out: dict[str, Any] = {
            "section": self.section,
            "message_index": self.message_index,
            "points": float(self.points),
            "reason": self.reason(lang) if lang else {"zh": self.reason_zh, "en": self.reason_en},
            "rule": self.rule,
        }
        if self.critical:
            out["critical"] = True
        return out


@dataclass(frozen=True)
class Evaluation:
    scorecard: str
    score: float
    raw_score: float
    passed: bool
    auto_fail: bool
    sections: Mapping[str, float]
    findings: tuple[Finding, ...]
    earned: Decimal
    applicable: Decimal
    #: check → (points earned, points of the item), for the items that applied
    items: Mapping[str, tuple[Decimal, Decimal]] = field(default_factory=dict)

    def ratings(self) -> dict[str, str]:
        """Each applicable item as met / partly / missed: what a calibration reviewer rates."""
        return {check: rating(e, p) for check, (e, p) in self.items.items()}

    def to_dict(self, lang: str | None = None) -> dict[str, Any]:
        return {
            "score": self.score,
            "passed": self.passed,
            "auto_fail": self.auto_fail,
            "sections": dict(self.sections),
            "findings": [f.to_dict(lang) for f in self.findings],
            "scorecard": self.scorecard,
            "raw_score": self.raw_score,
        }


RATINGS = ("met", "partly", "missed")
_RATING_SHARE = {"met": Decimal(1), "partly": Decimal("0.5"), "missed": Decimal(0)}


def rating(earned: Decimal, points: Decimal) -> str:
    return "met" if earned >= points else "missed" if earned <= 0 else "partly"


def score_ratings(card: Scorecard, ratings: Mapping[str, str]) -> float:
    """A reviewer's score from their item ratings (met = all the item's points, partly = half,
    missed = none), over the items they rated, on the same 0–100 scale as the grader's."""
    earned = total = Decimal(0)
    for section in card.sections:
        for item in section.items:
            r = ratings.get(item.check)
            if r is None:
                continue
            if r not in _RATING_SHARE:
                raise QualityError(f"ratings.{item.check}: expected met, partly or missed")
            earned += item.points * _RATING_SHARE[r]
            total += item.points
    unknown = set(ratings) - {i.check for s in card.sections for i in s.items}
    if unknown:
        raise QualityError(f"ratings: {', '.join(sorted(unknown))} not on the {card.name} card")
    return _round1(100 * earned / total) if total else 0.0


def _round1(d: Decimal) -> float:
    return float(d.quantize(Decimal("0.1")))
