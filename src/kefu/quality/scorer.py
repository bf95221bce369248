"""The QA scorer: a conversation and a scorecard in, an evaluation out.

Pure: given its policy (reply signals, glossary, checked facts — ``quality/content.py`` reads
``content/policies/quality.yaml`` and the rules registry) and a scorecard
(``content/policies/scorecards/*.yaml``). Every check is a rule of the product, named by the
scorecard's items; each item's points are either gained or lost, and every point gained or lost
is a :class:`Finding` that names the message that caused it.

Critical failures (a guard ``block`` finding in a message that reached the customer, a missing
risk disclosure the agent overrode, asking for a credential) fail the evaluation whatever the
rest: ``auto_fail`` is set, ``passed`` is False and ``score`` is 0 (``raw_score`` keeps what the
other items would have given), so a pleasant but non-compliant conversation never averages out.

Score = 100 × points earned ÷ points applicable (an item that cannot be measured — the timing
items of a transcript without timestamps — is left out of both), rounded to one decimal.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any, Protocol

import ahocorasick

from kefu.knowledge.rules import Registry, RuleError, format_value

SECTIONS = (
    "opening",
    "understanding",
    "accuracy",
    "compliance",
    "communication",
    "resolution",
    "closing",
)
SIGNALS = ("greeting", "name", "empathy", "apology", "question", "jargon", "closing", "escalate")
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
ROLES = ("customer", "agent", "system", "note")


class QualityError(ValueError):
    """A malformed scorecard or policy (naming the file, the item and the field), or a
    conversation the scorer cannot read."""


# --- input -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """One message of a conversation. ``guard_verdict``/``guard_categories`` carry the guard's
    record when the desk stored one; ``override`` says the agent confirmed a warning to send."""

    role: str
    text: str
    at: datetime | None = None
    guard_verdict: str | None = None
    guard_categories: tuple[str, ...] = ()
    override: bool = False


@dataclass(frozen=True)
class Conversation:
    channel: str
    resolved: bool
    turns: tuple[Turn, ...]
    lang: str = "zh"


class Screener(Protocol):
    """What the scorer needs of the compliance guard (``kefu.compliance.guard.Guard``)."""

    def screen(self, text: str, role: Any = "agent") -> Any: ...


# --- policy ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class GlossaryTerm:
    term: str
    zh: str
    en: str
    #: words of the plain explanation: a reply holding one of them explains the term itself
    plain: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fact:
    """A registry value a reply may state: checked in a clause that holds a word of every
    ``when`` group and none of ``unless``."""

    rule: str
    field: str | None
    when: tuple[tuple[str, ...], ...]
    unless: tuple[str, ...] = ()


@dataclass(frozen=True)
class QualityPolicy:
    phrases: Mapping[str, Mapping[str, tuple[str, ...]]]  # signal → lang → phrases
    patterns: Mapping[str, Mapping[str, tuple[str, ...]]]  # signal → lang → regexes
    glossary: tuple[GlossaryTerm, ...]
    explain_markers: Mapping[str, tuple[str, ...]]  # lang → markers after a term
    facts: tuple[Fact, ...] = ()
    registry: Registry | None = None
    explain_window: int = 24
    _compiled: _Compiled | None = field(default=None, compare=False, repr=False)

    @property
    def compiled(self) -> _Compiled:
        if self._compiled is None:  # built lazily for a policy made by hand
            object.__setattr__(self, "_compiled", _Compiled(self))
        assert self._compiled is not None
        return self._compiled


def _fold(text: str) -> str:
    """Full-width → half-width and lower case (NFKC keeps CJK ideographs as they are)."""
    return unicodedata.normalize("NFKC", text).lower()


def _latin_word(term: str) -> bool:
    return term.isascii() and term[:1].isalnum()


class _Compiled:
    """One Aho-Corasick automaton for every phrase and glossary term (both languages), one
    regex per signal and language, the explanation markers: built once per policy."""

    def __init__(self, policy: QualityPolicy) -> None:
        self.auto = ahocorasick.Automaton()
        owners: dict[str, list[tuple[str, str, str]]] = {}
        for signal, by_lang in policy.phrases.items():
            for lang, words in by_lang.items():
                for w in words:
                    owners.setdefault(_fold(w), []).append(("signal", signal, lang))
        self.terms: dict[str, GlossaryTerm] = {}
        for g in policy.glossary:
            key = _fold(g.term)
            self.terms[key] = g
            owners.setdefault(key, []).append(("term", key, ""))
        for key, own in owners.items():
            self.auto.add_word(key, (len(key), _latin_word(key), tuple(own)))
        if owners:
            self.auto.make_automaton()
        self.has_words = bool(owners)
        self.patterns: dict[str, dict[str, re.Pattern[str]]] = {}
        for signal, by_lang in policy.patterns.items():
            for lang, pats in by_lang.items():
                if pats:
                    self.patterns.setdefault(signal, {})[lang] = re.compile(
                        "|".join(f"(?:{p})" for p in pats)
                    )
        self.markers = {
            lang: tuple(_fold(m) for m in ms) for lang, ms in policy.explain_markers.items()
        }
        self.plain = {key: tuple(_fold(p) for p in g.plain) for key, g in self.terms.items()}
        self.window = policy.explain_window
        # each fact: one compiled alternation per `when` group and one for `unless`
        self.facts = [
            (f, [_words_re(g) for g in f.when], _words_re(f.unless) if f.unless else None)
            for f in policy.facts
        ]


def _words_re(words: Sequence[str]) -> re.Pattern[str]:
    """One pattern for any of ``words`` (folded; Latin words whole)."""
    alts = []
    for w in words:
        fw = _fold(w)
        alts.append(
            rf"(?<![a-z0-9]){re.escape(fw)}(?![a-z0-9])" if _latin_word(fw) else re.escape(fw)
        )
    return re.compile("|".join(alts))


def _lang(lang: str) -> str:
    return "en" if lang.lower().startswith("en") else "zh"


@dataclass(frozen=True)
class ReplyScan:
    signals: frozenset[str]
    #: unexplained glossary terms: (term as in the glossary, its entry)
    jargon: tuple[GlossaryTerm, ...]


_Q_END = re.compile(r"[?？]\s*$")
_SENTENCES = re.compile(r"[^。！？!?\n]+[。！？!?]*")


def scan_reply(
    text: str, *, lang: str, policy: QualityPolicy, known_terms: Iterable[str] = ()
) -> ReplyScan:
    """The signals of one reply, with the glossary terms it leaves unexplained (terms in
    ``known_terms`` — the customer's own words earlier — are not jargon to them)."""
    return _scan(_fold(text), _lang(lang), policy, {_fold(k) for k in known_terms})


def _scan(norm: str, lg: str, policy: QualityPolicy, known: set[str]) -> ReplyScan:
    c = policy.compiled
    found: set[str] = set()
    term_hits: list[tuple[str, int, int]] = []
    if c.has_words:
        for end, (length, latin, own) in c.auto.iter(norm):
            start = end - length + 1
            if latin and (
                (start > 0 and norm[start - 1].isalnum() and norm[start - 1].isascii())
                or (end + 1 < len(norm) and norm[end + 1].isalnum() and norm[end + 1].isascii())
            ):
                continue
            for kind, name, plang in own:
                if kind == "signal":
                    if plang == lg:
                        found.add(name)
                else:
                    term_hits.append((name, start, end + 1))
    for signal, by_lang in c.patterns.items():
        pat = by_lang.get(lg)
        if pat is not None and signal not in found and pat.search(norm):
            found.add(signal)
    if "question" not in found and ("?" in norm):
        # a question that is not the closing offer ("还有什么可以帮您的吗？") clarifies
        for sentence in _SENTENCES.findall(norm):
            if _Q_END.search(sentence) and not _closing_sentence(sentence, lg, c):
                found.add("question")
                break
    jargon: list[GlossaryTerm] = []
    markers = c.markers.get(lg, ())
    seen: set[str] = set()
    for key, start, end in term_hits:
        if key in seen or key in known:
            continue
        # a longer glossary term covering this hit is the one that counts (维持担保比例 ⊃ 担保)
        if any(k != key and s <= start and end <= e for k, s, e in term_hits):
            continue
        after = norm[end : end + c.window]
        if any(m in after for m in markers):
            continue
        if any(p in norm for p in c.plain.get(key, ())):
            continue
        seen.add(key)
        jargon.append(c.terms[key])
    if jargon:
        found.add("jargon")
    return ReplyScan(frozenset(found), tuple(jargon))


def _closing_sentence(sentence: str, lg: str, c: _Compiled) -> bool:
    if not c.has_words:
        return False
    for _end, (_length, _latin, own) in c.auto.iter(sentence):
        if any(k == "signal" and n == "closing" and pl == lg for k, n, pl in own):
            return True
    pat = c.patterns.get("closing", {}).get(lg)
    return bool(pat and pat.search(sentence))


def reply_signals(text: str, *, lang: str, policy: QualityPolicy) -> frozenset[str]:
    """The signals of one agent reply in ``lang``: greeting, name, empathy, apology, question,
    jargon, closing, escalate (the academy's role-play reads the same signals)."""
    return scan_reply(text, lang=lang, policy=policy).signals


# --- facts against the rules registry ---------------------------------------------------------

_CLAUSES = re.compile(r"[^，,。；;！!？?\n]+")
_PERCENT = re.compile(r"(?<![\d.])(\d+(?:\.\d+)?)\s*([%％‰])")
_ZH_FRACTION = re.compile(r"(千|万)分之\s*([\d.]+|[一二三四五六七八九十两]+)")
_ZH_DIGITS = {
    "一": 1,
    "二": 2,
    "两": 2,
    "三": 3,
    "四": 4,
    "五": 5,
    "六": 6,
    "七": 7,
    "八": 8,
    "九": 9,
}


def _zh_number(s: str) -> Decimal | None:
    try:
        return Decimal(s)
    except InvalidOperation:
        pass
    if s == "十":
        return Decimal(10)
    if len(s) == 1 and s in _ZH_DIGITS:
        return Decimal(_ZH_DIGITS[s])
    if len(s) == 2 and s[0] == "十" and s[1] in _ZH_DIGITS:
        return Decimal(10 + _ZH_DIGITS[s[1]])
    return None


def stated_fractions(clause: str) -> list[tuple[Decimal, str]]:
    """Rates written in ``clause`` as fractions (20% → 0.2, 千分之一 → 0.001, 0.5‰ → 0.0005),
    each with the words as written."""
    out: list[tuple[Decimal, str]] = []
    for m in _PERCENT.finditer(clause):
        div = 1000 if m.group(2) == "‰" else 100
        out.append((Decimal(m.group(1)) / div, m.group(0)))
    for m in _ZH_FRACTION.finditer(clause):
        n = _zh_number(m.group(2))
        if n is not None:
            out.append((n / (1000 if m.group(1) == "千" else 10000), m.group(0)))
    return out


@dataclass(frozen=True)
class FactCheck:
    rule: str
    field: str | None
    stated: str
    correct: bool
    #: the value in force, written in zh and en (for the finding's reason)
    expected_zh: str
    expected_en: str


def check_facts(text: str, *, policy: QualityPolicy, as_of: date) -> list[FactCheck]:
    """Rates stated in ``text`` for a registry rule it names, each compared with the value in
    force on ``as_of``. A clause that names several rules is right if the rate matches any."""
    return _facts(_fold(text), policy, as_of)


_NUMERIC = re.compile(r"[%％‰]|分之")


def _facts(norm: str, policy: QualityPolicy, as_of: date) -> list[FactCheck]:
    if policy.registry is None or not policy.facts or not _NUMERIC.search(norm):
        return []
    out: list[FactCheck] = []
    matchers = policy.compiled.facts
    for clause in _CLAUSES.findall(norm):
        stated = stated_fractions(clause)
        if not stated:
            continue
        named = [
            f
            for f, groups, unless in matchers
            if all(g.search(clause) for g in groups)
            and (unless is None or not unless.search(clause))
        ]
        if not named:
            continue
        expected: list[tuple[Fact, Decimal]] = []
        for f in named:
            try:
                value = policy.registry.decimal(f.rule, as_of, f.field)
            except RuleError:
                continue
            expected.append((f, value))
        if not expected:
            continue
        for value, words in stated:
            hit = next(((f, v) for f, v in expected if v == value), None)
            f, v = hit or expected[0]
            out.append(
                FactCheck(
                    f.rule,
                    f.field,
                    words,
                    hit is not None,
                    format_value("percent", v, "zh"),
                    format_value("percent", v, "en"),
                )
            )
    return out


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


def _lang_lists(value: Any, where: str) -> dict[str, tuple[str, ...]]:
    if not isinstance(value, Mapping):
        raise QualityError(f"{where}: expected {{zh: [...], en: [...]}}")
    out: dict[str, tuple[str, ...]] = {}
    for lang in ("zh", "en"):
        words = value.get(lang, [])
        if not isinstance(words, list) or not all(isinstance(w, str) and w for w in words):
            raise QualityError(f"{where}.{lang}: expected a list of non-empty strings")
        out[lang] = tuple(words)
    return out


def parse_policy(
    data: Any, registry: Registry | None = None, source: str = "quality.yaml"
) -> QualityPolicy:
    """Validates the quality policy (signals, glossary, explanation markers, checked facts) and
    compiles its matchers."""
    if not isinstance(data, Mapping):
        raise QualityError(f"{source}: expected a mapping")
    signals = data.get("signals")
    if not isinstance(signals, Mapping):
        raise QualityError(f"{source}: field 'signals' must be a mapping")
    phrases: dict[str, dict[str, tuple[str, ...]]] = {}
    patterns: dict[str, dict[str, tuple[str, ...]]] = {}
    for name, spec in signals.items():
        where = f"{source}: signal {name!r}"
        if name not in SIGNALS or name == "jargon":
            raise QualityError(f"{where}: unknown signal (jargon comes from the glossary)")
        if not isinstance(spec, Mapping):
            raise QualityError(f"{where}: expected a mapping")
        phrases[name] = _lang_lists(spec.get("phrases", {}), f"{where}.phrases")
        patterns[name] = _lang_lists(spec.get("patterns", {}), f"{where}.patterns")
        for lang, pats in patterns[name].items():
            for p in pats:
                try:
                    re.compile(p)
                except re.error as exc:
                    raise QualityError(f"{where}.patterns.{lang}: {p!r}: {exc}") from None
    glossary: list[GlossaryTerm] = []
    raw_gloss = data.get("glossary", [])
    if not isinstance(raw_gloss, list):
        raise QualityError(f"{source}: field 'glossary' must be a list")
    for i, g in enumerate(raw_gloss):
        where = f"{source}: glossary entry {i + 1}"
        if not isinstance(g, Mapping) or not isinstance(g.get("term"), str) or not g["term"]:
            raise QualityError(f"{where}: field 'term' is required")
        expl = g.get("explain")
        if not isinstance(expl, Mapping) or not expl.get("zh") or not expl.get("en"):
            raise QualityError(f"{where} ({g['term']}): field 'explain' needs zh and en")
        plain = g.get("plain", [])
        if not isinstance(plain, list) or not all(isinstance(p, str) and p for p in plain):
            raise QualityError(f"{where} ({g['term']}): field 'plain' must be a list of words")
        glossary.append(GlossaryTerm(g["term"], str(expl["zh"]), str(expl["en"]), tuple(plain)))
    markers = _lang_lists(data.get("explain_markers", {}), f"{source}: explain_markers")
    facts: list[Fact] = []
    for i, f in enumerate(data.get("facts", []) or []):
        where = f"{source}: fact {i + 1}"
        if not isinstance(f, Mapping) or not isinstance(f.get("rule"), str):
            raise QualityError(f"{where}: field 'rule' is required")
        when = f.get("when")
        if (
            not isinstance(when, list)
            or not when
            or not all(
                isinstance(g, list) and g and all(isinstance(w, str) for w in g) for g in when
            )
        ):
            raise QualityError(f"{where} ({f['rule']}): field 'when' must be a list of word lists")
        unless = f.get("unless", [])
        if not isinstance(unless, list):
            raise QualityError(f"{where} ({f['rule']}): field 'unless' must be a list")
        fact = Fact(
            f["rule"],
            f.get("field"),
            tuple(tuple(g) for g in when),
            tuple(unless),
        )
        if registry is not None:
            try:
                registry.decimal(fact.rule, None, fact.field)
            except RuleError as exc:
                raise QualityError(f"{where}: {exc}") from None
        facts.append(fact)
    policy = QualityPolicy(
        phrases=phrases,
        patterns=patterns,
        glossary=tuple(glossary),
        explain_markers=markers,
        facts=tuple(facts),
        registry=registry,
        explain_window=int(data.get("explain_window", 24)),
    )
    object.__setattr__(policy, "_compiled", _Compiled(policy))
    return policy


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


class _Ledger:
    """The findings of one item: whatever is not lost of its points is gained."""

    def __init__(self, section: str, item: Item) -> None:
        self.section, self.item = section, item
        self.lost: list[Finding] = []
        self.remaining = item.points

    def lose(
        self,
        index: int | None,
        zh: str,
        en: str,
        rule: str,
        amount: Decimal | None = None,
        critical: bool = False,
    ) -> None:
        take = self.remaining if amount is None else min(amount, self.remaining)
        self.remaining -= take
        self.lost.append(Finding(self.section, index, -take, zh, en, rule, critical))

    def findings(self, index: int | None, zh: str, en: str) -> list[Finding]:
        out = list(self.lost)
        if self.remaining > 0:
            out.insert(0, Finding(self.section, index, self.remaining, zh, en, self.item.check))
        return out


def _verdict(turn: Turn, guard: Screener | None) -> tuple[str | None, tuple[str, ...]]:
    if turn.guard_verdict is not None or guard is None:
        return turn.guard_verdict, turn.guard_categories
    try:
        s = guard.screen(turn.text, "agent")
    except ValueError:  # text the guard refuses (empty, too long): nothing to judge
        return None, ()
    return str(s.verdict), tuple(str(f.category) for f in s.findings)


def _since(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


def _mins(seconds: float) -> str:
    return f"{seconds / 60:.0f}"


def score(
    conv: Conversation,
    card: Scorecard,
    *,
    policy: QualityPolicy,
    guard: Screener | None = None,
    as_of: date | None = None,
) -> Evaluation:
    """Scores ``conv`` against ``card``. ``guard`` screens agent turns that carry no stored
    verdict (imported transcripts); ``as_of`` is the day facts are checked for (default: the
    day of the first timestamped message, else today)."""
    lang = _lang(conv.lang)
    turns = conv.turns
    agent = [i for i, t in enumerate(turns) if t.role == "agent"]
    if as_of is None:
        stamped = next((t.at for t in turns if t.at is not None), None)
        as_of = stamped.date() if stamped else date.today()
    # what each agent reply says (jargon is judged against what the customer said before)
    scans: dict[int, ReplyScan] = {}
    folded: dict[int, str] = {}
    known: set[str] = set()
    for i, t in enumerate(turns):
        if t.role == "customer":
            known.update(_terms_in(_fold(t.text), policy))
        elif t.role == "agent":
            folded[i] = norm = _fold(t.text)
            scans[i] = _scan(norm, lang, policy, known)
    first = agent[0] if agent else None
    last = agent[-1] if agent else None
    findings: list[Finding] = []
    earned: dict[str, Decimal] = {}
    applicable: dict[str, Decimal] = {}
    critical_hit = False
    items: dict[str, tuple[Decimal, Decimal]] = {}

    def with_signal(signal: str, among: Sequence[int]) -> int | None:
        return next((i for i in among if signal in scans[i].signals), None)

    for section in card.sections:
        for item in section.items:
            led = _Ledger(section.name, item)
            check = item.check
            gain_at = last
            zh = en = ""
            if check == "greeting":
                gain_at = first
                if first is None or "greeting" not in scans[first].signals:
                    led.lose(
                        first,
                        "首次回复没有问候客户。",
                        "The first reply does not greet the customer.",
                        check,
                    )
                zh, en = "首次回复问候了客户。", "The first reply greets the customer."
            elif check == "name":
                hit = with_signal("name", agent[:2])
                gain_at = hit
                if hit is None:
                    led.lose(
                        first,
                        "开场没有报出姓名或工号。",
                        "The agent does not give a name or staff id at the start.",
                        check,
                    )
                zh, en = "开场报出了姓名或工号。", "The agent gives a name or staff id."
            elif check == "empathy":
                hit = next((i for i in agent if scans[i].signals & {"empathy", "apology"}), None)
                gain_at = hit
                if hit is None:
                    led.lose(
                        first,
                        "没有回应客户的感受或确认问题。",
                        "No reply acknowledges the customer's feelings or problem.",
                        check,
                    )
                zh, en = (
                    "回应了客户的感受并确认了问题。",
                    "A reply acknowledges the customer's feelings and problem.",
                )
            elif check == "question":
                hit = with_signal("question", agent)
                gain_at = hit
                if hit is None:
                    led.lose(
                        first,
                        "没有提出澄清问题来确认客户的需求。",
                        "No clarifying question confirms what the customer needs.",
                        check,
                    )
                zh, en = "提出了澄清问题。", "A clarifying question is asked."
            elif check == "facts":
                per = item.per or item.points
                right: int | None = None
                for i in agent:
                    for fc in _facts(folded[i], policy, as_of):
                        if fc.correct:
                            right = i if right is None else right
                            continue
                        led.lose(
                            i,
                            f"「{fc.stated}」与规则库不符："
                            f"{_rule_title(policy, fc.rule, 'zh')}现为{fc.expected_zh}。",
                            f"“{fc.stated}” contradicts the rules registry: "
                            f"{_rule_title(policy, fc.rule, 'en')} is {fc.expected_en}.",
                            f"rule:{fc.rule}" + (f".{fc.field}" if fc.field else ""),
                            per,
                        )
                gain_at = right if right is not None else last
                if led.lost:
                    zh, en = (
                        "其余陈述的事实与规则库一致。",
                        "The other facts stated agree with the registry.",
                    )
                elif right is not None:
                    zh, en = (
                        "回复中的规则数字与规则库一致。",
                        "The rule figures stated agree with the rules registry.",
                    )
                else:
                    zh, en = (
                        "回复中没有与知识库或规则库矛盾的事实。",
                        "No stated fact contradicts the KB or the rules registry.",
                    )
            elif check == "guard":
                per = item.per or item.points
                for i in agent:
                    verdict, cats = _verdict(turns[i], guard)
                    if "credential" in cats:
                        crit = "credential_request" in card.critical
                        critical_hit |= crit
                        led.lose(
                            i,
                            "向客户索要密码或验证码。",
                            "The agent asks the customer for a password or code.",
                            "credential_request",
                            critical=crit,
                        )
                    elif verdict == "block":
                        crit = "guard_block" in card.critical
                        critical_hit |= crit
                        led.lose(
                            i,
                            f"发给客户的消息触发合规拦截（{'、'.join(cats) or 'block'}）。",
                            "A message that reached the customer has a guard block finding "
                            f"({', '.join(cats) or 'block'}).",
                            "guard_block",
                            critical=crit,
                        )
                    if verdict == "warn":
                        if turns[i].override and "disclosure" in cats:
                            crit = "disclosure_override" in card.critical
                            critical_hit |= crit
                            led.lose(
                                i,
                                "推介产品缺少风险揭示，坐席确认后仍然发送。",
                                "A product was pitched without the risk disclosure and the "
                                "agent overrode the warning.",
                                "disclosure_override",
                                per if not crit else None,
                                critical=crit,
                            )
                        else:
                            led.lose(
                                i,
                                f"消息有合规提示（{'、'.join(cats)}）。",
                                f"The message has a guard warning ({', '.join(cats)}).",
                                "guard_warn",
                                per,
                            )
                if led.lost:
                    zh, en = (
                        "其余回复通过合规检查。",
                        "The other replies pass the compliance guard.",
                    )
                else:
                    zh, en = "所有回复均通过合规检查。", "Every reply passes the compliance guard."
            elif check == "jargon":
                per = item.per or item.points
                for i in agent:
                    for g in scans[i].jargon:
                        led.lose(
                            i,
                            f"使用术语「{g.term}」未加解释（{g.zh}）。",
                            f"The term “{g.term}” is used without explanation ({g.en}).",
                            f"jargon:{g.term}",
                            per,
                        )
                if led.lost:
                    zh, en = "其余术语均有解释。", "Other terms are explained."
                else:
                    zh, en = "没有未加解释的专业术语。", "No jargon is left unexplained."
            elif check == "first_response":
                cust = next((i for i, t in enumerate(turns) if t.role == "customer"), None)
                if first is None:
                    led.lose(None, "客户没有得到任何回复。", "The customer got no reply.", check)
                elif (
                    cust is None
                    or cust > first
                    or turns[cust].at is None
                    or turns[first].at is None
                ):
                    continue  # not measurable: outside the score
                else:
                    at_c, at_a = turns[cust].at, turns[first].at
                    assert at_c is not None and at_a is not None
                    wait = _since(at_c, at_a)
                    gain_at = first
                    if wait > card.first_response_seconds:
                        led.lose(
                            first,
                            f"首次响应用时{_mins(wait)}分钟，超过{_mins(card.first_response_seconds)}分钟。",
                            f"First response took {_mins(wait)} min, "
                            f"over {_mins(card.first_response_seconds)} min.",
                            check,
                        )
                    zh = f"首次响应用时{_mins(wait)}分钟。"
                    en = f"First response in {_mins(wait)} min."
            elif check == "gaps":
                per = item.per or item.points
                measured = False
                pending: int | None = None
                for i, t in enumerate(turns):
                    if t.role == "customer" and pending is None and first is not None and i > first:
                        pending = i
                    elif t.role == "agent" and pending is not None:
                        a, b = turns[pending].at, t.at
                        if a is not None and b is not None:
                            measured = True
                            wait = _since(a, b)
                            if wait > card.gap_seconds:
                                led.lose(
                                    i,
                                    f"客户等待了{_mins(wait)}分钟才得到回复（上限{_mins(card.gap_seconds)}分钟）。",
                                    f"The customer waited {_mins(wait)} min for this reply "
                                    f"(limit {_mins(card.gap_seconds)} min).",
                                    check,
                                    per,
                                )
                        pending = None
                if not measured:
                    continue
                every_zh, every_en = ("其余", "The other") if led.lost else ("每次", "Every")
                zh = f"{every_zh}回复的间隔都在{_mins(card.gap_seconds)}分钟以内。"
                en = f"{every_en} replies came within {_mins(card.gap_seconds)} min."
            elif check == "resolved":
                if not conv.resolved:
                    esc = with_signal("escalate", agent)
                    if esc is not None:
                        led.lose(
                            esc,
                            "问题未解决，但为客户提供了升级或投诉渠道。",
                            "Not resolved, but the customer was offered escalation or a "
                            "complaint route.",
                            check,
                            item.points / 2,
                        )
                        gain_at = esc
                        zh, en = "提供了升级渠道。", "Escalation offered."
                    else:
                        led.lose(
                            last,
                            "问题未解决，也没有给出下一步。",
                            "Not resolved and no next step offered.",
                            check,
                        )
                else:
                    zh, en = "问题已解决。", "The problem was resolved."
            elif check == "closing":
                hit = next((i for i in reversed(agent[-2:]) if "closing" in scans[i].signals), None)
                gain_at = hit
                if hit is None:
                    led.lose(
                        last,
                        "结束时没有询问客户是否还需要其他帮助。",
                        "The close does not offer further help.",
                        check,
                    )
                zh, en = "结束时询问客户是否还需要其他帮助。", "The close offers further help."
            applicable[section.name] = applicable.get(section.name, Decimal(0)) + item.points
            earned[section.name] = earned.get(section.name, Decimal(0)) + led.remaining
            items[check] = (led.remaining, item.points)
            findings.extend(led.findings(gain_at, zh, en))
    total_app = sum(applicable.values(), Decimal(0))
    total_earned = sum(earned.values(), Decimal(0))
    raw = _round1(100 * total_earned / total_app) if total_app else 0.0
    sections = {
        s.name: _round1(100 * earned[s.name] / applicable[s.name])
        for s in card.sections
        if applicable.get(s.name)
    }
    final = 0.0 if critical_hit else raw
    findings.sort(key=lambda f: (f.message_index if f.message_index is not None else -1, f.points))
    return Evaluation(
        scorecard=card.name,
        score=final,
        raw_score=raw,
        passed=not critical_hit and Decimal(str(raw)) >= card.pass_mark,
        auto_fail=critical_hit,
        sections=sections,
        findings=tuple(findings),
        earned=total_earned,
        applicable=total_app,
        items=items,
    )


def _terms_in(norm: str, policy: QualityPolicy) -> tuple[str, ...]:
    """The glossary terms in folded text."""
    c = policy.compiled
    if not c.has_words:
        return ()
    return tuple(
        name for _e, (_l, _lat, own) in c.auto.iter(norm) for k, name, _ in own if k == "term"
    )


def _rule_title(policy: QualityPolicy, rule: str, lang: str) -> str:
    if policy.registry is None:
        return rule
    try:
        return policy.registry.rule(rule).title(lang)
    except RuleError:
        return rule


def card_for(channel: str, cards: Mapping[str, Scorecard], default: str = "chat") -> Scorecard:
    """The scorecard whose channels include ``channel`` (else ``default``)."""
    for card in cards.values():
        if channel in card.channels:
            return card
    if default not in cards:
        raise QualityError(f"no scorecard for channel {channel!r} and no {default!r} scorecard")
    return cards[default]


# --- the JSON contract of `kefu qa score` ---------------------------------------------------------

_CJK = re.compile(r"[\u3400-\u9fff]")


def _when(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise QualityError(f"{where}: expected an ISO 8601 time string")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise QualityError(f"{where}: {value!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise QualityError(
            f"{where}: {value!r} has no time zone (write e.g. 2026-03-02T10:00:00+08:00)"
        )
    return when


def parse_conversation(data: Any, channels: Iterable[str] | None = None) -> Conversation:
    """``{"channel", "resolved", "messages": [{"role": "customer"|"agent", "text", "at"}]}``
    (optional ``"lang"``: zh or en, else guessed from the agent's words) as a
    :class:`Conversation`; a bad field raises :class:`QualityError` naming it."""
    if not isinstance(data, Mapping):
        raise QualityError("input: expected a JSON object with channel, resolved and messages")
    channel = data.get("channel")
    if not isinstance(channel, str) or not channel:
        raise QualityError("channel: expected a string (chat, web, phone or email)")
    allowed = tuple(channels) if channels is not None else None
    if allowed is not None and channel not in allowed:
        raise QualityError(f"channel: {channel!r} is not one of {', '.join(allowed)}")
    resolved = data.get("resolved")
    if not isinstance(resolved, bool):
        raise QualityError("resolved: expected true or false")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise QualityError("messages: expected a non-empty list")
    turns: list[Turn] = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, Mapping):
            raise QualityError(f"{where}: expected an object with role, text and at")
        role = m.get("role")
        if role not in ("customer", "agent"):
            raise QualityError(f"{where}.role: expected customer or agent, not {role!r}")
        text = m.get("text")
        if not isinstance(text, str) or not text.strip():
            raise QualityError(f"{where}.text: expected a non-empty string")
        turns.append(Turn(str(role), text, _when(m.get("at"), f"{where}.at")))
    lang = data.get("lang")
    if lang is None:
        agent_text = "".join(t.text for t in turns if t.role == "agent") or turns[0].text
        lang = "zh" if _CJK.search(agent_text) else "en"
    if lang not in ("zh", "en"):
        raise QualityError(f"lang: expected zh or en, not {lang!r}")
    return Conversation(channel=channel, resolved=resolved, turns=tuple(turns), lang=str(lang))


def contract_output(ev: Evaluation, lang: str) -> dict[str, Any]:
    """The evaluation in the shape `kefu qa score --json` promises: score, passed, auto_fail,
    sections and findings (section, message_index, points, reason in ``lang``)."""
    return {
        "score": ev.score,
        "passed": ev.passed,
        "auto_fail": ev.auto_fail,
        "sections": dict(ev.sections),
        "findings": [
            {
                "section": f.section,
                "message_index": f.message_index,
                "points": float(f.points),
                "reason": f.reason(lang),
            }
            for f in ev.findings
        ],
    }
