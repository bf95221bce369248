"""The quality policy and the reply signals (pure): the policy (phrases and patterns per signal,
the glossary, explanation markers, checked facts), parsed and compiled once into one
Aho-Corasick automaton, and the scan of one reply — greeting, name, empathy, apology, question,
jargon, closing, escalate — that the QA scorer and the academy's role-play read."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import ahocorasick

from kefu.knowledge.rules import Registry, RuleError
from kefu.quality.conversation import QualityError, _lang

SIGNALS = ("greeting", "name", "empathy", "apology", "question", "jargon", "closing", "escalate")


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


def _terms_in(norm: str, policy: QualityPolicy) -> tuple[str, ...]:
    """The glossary terms in folded text."""
    c = policy.compiled
    if not c.has_words:
        return ()
    return tuple(
        name for _e, (_l, _lat, own) in c.auto.iter(norm) for k, name, _ in own if k == "term"
    )
