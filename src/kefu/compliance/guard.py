"""The compliance guard: normalise → match (Aho-Corasick) → validate → context → decide.

Pure: given its policy (plain data; compliance/content.py reads content/policies/guard.yaml),
``Guard(policy).screen(text, role)`` or ``screen(text, role, policy)`` returns a verdict (block /
warn / allow), findings whose offsets point into the ORIGINAL text, and the text with personal
data masked. Evasion (spaces or symbols between characters, full-width forms, traditional
characters, mixed case) is undone by normalisation, which keeps a map back to the original
offsets.

The engine is split by stage: ``guard_text`` (normalisation), ``guard_pii`` (personal data),
``guard_rules`` (phrase and compositional rules), ``guard_context`` (negation, warning frames,
reported speech, customer reports), ``guard_opinion`` (the learned model's finding) and
``guard_types`` (plain data); this module compiles a policy and screens, and re-exports the
public names.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from typing import Any

from ahocorasick_rs import AhoCorasick, MatchKind

from kefu.compliance.guard_context import Context, Reports
from kefu.compliance.guard_opinion import MODEL_BLOCK, MODEL_REVIEW, model_finding
from kefu.compliance.guard_pii import find_pii, luhn_ok, valid_resident_id
from kefu.compliance.guard_rules import Compositions, phrase_keys
from kefu.compliance.guard_text import _CONTROL, _LATIN, _fold, _normalise_folded, _terms, normalise
from kefu.compliance.guard_types import (
    BLOCKING,
    MAX_CHARS,
    Composition,
    Contribution,
    Finding,
    GuardInputError,
    Role,
    Rule,
    Scorer,
    Screening,
    Verdict,
)

__all__ = [
    "BLOCKING",
    "MAX_CHARS",
    "MODEL_BLOCK",
    "MODEL_REVIEW",
    "Composition",
    "Contribution",
    "Finding",
    "Guard",
    "GuardInputError",
    "Role",
    "Rule",
    "Scorer",
    "Screening",
    "Verdict",
    "check_policy",
    "luhn_ok",
    "normalise",
    "screen",
    "valid_resident_id",
]

Phrase = tuple[int, int, tuple[tuple[str, bool], ...]]


class Guard:
    """Compiled policy: build once (it compiles the automaton), screen many times."""

    def __init__(
        self, policy: Mapping[str, Any], max_chars: int = MAX_CHARS, model: Scorer | None = None
    ) -> None:
        self.max_chars = max_chars
        self.model = model
        self.rules: dict[str, Rule] = {}
        patterns = phrase_keys(policy, self.rules)
        self.context = Context(policy)
        self.reports = Reports(policy)
        self.risk = [normalise(t)[0].strip() for t in _terms(policy.get("risk_statements"))]
        self.risk += [normalise(t)[0].strip() for t in _terms(policy.get("not_pitch"))]
        self.classes = Compositions(policy, self.rules, self.context)
        self.compositions: list[Composition] = self.classes.rules
        # one automaton holds the rules' phrases, the classes' words and the class patterns'
        # gates: one pass over a message finds all three; a key's value is (phrase rules
        # [(rule id, latin)], class names, latin, gated pattern indices). The model's n-grams
        # are the model's own automaton, walked for every agent message
        class_keys = self.classes.keys
        gates = self.classes.gates
        keys = sorted(patterns.keys() | class_keys.keys() | gates.keys())
        self._values: list[
            tuple[tuple[tuple[str, bool], ...], tuple[str, ...], bool, tuple[int, ...]]
        ] = []
        for key in keys:
            owners = tuple(patterns.get(key, ()))
            names = tuple(sorted(class_keys.get(key, ())))
            latin = bool(_LATIN.match(key[0])) or bool(_LATIN.match(key[-1]))
            self._values.append((owners, names, latin, gates.get(key, ())))
        # ahocorasick_rs (Rust) returns every overlapping match of a message in one call, as
        # (key index, start, end) in characters: four times faster than walking a pyahocorasick
        # automaton hit by hit, on messages of ~100 characters
        self._ac = AhoCorasick(keys, matchkind=MatchKind.Standard)

    def _scan(
        self, norm: str, score: bool = True
    ) -> tuple[list[Phrase], dict[str, list[tuple[int, int]]], tuple[float, int] | None, bool]:
        """One pass of the automaton: the rules' phrase hits as (start, end, owners), longest
        first at each start, each class's word spans (Latin words on word boundaries), the
        model's score with the number of its n-gram occurrences (every message when ``score``,
        agents' messages; None otherwise), and whether the class words half-make a blocking
        rule (words of two of its slots: the model may block only then; asked only with the
        model's score)."""
        phrases: list[Phrase] = []
        hits: dict[str, list[tuple[int, int]]] = {}
        gated: set[int] = set()
        n = len(norm)
        values = self._values
        for index, s, e in self._ac.find_matches_as_indexes(norm, overlapping=True):
            owners, names, latin, gates = values[index]
            if gates:
                gated.update(gates)
            if owners:
                phrases.append((s, e, owners))
            if names:
                if latin and (
                    (s > 0 and _LATIN.match(norm[s - 1])) or (e < n and _LATIN.match(norm[e]))
                ):
                    continue
                for name in names:
                    hits.setdefault(name, []).append((s, e))
        self.classes.add_regex_hits(norm, hits, gated)
        if len(phrases) > 1:
            phrases.sort(key=lambda h: (h[0], -h[1]))
        if self.model is None or not score:
            return phrases, hits, None, False
        grounded = bool(hits) and self.classes.grounded(frozenset(hits))
        return phrases, hits, self.model.tally(norm), grounded

    def _finding(self, text: str, offsets: list[int] | None, rule: Rule, s: int, e: int) -> Finding:
        o_start, o_end = (s, e) if offsets is None else (offsets[s], offsets[e - 1] + 1)
        return Finding(
            rule.category,
            rule.id,
            o_start,
            o_end,
            text[o_start:o_end],
            rule.explanation_zh,
            rule.explanation_en,
            rule.hint_zh,
            rule.hint_en,
        )

    def check_input(self, text: str) -> None:
        if not isinstance(text, str) or not text or text.isspace():
            raise GuardInputError("text is empty", "empty")
        if len(text) > self.max_chars:
            raise GuardInputError(
                f"text is {len(text)} characters; the limit is {self.max_chars}",
                "too_long",
                n=len(text),
                limit=self.max_chars,
            )
        bad = _CONTROL.search(text)
        if bad:
            code = ord(bad.group())
            raise GuardInputError(
                f"control character U+{code:04X} at offset {bad.start()}",
                "control",
                code=f"U+{code:04X}",
                at=bad.start(),
                pos=bad.start() + 1,
            )

    def screen(self, text: str, role: Role = "agent") -> Screening:
        self.check_input(text)
        if role not in ("agent", "customer"):
            raise GuardInputError(
                f"role must be agent or customer, not {role!r}", "role", role=repr(role)
            )
        folded = _fold(text)
        norm, offsets = _normalise_folded(folded)
        findings: list[Finding] = []
        disclosure: list[Finding] = []
        taken: list[tuple[int, int, str]] = []
        ctx = self.context
        phrases, class_hits, opinion, grounded = self._scan(norm, score=role == "agent")
        for s, e, owners in phrases:
            for rule_id, latin in owners:
                if latin and (
                    (s > 0 and _LATIN.match(norm[s - 1]))
                    or (e < len(norm) and _LATIN.match(norm[e]))
                ):
                    continue
                if any(a <= s and e <= b for a, b, _ in taken):
                    continue  # inside a longer hit already reported
                rule = self.rules[rule_id]
                if ctx.negated(norm, s, e, latin):
                    continue
                f = self._finding(text, offsets, rule, s, e)
                (disclosure if rule.category == "disclosure" else findings).append(f)
                taken.append((s, e, rule.category))
        for comp, s, e, chosen in self.classes.fire(norm, class_hits):
            category = comp.rule.category
            if any(
                a < e and s < b and (c == category or category not in BLOCKING) for a, b, c in taken
            ):
                # overlaps a phrase of its category already reported (a warning overlapping
                # any phrase: "产品稳赚不赔" is a promise, not a pitch without its risk)
                continue
            f = self._finding(text, offsets, comp.rule, s, e)
            words = []
            for name, a, b in chosen:
                oa, ob = (a, b) if offsets is None else (offsets[a], offsets[b - 1] + 1)
                words.append((name, text[oa:ob], oa, ob))
            f = replace(f, words=tuple(words))
            (disclosure if comp.rule.category == "disclosure" else findings).append(f)
        # personal data: validated numbers only, masked in the redacted text
        pii, redacted = find_pii(text, folded)
        findings.extend(pii)
        if disclosure and not any(r and r in norm for r in self.risk):
            findings.extend(disclosure)
        if (
            opinion is not None
            and self.model is not None
            and opinion[0] >= (self.model.review if grounded else self.model.alone)
            and opinion[1] >= self.model.min_ngrams
        ):
            found = model_finding(self.model, ctx, text, norm, offsets, *opinion, grounded)
            if found is not None:
                findings.append(found)
        if pii:
            findings = [f if f.category == "pii" else _masked(f, text, pii) for f in findings]
        if len(findings) > 1:
            findings.sort(key=lambda f: (f.start, f.end))
        report = False
        if role == "customer":
            report = self.reports.raised(norm, class_hits)
            verdict: Verdict = "allow"
        elif any(f.category in BLOCKING or f.rule == MODEL_BLOCK for f in findings):
            verdict = "block"
        elif findings:
            verdict = "warn"
        else:
            verdict = "allow"
        return Screening(verdict, tuple(findings), redacted, report)


def _unmasked(text: str, a: int, b: int, pii: list[Finding]) -> str:
    """``text[a:b]`` with the personal data found in the message masked: a number wholly inside
    in its masked form, the part of one that overlaps the edge as stars."""
    out, at = [], a
    for p in sorted(pii, key=lambda f: f.start):
        if p.end <= at or p.start >= b:
            continue
        out.append(text[at : max(at, p.start)])
        if a <= p.start and p.end <= b:
            out.append(p.match)  # already masked (138****5678)
        else:
            out.append("*" * (min(b, p.end) - max(at, p.start)))
        at = min(b, p.end)
    out.append(text[at:b])
    return "".join(out)


def _masked(f: Finding, text: str, pii: list[Finding]) -> Finding:
    """A rule's or the model's finding whose words span a phone, ID or card number names it
    masked, as the personal-data finding does: findings travel to viewers and the audit log."""
    if not any(p.start < f.end and f.start < p.end for p in pii):
        return f
    return replace(
        f,
        match=_unmasked(text, f.start, f.end, pii),
        words=tuple((c, _unmasked(text, a, b, pii), a, b) for c, _w, a, b in f.words),
    )


def check_policy(data: object, name: str = "guard policy") -> dict[str, Any]:
    """``data`` as a guard policy (a mapping with its ``rules``), or ValueError naming ``name``."""
    if not isinstance(data, dict) or "rules" not in data:
        raise ValueError(f"{name}: not a guard policy (no 'rules')")
    return data


def screen(text: str, role: Role, policy: Guard | Mapping[str, Any]) -> Screening:
    """Screens one message with ``policy`` (a compiled :class:`Guard`, or policy data compiled
    for this one call: build a Guard once to screen many)."""
    guard = policy if isinstance(policy, Guard) else Guard(check_policy(dict(policy)))
    return guard.screen(text, role)
