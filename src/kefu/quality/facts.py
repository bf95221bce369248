"""Facts against the rules registry (pure): the rates a reply states (20%, 千分之一, 0.5‰) in a
clause that names a registry rule, each compared with the value in force on the day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date
from decimal import Decimal, InvalidOperation

from kefu.knowledge.rules import RuleError, format_value
from kefu.quality.signals import Fact, QualityPolicy, _fold

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


def _rule_title(policy: QualityPolicy, rule: str, lang: str) -> str:
    if policy.registry is None:
        return rule
    try:
        return policy.registry.rule(rule).title(lang)
    except RuleError:
        return rule
