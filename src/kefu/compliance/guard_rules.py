"""Phrase rules and compositional rules: word classes (terms with their homophones, and regular
expressions) whose words must co-occur in one clause or sentence within a window."""

from __future__ import annotations

import re
import re._parser as sre_parse
from collections.abc import Mapping
from typing import Any

from kefu.compliance.guard_context import Context
from kefu.compliance.guard_text import (
    _CLAUSE_END,
    _LATIN,
    _SENTENCE_END,
    _expand,
    _Phrases,
    _terms,
    normalise,
)
from kefu.compliance.guard_types import BLOCKING, Composition, Rule

Hits = dict[str, list[tuple[int, int]]]
Fired = tuple[Composition, int, int, list[tuple[str, int, int]]]


def rule_from(spec: Mapping[str, Any]) -> Rule:
    """A phrase rule or a composition's rule, from its guard.yaml entry."""
    return Rule(
        id=spec["id"],
        category=spec["category"],
        explanation_zh=spec["explanation"]["zh"],
        explanation_en=spec["explanation"]["en"],
        hint_zh=(spec.get("hint") or {}).get("zh"),
        hint_en=(spec.get("hint") or {}).get("en"),
        examples_match=list(spec.get("examples_match", [])),
        examples_pass=list(spec.get("examples_pass", [])),
    )


def homophone_table(policy: Mapping[str, Any]) -> dict[str, list[str]]:
    """``homophones:`` of the policy, normalised: {word: [other spellings]}."""
    return {
        normalise(str(k))[0].strip(): [normalise(str(v))[0].strip() for v in vs]
        for k, vs in (policy.get("homophones") or {}).items()
    }


def phrase_keys(
    policy: Mapping[str, Any], rules: dict[str, Rule]
) -> dict[str, list[tuple[str, bool]]]:
    """The phrase rules of ``policy``, added to ``rules``; returns {normalised phrase: [(rule
    id, latin)]}, each phrase also in the spellings of the homophone table (保本 → bao本)."""
    homophones = homophone_table(policy)
    patterns: dict[str, list[tuple[str, bool]]] = {}
    for spec in policy.get("rules", []):
        rule = rule_from(spec)
        if rule.id in rules:
            raise ValueError(f"guard policy: duplicate rule id {rule.id!r}")
        rules[rule.id] = rule
        for term in _terms(spec.get("terms")):
            for key in _expand(normalise(term)[0].strip(), homophones):
                if not key:
                    continue
                latin = bool(_LATIN.match(key[0])) or bool(_LATIN.match(key[-1]))
                owners = patterns.setdefault(key, [])
                if (rule.id, latin) not in owners:
                    owners.append((rule.id, latin))
    return patterns


_DIGITS = tuple("0123456789")
_ANY_DIGIT = re.compile("[0-9]")
# words too common to gate a pattern on
_STOPWORDS = frozenset({"the", "a", "an", "of", "is", "are", "to"})


def _gate(pattern: str) -> tuple[str, ...]:
    """Strings one of which a text must hold for ``pattern`` to match there (a literal run, or
    the alternatives of a branch of literals, or any digit), the most selective found; empty
    when there is none. A message without them skips the pattern: most class patterns need a
    "%", a digit or a word, and few messages have them."""
    best: tuple[str, ...] = ()

    def better(cand: tuple[str, ...]) -> None:
        nonlocal best

        def key(c: tuple[str, ...]) -> tuple[bool, int, int]:
            return (len(c) == 1, min(map(len, c)), -len(c))

        if (
            cand
            and not set(cand) & _STOPWORDS
            and (not best or best is _DIGITS or key(cand) > key(best))
        ):
            best = cand

    run: list[str] = []
    for op, arg in [*sre_parse.parse(pattern), (None, None)]:
        if op is sre_parse.LITERAL and isinstance(arg, int):
            run.append(chr(arg))
            continue
        if "".join(run).strip():
            better(("".join(run).strip(),))
        run = []
        if op is sre_parse.BRANCH and isinstance(arg, tuple):
            alts = arg[1]
            if all(alt and all(o is sre_parse.LITERAL for o, _ in alt) for alt in alts):
                better(tuple("".join(chr(a) for _, a in alt) for alt in alts))
        elif op is sre_parse.IN and arg == [(sre_parse.RANGE, (48, 57))] and not best:
            best = _DIGITS
        elif (
            op is sre_parse.IN
            and isinstance(arg, list)
            and 0 < len(arg) <= 16
            and all(o is sre_parse.LITERAL for o, _ in arg)
        ):
            better(tuple(chr(a) for _, a in arg))  # a few characters: [老小]
        elif op is sre_parse.MAX_REPEAT and isinstance(arg, tuple) and arg[0] >= 1:
            if list(arg[2]) == [(sre_parse.IN, [(sre_parse.RANGE, (48, 57))])] and not best:
                best = _DIGITS
    return best


def _norm_terms(spec: Any) -> list[str]:
    return [k for k in (normalise(t)[0].strip() for t in _terms(spec)) if k]


def _update(hits: Hits, name: str, kept: list[tuple[int, int]]) -> None:
    if kept:
        hits[name] = kept
    else:
        del hits[name]


class Compositions:
    """The word classes and the compositional rules of a policy, compiled."""

    def __init__(self, policy: Mapping[str, Any], rules: dict[str, Rule], context: Context):
        self.context = context
        homophones = homophone_table(policy)
        classes = policy.get("classes") or {}
        self.regex: list[tuple[str, re.Pattern[str], tuple[str, ...]]] = []
        self.not_followed_by: dict[str, tuple[str, ...]] = {}
        self.not_after: dict[str, _Phrases] = {}
        self.addressed = _Phrases(_norm_terms(policy.get("addressee")))
        # {normalised word: class names}, homophones expanded
        self.keys: dict[str, set[str]] = {}
        for name, spec in classes.items():
            spec = spec or {}
            for term in _terms({k: v for k, v in spec.items() if k in ("zh", "en")}):
                key = normalise(term)[0].strip()
                for variant in _expand(key, homophones) if key else []:
                    self.keys.setdefault(variant, set()).add(name)
            for pattern in spec.get("patterns") or []:
                self.regex.append((name, re.compile(str(pattern)), _gate(str(pattern))))
            # a word of the class does not count when the words right after it make it part of
            # another word ("trading password" is no trade), or when the agent is its subject
            # (a word of `not_after` earlier in the clause, the customer not addressed between:
            # "我先说一下短信里的内容" tells, "您说一下短信里的验证码" asks)
            followed = _norm_terms(spec.get("not_followed_by"))
            if followed:
                self.not_followed_by[name] = tuple(followed)
            after = _norm_terms(spec.get("not_after"))
            if after:
                self.not_after[name] = _Phrases(after)
        self.rules: list[Composition] = []
        self._memo: dict[frozenset[str], list[Composition]] = {}
        self._grounded: dict[frozenset[str], bool] = {}
        for spec in policy.get("compositions") or []:
            rule = rule_from(spec)
            if rule.id in rules:
                raise ValueError(f"guard policy: duplicate rule id {rule.id!r}")
            slots = [
                frozenset([slot] if isinstance(slot, str) else slot) for slot in spec["classes"]
            ]
            for name in {n for slot in slots for n in slot} | set(spec.get("unless") or []):
                if name not in classes:
                    raise ValueError(f"guard policy: {rule.id} names unknown class {name!r}")
            rules[rule.id] = rule
            self.rules.append(
                Composition(
                    rule,
                    slots,
                    int(spec.get("window", 30)),
                    spec.get("scope", "clause") == "sentence",
                    frozenset(spec.get("unless") or []),
                )
            )
        # the class patterns' gates ({gate string: pattern indices}), found by the guard's one
        # automaton pass; patterns gated on a digit or not at all
        self.gates: dict[str, tuple[int, ...]] = {}
        self._gates_free: frozenset[int] = frozenset(
            i for i, (_, _, gate) in enumerate(self.regex) if not gate
        )
        self._digit_gated: frozenset[int] = frozenset(
            i for i, (_, _, gate) in enumerate(self.regex) if gate is _DIGITS
        )
        for i, (_, _, gate) in enumerate(self.regex):
            if gate and gate is not _DIGITS:
                for g in gate:
                    self.gates[g] = (*self.gates.get(g, ()), i)
        # the classes of the blocking rules: the model blocks only with one of their words
        self.blocking_classes = frozenset(
            name
            for comp in self.rules
            if comp.rule.category in BLOCKING
            for slot in comp.slots
            for name in slot
        )

    def grounded(self, present: frozenset[str]) -> bool:
        """Whether the classes ``present`` half-make a blocking rule: words of two of its slots
        (of its one slot for a one-class rule) — a trade and an instrument, a request and a
        secret's neighbour… The model blocks only then; a lone trade word ("买到了") is not
        enough to block on the model's say."""
        found = self._grounded.get(present)
        if found is None:
            found = any(
                comp.rule.category in BLOCKING
                and sum(not slot.isdisjoint(present) for slot in comp.slots)
                >= min(2, len(comp.slots))
                for comp in self.rules
            )
            if len(self._grounded) >= 4096:
                self._grounded.clear()
            self._grounded[present] = found
        return found

    def add_regex_hits(self, norm: str, hits: Hits, gated: set[int]) -> None:
        """The regular expressions' words (``gated``: the patterns whose gate string the scan
        found), then the class exclusions applied to all words."""
        if self.regex:
            gated |= self._gates_free
            if self._digit_gated and _ANY_DIGIT.search(norm):
                gated |= self._digit_gated
            n = len(norm)
            for i in sorted(gated):
                name, pattern, _ = self.regex[i]
                for m in pattern.finditer(norm):
                    s, e = m.span()
                    # a match that begins or ends with a Latin letter sits on word boundaries,
                    # like a class term ("put" is not in "input"): no look-behind needed, which
                    # would make the regex engine try every position
                    if (s > 0 and _LATIN.match(norm[s]) and _LATIN.match(norm[s - 1])) or (
                        e < n and _LATIN.match(norm[e - 1]) and _LATIN.match(norm[e])
                    ):
                        continue
                    hits.setdefault(name, []).append((s, e))
        for name, words in self.not_followed_by.items():
            spans = hits.get(name)
            if spans:
                kept = [(s, e) for s, e in spans if not norm[e:].lstrip().startswith(words)]
                if len(kept) < len(spans):
                    _update(hits, name, kept)
        for name, phrases in self.not_after.items():
            spans = hits.get(name)
            if spans:
                kept = [(s, e) for s, e in spans if not self._agent_says(norm, s, phrases)]
                if len(kept) < len(spans):
                    _update(hits, name, kept)

    def _agent_says(self, norm: str, start: int, phrases: _Phrases) -> bool:
        lo = start
        while lo > 0 and norm[lo - 1] not in _CLAUSE_END:
            lo -= 1
        ends = phrases.ends(norm, lo, start)
        if not ends:
            return False
        return not self.addressed.any_in(norm, min(ends), start)

    def candidates(self, present: frozenset[str]) -> list[Composition]:
        """The compositions that can fire when the classes ``present`` have words: each slot
        has one, no ``unless`` class has. Remembered per set of classes (few sets recur)."""
        found = self._memo.get(present)
        if found is None:
            found = [
                c
                for c in self.rules
                if c.unless.isdisjoint(present)
                and not any(slot.isdisjoint(present) for slot in c.slots)
            ]
            if len(self._memo) >= 4096:
                self._memo.clear()
            self._memo[present] = found
        return found

    def fire(self, norm: str, hits: Hits) -> list[Fired]:
        """Every compositional rule that fires, given the class words ``hits``: (rule, start,
        end, [(class, s, e)…]) in normalised offsets, after the context checks."""
        if not hits:
            return []
        out = []
        ctx = self.context
        for comp in self.candidates(frozenset(hits)):
            per_slot = [
                sorted((s, e, n) for n in slot for s, e in hits.get(n, ())) for slot in comp.slots
            ]
            ends = _SENTENCE_END if comp.sentence else _CLAUSE_END
            found = None
            for s0, e0, n0 in per_slot[0]:
                chosen = [(n0, s0, e0)]
                for cands in per_slot[1:]:
                    best = None
                    for s, e, n in cands:
                        lo, hi = min(s, s0), max(e, e0)
                        # English words are longer: twice the window when either word is Latin
                        latin = bool(_LATIN.match(norm[s])) or bool(_LATIN.match(norm[s0]))
                        if hi - lo > comp.window * (2 if latin else 1):
                            continue
                        if any(ch in ends for ch in norm[lo:hi]):
                            continue
                        d = abs(s - s0)
                        if best is None or d < best[0]:
                            best = (d, n, s, e)
                    if best is None:
                        break
                    chosen.append((best[1], best[2], best[3]))
                else:
                    lo = min(c[1] for c in chosen)
                    hi = max(c[2] for c in chosen)
                    latin = any(_LATIN.match(norm[c[1]]) for c in chosen)
                    if ctx.negated(norm, lo, hi, latin) or ctx.negated_between(
                        norm, [(c[1], c[2]) for c in chosen]
                    ):
                        continue
                    found = (comp, lo, hi, chosen)
                    break
            if found:
                out.append(found)
        return out
