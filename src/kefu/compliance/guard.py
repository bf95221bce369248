"""The compliance guard: normalise → match (Aho-Corasick) → validate → context → decide.

Pure: given its policy (plain data; compliance/content.py reads content/policies/guard.yaml),
``Guard(policy).screen(text, role)`` or ``screen(text, role, policy)`` returns a verdict (block /
warn / allow), findings whose offsets point into the ORIGINAL text, and the text with personal
data masked. Evasion (spaces or symbols between characters, full-width forms, traditional
characters, mixed case) is undone by normalisation, which keeps a map back to the original
offsets.
"""

from __future__ import annotations

import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import date
from pathlib import Path
from typing import Any, Literal, Protocol

import ahocorasick
import opencc

Role = Literal["agent", "customer"]
Verdict = Literal["block", "warn", "allow"]
BLOCKING = frozenset(
    {"promise", "inducement", "advice", "credential", "offplatform", "third_party", "pii"}
)
MAX_CHARS = 10_000

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[a-z]")
_BOUNDARY = frozenset("，。！？；;!?\n…")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# a letter (not inside a word), separators, at least two more letter + separators, a last letter;
# the look-behind follows the first letter so the engine only stops at letters
_SPACED = re.compile(
    r"[a-z](?<![a-z0-9][a-z])[\s.\-_*·•|/~+]+(?:[a-z][\s.\-_*·•|/~+]+)+[a-z](?![a-z0-9])"
)


MODEL_BLOCK = "model.block"
MODEL_REVIEW = "model.review"
_MODEL_TEXT = {
    MODEL_BLOCK: (
        "学习模型判定这条消息与违规消息高度相似（未命中具体规则），已拦截；请按规范改写。",
        "The learned model scores this message as a violation with high confidence (no single "
        "rule names it); it is blocked — rewrite it within the rules.",
    ),
    MODEL_REVIEW: (
        "学习模型判定这条消息可能违规，需要复核：确认内容合规后再发送。",
        "The learned model scores this message as a possible violation: it needs review — "
        "send it only if you are sure it is compliant.",
    ),
}
_MODEL_HINT = (
    "只陈述事实与流程，不承诺收益、不给买卖建议、不索要密码验证码、不引导到平台外。",
    "State facts and procedures only: no promised returns, no trade calls, no codes or "
    "passwords, no move off the platform.",
)


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

    @property
    def weights(self) -> Mapping[str, float]: ...

    def score(self, norm: str) -> float: ...

    def explain(
        self, norm: str, top: int = 5, occurrences: int | None = None
    ) -> list[Contribution]: ...


class GuardInputError(ValueError):
    """Text the guard refuses to screen (empty, too long, control characters)."""


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


# --- normalisation ------------------------------------------------------------------------


def _t2s_table() -> dict[int, str]:
    """Traditional → simplified, character for character, from OpenCC's own dictionary."""
    path = Path(opencc.__file__).with_name("dictionary") / "TSCharacters.txt"
    table: dict[int, str] = {}
    for line in path.read_text(encoding="utf-8").splitlines():
        trad, _, simp = line.partition("\t")
        if len(trad) == 1 and simp:
            first = simp.split()[0]
            if len(first) == 1:
                table[ord(trad)] = first
    return table


# full-width ASCII (U+FF01–FF5E) and the ideographic space fold to ASCII; then t2s
_FOLD = {cp: chr(cp - 0xFEE0) for cp in range(0xFF01, 0xFF5F)} | {0x3000: " "}
del _FOLD[0xFF0C]  # the full-width comma stays: it ends a Chinese clause, it is no evasion filler
_FOLD.update(_t2s_table())
for _cp in range(0xC0, 0x250):  # pinyin tone marks and other diacritics: "bǎo běn" → "bao ben"
    _base = unicodedata.normalize("NFD", chr(_cp))[0]
    if _base != chr(_cp) and _base.isascii():
        _FOLD[_cp] = _base


# the same table as a list indexed by code point: str.translate looks a character up without
# raising (and catching) a KeyError for every character the table does not change
_FOLD_LIST = [chr(cp) for cp in range(max(_FOLD) + 1)]
for _cp, _to in _FOLD.items():
    _FOLD_LIST[_cp] = _to


def _fold(text: str) -> str:
    """Full-width → half-width, lower case, traditional → simplified; length-preserving."""
    folded = text.translate(_FOLD_LIST)
    lowered = folded.lower()
    return lowered if len(lowered) == len(folded) else folded


_GAP_CLASS = (
    r"[\s\u200b-\u200f\u2060\ufeff\u2600-\u27bf\ufe0f\U0001f300-\U0001faff"
    r".\-_*·•|/\\~+=,'\"`^#@$&()\[\]{}<>:：、]"
)
# fillers between two Chinese characters are evasion ("稳 赚", "保.证"): dropped
# (the look-behind follows the first filler, so the engine only stops at fillers)
_CJK_GAP = re.compile(
    _GAP_CLASS
    + r"(?<=[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff][\s\S])"
    + _GAP_CLASS
    + r"*(?=[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff])"
)
_WS_RUN = re.compile(r"[ \t\r]{2,}|[\t\r\u200b-\u200f\u2060\ufeff]")


def normalise(text: str) -> tuple[str, list[int] | None]:
    """Returns (normalised text, original offset of each normalised character — None when the
    two are the same length and aligned)."""
    return _normalise_folded(_fold(text))


def _normalise_folded(folded: str) -> tuple[str, list[int] | None]:
    """:func:`normalise` of a text already :func:`_fold`-ed (the guard folds once per message)."""
    drops: list[tuple[int, int]] = []
    for m in _CJK_GAP.finditer(folded):
        drops.append(m.span())
    for m in _SPACED.finditer(folded):  # "g u a r a n t e e d" → "guaranteed"
        seg = m.group()
        for j, ch in enumerate(seg):
            if not _LATIN.match(ch):
                drops.append((m.start() + j, m.start() + j + 1))
    spaces: list[tuple[int, int]] = [m.span() for m in _WS_RUN.finditer(folded)]
    if not drops and not spaces:
        return folded, None
    drop = bytearray(len(folded))
    for a, b in drops:
        drop[a:b] = b"\x01" * (b - a)
    chars: list[str] = []
    offsets: list[int] = []
    space_start = {a for a, _ in spaces}
    in_space = bytearray(len(folded))
    for a, b in spaces:
        in_space[a:b] = b"\x01" * (b - a)
    for i, ch in enumerate(folded):
        if drop[i]:
            continue
        if in_space[i]:
            if i in space_start:
                chars.append(" ")
                offsets.append(i)
            continue
        chars.append(ch)
        offsets.append(i)
    return "".join(chars), offsets


# --- validators ----------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def valid_resident_id(value: str) -> bool:
    """GB 11643-1999: 17 digits + check character, with a real birth date."""
    v = value.upper()
    if not re.fullmatch(r"\d{17}[\dX]", v):
        return False
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return False
    if not date(1900, 1, 1) <= born <= date(2100, 1, 1):
        return False
    total = sum(int(d) * w for d, w in zip(v[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == v[17]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Chinese numerals (and the radio readings 幺 1, 两 2, 拐 7, 洞 0, 勾 9) read as digits, one
# character for one, so a number written "一八七三零二二一零零六" is found and masked whole
_CN_DIGITS = {
    ord(k): v
    for k, v in {
        "零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3",
        "四": "4", "五": "5", "六": "6", "七": "7", "拐": "7", "八": "8", "九": "9", "勾": "9",
    }.items()
}  # fmt: skip
# one or two separators between digits: spaces, dashes, dots ("370202 19861231 0493",
# "610113-19920103-7558", "180.9840.9564", "1 3 3 8 …")
_S = r"[ \-.·]{0,2}"
_NOT_AFTER_DIGIT = r"(?<![0-9])(?<![0-9][ \-.·])(?<![0-9][ \-.·]{2})"
# the same test made right AFTER a pattern's first character (the digit, or e/g): a pattern that
# starts with a character class lets the regex engine skip ahead to candidates, instead of
# trying three look-behinds at every position of the message
_FIRST_NOT_AFTER_DIGIT = r"(?<![0-9].)(?<![0-9][ \-.·].)(?<![0-9][ \-.·]{2}.)"
_NOT_BEFORE_DIGIT = r"(?![ \-.·]{0,2}[0-9])"
# (kind, pattern, gate): "@" — only a text holding "@" is searched; "run" — only from the first
# run of eleven digits (every ID, card and mobile holds one), one character earlier for "+86"
_PII_PATTERNS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("email", re.compile(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}"), "@"),
    # an 18-character ID is tried before phones and cards, so it is never read as a phone
    (
        "id",
        re.compile(
            rf"[0-9]{_FIRST_NOT_AFTER_DIGIT}(?:{_S}[0-9]){{16}}{_S}[0-9x](?![0-9a-z])(?!{_S}[0-9])"
        ),
        "run",
    ),
    (
        "card",
        re.compile(rf"[0-9]{_FIRST_NOT_AFTER_DIGIT}(?:{_S}[0-9]){{12,18}}" + _NOT_BEFORE_DIGIT),
        "run",
    ),
    (
        "phone",
        re.compile(
            _NOT_AFTER_DIGIT + rf"(?:\+?86{_S})?1{_S}[3-9](?:{_S}[0-9]){{9}}" + _NOT_BEFORE_DIGIT
        ),
        "run",
    ),
    ("passport", re.compile(r"[eg](?<![a-z0-9].)\d{8}(?![a-z0-9])"), ""),
)
_RUN11 = re.compile(rf"[0-9](?:{_S}[0-9]){{10}}")
_PII_TEXT = {
    "email": ("电子邮箱", "email address"),
    "id": ("居民身份证号", "resident ID number"),
    "card": ("银行卡号", "bank card number"),
    "phone": ("手机号码", "mobile number"),
    "passport": ("护照号码", "passport number"),
}


_CN_CLASS = "[" + "".join(map(chr, _CN_DIGITS)) + "]"
_CN_ANY = re.compile(_CN_CLASS)
_CN_RUN = re.compile(_CN_CLASS + "(?:[ \\-.·]{0,2}" + _CN_CLASS + "){3,}")


def _digit_view(folded: str) -> str:
    """``folded`` with runs of four or more Chinese numerals read as digits (same length); a
    lone 一 after a number ("…8360一直") stays a word."""
    if not _CN_ANY.search(folded):
        return folded
    return _CN_RUN.sub(lambda m: m.group().translate(_CN_DIGITS), folded)


def _digits_of(raw: str, keep_x: bool = False) -> str:
    """The digits of ``raw`` as written (full-width digits kept), Chinese numerals as 0–9."""
    out = []
    for ch in raw:
        if ch.isdigit():
            out.append(ch)
        elif ord(ch) in _CN_DIGITS:
            out.append(_CN_DIGITS[ord(ch)])
        elif keep_x and ch in "xXｘＸ":
            out.append(ch)
    return "".join(out)


def _mask(kind: str, raw: str) -> str:
    digits = _digits_of(raw)
    if kind == "card":
        return f"{digits[:4]} **** **** {digits[-4:]}"
    if kind == "phone":
        d = digits[-11:]
        return f"{d[:3]}****{d[-4:]}"
    if kind == "id":
        v = _digits_of(raw, keep_x=True)
        return v[:3] + "*" * (len(v) - 7) + v[-4:]
    if kind == "email":
        local, _, domain = raw.partition("@")
        return f"{local[:1]}***@{domain}"
    return raw[:2] + "*" * (len(raw) - 4) + raw[-2:]


# --- the guard ---------------------------------------------------------------------------


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


_NEG_CHARS = frozenset("不没无非冇唔未勿")
_CLAUSE_END = frozenset("，,。！？；;!?\n…")
_SENTENCE_END = frozenset("。！？；;!?\n")


class _Phrases:
    """A list of phrases found in one pass over a text (Aho-Corasick) instead of one ``in`` test
    per phrase: the context checks ask for dozens of frames on every hit."""

    def __init__(self, phrases: Sequence[str]) -> None:
        self._auto = ahocorasick.Automaton()
        for phrase in {p for p in phrases if p}:
            self._auto.add_word(phrase, len(phrase))
        self._empty = len(self._auto) == 0
        if not self._empty:
            self._auto.make_automaton()

    def any_in(self, text: str) -> bool:
        if self._empty:
            return False
        return any(True for _ in self._auto.iter(text))

    def starts(self, text: str) -> list[int]:
        """The start offset of every occurrence (overlapping ones included)."""
        if self._empty:
            return []
        return [end - length + 1 for end, length in self._auto.iter(text)]


def _expand(term: str, homophones: Mapping[str, Sequence[str]]) -> list[str]:
    """``term`` and its spellings with each homophone of a word it contains."""
    out = [term]
    for word, variants in homophones.items():
        if word in term:
            out += [t.replace(word, v) for t in list(out) for v in variants]
    return out


def _terms(spec: Mapping[str, Sequence[str]] | Sequence[str] | None) -> list[str]:
    if spec is None:
        return []
    if isinstance(spec, Mapping):
        return [str(t) for lang in spec.values() for t in (lang or [])]
    return [str(t) for t in spec]


class Guard:
    """Compiled policy: build once (it compiles the automaton), screen many times."""

    def _new_rule(self, spec: Mapping[str, Any]) -> Rule:
        """A phrase rule or a composition, from its guard.yaml entry; ids are unique across both."""
        rule = Rule(
            id=spec["id"],
            category=spec["category"],
            explanation_zh=spec["explanation"]["zh"],
            explanation_en=spec["explanation"]["en"],
            hint_zh=(spec.get("hint") or {}).get("zh"),
            hint_en=(spec.get("hint") or {}).get("en"),
            examples_match=list(spec.get("examples_match", [])),
            examples_pass=list(spec.get("examples_pass", [])),
        )
        if rule.id in self.rules:
            raise ValueError(f"guard policy: duplicate rule id {rule.id!r}")
        return rule

    def __init__(
        self, policy: Mapping[str, Any], max_chars: int = MAX_CHARS, model: Scorer | None = None
    ) -> None:
        self.max_chars = max_chars
        self.model = model
        self.rules: dict[str, Rule] = {}
        self.window = int(policy.get("negation_window", 12))
        self.window_latin = int(policy.get("negation_window_latin", 32))
        patterns: dict[str, list[tuple[str, bool]]] = {}
        for spec in policy.get("rules", []):
            rule = self._new_rule(spec)
            self.rules[rule.id] = rule
            for term in _terms(spec.get("terms")):
                key, _ = normalise(term)
                key = key.strip()
                if not key:
                    continue
                latin = bool(_LATIN.match(key[0])) or bool(_LATIN.match(key[-1]))
                patterns.setdefault(key, []).append((rule.id, latin))
        self.negations = sorted(
            {normalise(t)[0].strip() or t for t in _terms(policy.get("negations"))},
            key=len,
            reverse=True,
        )
        self.risk = [normalise(t)[0].strip() for t in _terms(policy.get("risk_statements"))]
        self.risk += [normalise(t)[0].strip() for t in _terms(policy.get("not_pitch"))]
        class_keys = self._compile_classes(policy)
        # one automaton holds the rules' phrases, the classes' words and the model's n-grams:
        # one pass over a message finds all three; a value is (length, phrase rules [(rule id,
        # latin)], class names, latin, model weight or None)
        grams: Mapping[str, float] = model.weights if model is not None else {}
        self._auto = ahocorasick.Automaton()
        for key in patterns.keys() | class_keys.keys() | grams.keys():
            latin = bool(_LATIN.match(key[0])) or bool(_LATIN.match(key[-1]))
            owners = tuple(patterns.get(key, ()))
            names = tuple(sorted(class_keys.get(key, ())))
            self._auto.add_word(key, (len(key), owners, names, latin, grams.get(key)))
        self._auto.make_automaton()
        ctx = policy.get("context") or {}
        self.frames_after = [normalise(t)[0].strip() for t in _terms(ctx.get("after"))]
        self.reported = [normalise(t)[0].strip() for t in _terms(ctx.get("reported"))]
        self.after_window = int(ctx.get("after_window", 40))
        self._negations = _Phrases(self.negations)
        self._frames_after = _Phrases(self.frames_after)
        self._reported = _Phrases(self.reported)
        imp = policy.get("impersonation") or {}
        self.actors = [normalise(t)[0].strip() for t in _terms(imp.get("actors"))]
        self.asks = [normalise(t)[0].strip() for t in _terms(imp.get("asks"))]
        self._actors = _Phrases(self.actors)
        self._asks = _Phrases(self.asks)
        self._claims = _Phrases([normalise(t)[0].strip() for t in _terms(imp.get("claims"))])
        self._requests = _Phrases([normalise(t)[0].strip() for t in _terms(imp.get("requests"))])
        self._ask_classes = frozenset(imp.get("ask_classes") or [])
        self._legitimate = _Phrases(
            [normalise(t)[0].strip() for t in _terms(imp.get("legitimate"))]
        )
        for name in self._ask_classes:
            if name not in (policy.get("classes") or {}):
                raise ValueError(f"guard policy: impersonation names unknown class {name!r}")

    def _compile_classes(self, policy: Mapping[str, Any]) -> dict[str, set[str]]:
        """Word classes (regular expressions here; terms, homophones expanded, returned as
        {normalised word: class names}) and the compositional rules built from them."""
        homophones = {
            normalise(str(k))[0].strip(): [normalise(str(v))[0].strip() for v in vs]
            for k, vs in (policy.get("homophones") or {}).items()
        }
        classes = policy.get("classes") or {}
        self._class_regex: list[tuple[str, re.Pattern[str]]] = []
        keys: dict[str, set[str]] = {}
        for name, spec in classes.items():
            spec = spec or {}
            terms = _terms({k: v for k, v in spec.items() if k in ("zh", "en")})
            for term in terms:
                key = normalise(term)[0].strip()
                for variant in _expand(key, homophones) if key else []:
                    keys.setdefault(variant, set()).add(name)
            for pattern in spec.get("patterns") or []:
                self._class_regex.append((name, re.compile(str(pattern))))
        self.compositions: list[Composition] = []
        self._blocking_classes: frozenset[str] = frozenset()
        self._candidate_memo: dict[frozenset[str], list[Composition]] = {}
        for spec in policy.get("compositions") or []:
            rule = self._new_rule(spec)
            slots = [
                frozenset([slot] if isinstance(slot, str) else slot) for slot in spec["classes"]
            ]
            for name in {n for slot in slots for n in slot} | set(spec.get("unless") or []):
                if name not in classes:
                    raise ValueError(f"guard policy: {rule.id} names unknown class {name!r}")
            self.rules[rule.id] = rule
            self.compositions.append(
                Composition(
                    rule,
                    slots,
                    int(spec.get("window", 30)),
                    spec.get("scope", "clause") == "sentence",
                    frozenset(spec.get("unless") or []),
                )
            )
        self._blocking_classes = frozenset(
            name
            for comp in self.compositions
            if comp.rule.category in BLOCKING
            for slot in comp.slots
            for name in slot
        )
        return keys

    def _scan(
        self, norm: str, score: bool = True
    ) -> tuple[
        list[tuple[int, int, tuple[tuple[str, bool], ...]]],
        dict[str, list[tuple[int, int]]],
        tuple[float, int] | None,
    ]:
        """One pass of the automaton: the rules' phrase hits as (start, end, owners), longest
        first at each start, each class's word spans (Latin words on word boundaries), and the
        model's score and the number of its n-gram occurrences (None without a model or when
        ``score`` is false: customers' messages); the score is ``self.model.score(norm)``."""
        phrases: list[tuple[int, int, tuple[tuple[str, bool], ...]]] = []
        hits: dict[str, list[tuple[int, int]]] = {}
        n = len(norm)
        found: list[float] = []
        for end_idx, (length, owners, names, latin, weight) in self._auto.iter(norm):
            if weight is not None:
                if score:
                    found.append(weight)
                if not owners and not names:
                    continue
            s, e = end_idx - length + 1, end_idx + 1
            if owners:
                phrases.append((s, e, owners))
            if names:
                if latin and (
                    (s > 0 and _LATIN.match(norm[s - 1])) or (e < n and _LATIN.match(norm[e]))
                ):
                    continue
                for name in names:
                    hits.setdefault(name, []).append((s, e))
        for name, pattern in self._class_regex:
            for m in pattern.finditer(norm):
                hits.setdefault(name, []).append(m.span())
        phrases.sort(key=lambda h: (h[0], -h[1]))
        if self.model is None or not score:
            return phrases, hits, None
        if not found:
            return phrases, hits, (self.model.bias, 0)
        value = self.model.bias + math.fsum(found) / math.sqrt(len(found))
        return phrases, hits, (value, len(found))

    def _candidates(self, present: frozenset[str]) -> list[Composition]:
        """The compositions that can fire when the classes ``present`` have words: each slot
        has one, no ``unless`` class has. Remembered per set of classes (few sets recur)."""
        found = self._candidate_memo.get(present)
        if found is None:
            found = [
                c
                for c in self.compositions
                if c.unless.isdisjoint(present)
                and not any(slot.isdisjoint(present) for slot in c.slots)
            ]
            if len(self._candidate_memo) >= 4096:
                self._candidate_memo.clear()
            self._candidate_memo[present] = found
        return found

    def _compose(
        self, norm: str, hits: dict[str, list[tuple[int, int]]]
    ) -> list[tuple[Composition, int, int, list[tuple[str, int, int]]]]:
        """Every compositional rule that fires, given the class words ``hits``: (rule, start,
        end, [(class, s, e)…]) in normalised offsets, after the context checks."""
        if not hits:
            return []
        out = []
        for comp in self._candidates(frozenset(hits)):
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
                    if self._negated(norm, lo, hi, latin) or self._negated_between(
                        norm, [(c[1], c[2]) for c in chosen]
                    ):
                        continue
                    found = (comp, lo, hi, chosen)
                    break
            if found:
                out.append(found)
        return out

    # -- context ---------------------------------------------------------------------

    def _framed(self, norm: str, start: int, end: int) -> bool:
        """A warning frame after the hit in the same sentence ("…的说法是违规的", "…is a scam"),
        reported speech before it in the sentence ("如果有人说…", "if anyone tells you…"),
        or the hit quoted in a message that corrects or warns."""
        hi = end
        while hi < len(norm) and hi - end < self.after_window and norm[hi] not in _SENTENCE_END:
            hi += 1
        if self._frames_after.any_in(norm[end:hi]):
            return True
        lo = start
        while lo > 0 and norm[lo - 1] not in _SENTENCE_END:
            lo -= 1
        before = norm[lo:start]
        if self._reported.any_in(before):
            return True
        opened = max(before.rfind(q) for q in "“「『‘")
        quoted = opened != -1 and not any(q in before[opened + 1 :] for q in "”」』’")
        if quoted or before.count('"') % 2:
            return self._frames_after.any_in(norm) or self._reported.any_in(norm)
        return False

    def _negated(self, norm: str, start: int, end: int, latin: bool = False) -> bool:
        if self._framed(norm, start, end):
            return True
        if start > 0 and norm[start - 1] in _NEG_CHARS:
            return True  # a negating character right before the words: 不保本, 没跌过 …
        window = self.window_latin if latin else self.window
        lo = start
        while lo > 0 and start - lo < window and norm[lo - 1] not in _BOUNDARY:
            lo -= 1
        return any(lo + pos < start for pos in self._negations.starts(norm[lo:end]))

    def _negated_between(self, norm: str, spans: list[tuple[int, int]]) -> bool:
        """A negation between the words of a composition, outside the words themselves
        ("亏损不会由公司赔付")."""
        lo = min(a for a, _ in spans)
        hi = max(b for _, b in spans)
        for pos in self._negations.starts(norm[lo:hi]):
            a = lo + pos
            if not any(x <= a < y for x, y in spans):
                return True
        return False

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

    def _reports(self, norm: str, class_hits: Mapping[str, list[tuple[int, int]]]) -> bool:
        """A customer's message says someone posing as staff asked them for a secret, to move
        off the platform or to pay a person: who (actor or claim), what (an ask word or a word
        of an ask class) and that it was asked of them (a request word, or the claim); not when
        staff sent them to do it themselves in the firm's app (``legitimate``)."""
        claim = self._claims.any_in(norm)
        if not (claim or self._actors.any_in(norm)):
            return False
        if not (self._asks.any_in(norm) or any(class_hits.get(name) for name in self._ask_classes)):
            return False
        if not (claim or self._requests.any_in(norm)):
            return False
        return not self._legitimate.any_in(norm)

    def _model_finding(
        self,
        text: str,
        norm: str,
        offsets: list[int] | None,
        score: float,
        occurrences: int,
        classes: Mapping[str, list[tuple[int, int]]],
    ) -> Finding | None:
        """The model's opinion of an agent's message (``score``, over ``occurrences`` n-grams): a
        finding when it reaches the review threshold (``model.review``, warns) or the block
        threshold (``model.block``), once its negated n-grams are taken out."""
        assert self.model is not None
        if score < self.model.review:
            return None
        # context both ways, as for the rules: an n-gram inside a negation or a warning frame
        # ("不存在稳赚不赔的投资", "…is a scam") does not count towards the score
        top = []
        for c in self.model.explain(norm, top=8, occurrences=occurrences):
            if all(self._negated(norm, a, b, bool(_LATIN.match(norm[a]))) for a, b in c.spans):
                score -= c.contribution
            else:
                top.append(c)
        if score < self.model.review:
            return None
        rule = MODEL_BLOCK if score >= self.model.block else MODEL_REVIEW
        if rule == MODEL_BLOCK and self._blocking_classes.isdisjoint(classes):
            # the model blocks only with some word of a blocking rule's classes in the message
            # (a promise, a trade, a secret, a channel …); alone it asks for review: a short
            # text of few n-grams ("keep your account safe") can score high on style alone
            rule = MODEL_REVIEW
        top = top[:5]
        spans = sorted(span for c in top for span in c.spans)
        if offsets is not None:
            spans = [(offsets[a], offsets[b - 1] + 1) for a, b in spans]
        words = tuple(("MODEL", text[a:b], a, b) for a, b in spans)
        start = spans[0][0] if spans else 0
        end = max(b for _, b in spans) if spans else len(text)
        zh, en = _MODEL_TEXT[rule]
        return Finding(
            "model",
            rule,
            start,
            end,
            text[start:end],
            zh,
            en,
            _MODEL_HINT[0],
            _MODEL_HINT[1],
            words=words,
            score=score,
            ngrams=tuple((c.ngram, c.contribution) for c in top),
        )

    # -- screening -------------------------------------------------------------------

    def check_input(self, text: str) -> None:
        if not isinstance(text, str) or not text.strip():
            raise GuardInputError("text is empty")
        if len(text) > self.max_chars:
            raise GuardInputError(f"text is {len(text)} characters; the limit is {self.max_chars}")
        bad = _CONTROL.search(text)
        if bad:
            code = ord(bad.group())
            raise GuardInputError(f"control character U+{code:04X} at offset {bad.start()}")

    def screen(self, text: str, role: Role = "agent") -> Screening:
        self.check_input(text)
        if role not in ("agent", "customer"):
            raise GuardInputError(f"role must be agent or customer, not {role!r}")
        folded = _fold(text)
        norm, offsets = _normalise_folded(folded)
        findings: list[Finding] = []
        disclosure: list[Finding] = []
        taken: list[tuple[int, int]] = []
        phrases, class_hits, opinion = self._scan(norm, score=role == "agent")
        for s, e, owners in phrases:
            for rule_id, latin in owners:
                if latin and (
                    (s > 0 and _LATIN.match(norm[s - 1]))
                    or (e < len(norm) and _LATIN.match(norm[e]))
                ):
                    continue
                if any(a <= s and e <= b for a, b in taken):
                    continue  # inside a longer hit already reported
                rule = self.rules[rule_id]
                if self._negated(norm, s, e, latin):
                    continue
                f = self._finding(text, offsets, rule, s, e)
                (disclosure if rule.category == "disclosure" else findings).append(f)
                taken.append((s, e))
        for comp, s, e, chosen in self._compose(norm, class_hits):
            if any(a < e and s < b for a, b in taken):
                continue  # overlaps a phrase already reported
            f = self._finding(text, offsets, comp.rule, s, e)
            words = []
            for name, a, b in chosen:
                oa, ob = (a, b) if offsets is None else (offsets[a], offsets[b - 1] + 1)
                words.append((name, text[oa:ob], oa, ob))
            f = replace(f, words=tuple(words))
            (disclosure if comp.rule.category == "disclosure" else findings).append(f)
        # personal data: validated numbers only, masked in the redacted text
        folded = _digit_view(folded)
        pii_spans: list[tuple[int, int, str]] = []
        run = _RUN11.search(folded)
        for kind, pattern, gate in _PII_PATTERNS:
            if (gate == "@" and "@" not in folded) or (gate == "run" and run is None):
                continue
            start = max(0, run.start() - 1) if gate == "run" and run else 0
            for m in pattern.finditer(folded, start):
                a, b = m.span()
                if any(x < b and a < y for x, y, _ in pii_spans):
                    continue
                raw = m.group()
                digits = re.sub(r"[^0-9]", "", raw)
                if kind == "id" and not valid_resident_id(re.sub(r"[^0-9x]", "", raw).upper()):
                    continue
                if kind == "card" and not (
                    13 <= len(digits) <= 19 and luhn_ok(digits) and digits[0] in "3456"
                ):
                    continue
                pii_spans.append((a, b, kind))
                zh, en = _PII_TEXT[kind]
                findings.append(
                    Finding(
                        "pii",
                        f"pii.{kind}",
                        a,
                        b,
                        # the finding travels with the message (REST, socket, audit): it names
                        # the number masked, never in full; the offsets locate it in the text
                        _mask(kind, text[a:b]),
                        f"消息中含有完整的{zh}，个人信息须脱敏（《个人信息保护法》第51条）。",
                        f"The message contains a full {en}; personal data must be masked "
                        "(PIPL art. 51).",
                        "只引用后四位，例如「尾号0128」。"
                        if kind != "email"
                        else "请勿在消息中发送完整邮箱。",
                        "Quote the last four digits only, e.g. 'ending 0128'."
                        if kind != "email"
                        else "Do not send the full email address.",
                    )
                )
        redacted = text
        for a, b, kind in sorted(pii_spans, reverse=True):
            redacted = redacted[:a] + _mask(kind, text[a:b]) + redacted[b:]
        if disclosure and not any(r and r in norm for r in self.risk):
            findings.extend(disclosure)
        if opinion is not None:
            found = self._model_finding(text, norm, offsets, *opinion, class_hits)
            if found is not None:
                findings.append(found)
        findings.sort(key=lambda f: (f.start, f.end))
        report = False
        if role == "customer":
            report = self._reports(norm, class_hits)
            verdict: Verdict = "allow"
        elif any(f.category in BLOCKING or f.rule == MODEL_BLOCK for f in findings):
            verdict = "block"
        elif findings:
            verdict = "warn"
        else:
            verdict = "allow"
        return Screening(verdict, tuple(findings), redacted, report)


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
