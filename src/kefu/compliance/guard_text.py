"""The guard's normalisation: fold (full-width → half-width, case, traditional → simplified,
diacritics), drop evasion fillers between Chinese characters, join spaced-out Latin letters, and
keep a map back to the original offsets; small phrase automata and the policy's term lists."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from pathlib import Path

import ahocorasick
import opencc

_CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]")
_LATIN = re.compile(r"[a-z]")
_BOUNDARY = frozenset("，。！？；;!?\n…")
_CONTROL = re.compile(r"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]")
# a letter (not inside a word), separators, at least two more letter + separators, a last letter;
# the look-behind follows the first letter so the engine only stops at letters
_SPACED_GATE = re.compile(r"[\s.\-_*·•|/~+][a-z][\s.\-_*·•|/~+]+[a-z](?![a-z0-9])")
_SPACED = re.compile(
    r"[a-z](?<![a-z0-9][a-z])[\s.\-_*·•|/~+]+(?:[a-z][\s.\-_*·•|/~+]+)+[a-z](?![a-z0-9])"
)


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
    if text.isascii():
        return text.lower()  # nothing of the table applies to ASCII (a third of messages)
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
_WS_ODD = re.compile(r"[\t\r\u200b-\u200f\u2060\ufeff]")


def normalise(text: str) -> tuple[str, list[int] | None]:
    """Returns (normalised text, original offset of each normalised character — None when the
    two are the same length and aligned)."""
    return _normalise_folded(_fold(text))


def _normalise_folded(folded: str) -> tuple[str, list[int] | None]:
    """:func:`normalise` of a text already :func:`_fold`-ed (the guard folds once per message)."""
    drops: list[tuple[int, int]] = []
    for m in () if folded.isascii() else _CJK_GAP.finditer(folded):
        drops.append(m.span())
    # "g u a r a n t e e d" → "guaranteed"; first a cheaper necessary test (a lone letter
    # between separators, then a last letter): _SPACED stops at every Latin letter
    spaced = _SPACED.finditer(folded) if _SPACED_GATE.search(folded) else ()
    for m in spaced:
        seg = m.group()
        for j, ch in enumerate(seg):
            if not _LATIN.match(ch):
                drops.append((m.start() + j, m.start() + j + 1))
    # (most texts have no run of spaces and no tab: two cheap tests instead of the regex)
    spaces: list[tuple[int, int]] = (
        [m.span() for m in _WS_RUN.finditer(folded)]
        if "  " in folded
        or "\t" in folded
        or "\r" in folded
        or (not folded.isascii() and _WS_ODD.search(folded))
        else []
    )
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


_NEG_CHARS = frozenset("不没无非冇唔未勿")
_CLAUSE_END = frozenset("，,。！？；;!?\n…")
_SENTENCE_END = frozenset("。！？；;!?\n")


class _Phrases:
    """A list of phrases found in one pass over a text (Aho-Corasick) instead of one ``in`` test
    per phrase: the context checks ask for dozens of frames on every hit. A phrase that begins
    with a Latin letter must begin a word ("no" is not in "know"); with ``words``, one that ends
    with a Latin letter must end one too ("not" is not in "notice")."""

    def __init__(self, phrases: Sequence[str], words: bool = False) -> None:
        self._auto = ahocorasick.Automaton()
        for phrase in {p for p in phrases if p}:
            head = bool(_LATIN.match(phrase[0]))
            tail = words and bool(_LATIN.match(phrase[-1]))
            self._auto.add_word(phrase, (len(phrase), head, tail))
        self._empty = len(self._auto) == 0
        if not self._empty:
            self._auto.make_automaton()

    def _spans(self, text: str, lo: int, hi: int | None) -> list[tuple[int, int]]:
        if self._empty:
            return []
        stop = len(text) if hi is None else hi
        out = []
        for end, (length, head, tail) in self._auto.iter(text, lo, stop):
            start = end - length + 1
            if head and start > lo and _LATIN.match(text[start - 1]):
                continue
            if tail and end + 1 < stop and _LATIN.match(text[end + 1]):
                continue
            out.append((start, end + 1))
        return out

    def spans(self, text: str, lo: int = 0, hi: int | None = None) -> list[tuple[int, int]]:
        """(start, end) of every occurrence in ``text[lo:hi]``."""
        return self._spans(text, lo, hi)

    def any_in(self, text: str, lo: int = 0, hi: int | None = None) -> bool:
        """Whether a phrase occurs in ``text[lo:hi]``."""
        return bool(self._spans(text, lo, hi))

    def ends(self, text: str, lo: int = 0, hi: int | None = None) -> list[int]:
        """The end offset (exclusive) of every occurrence in ``text[lo:hi]``."""
        return [e for _, e in self._spans(text, lo, hi)]

    def starts(self, text: str, lo: int = 0, hi: int | None = None) -> list[int]:
        """The start offset of every occurrence in ``text[lo:hi]`` (overlapping ones too)."""
        return [s for s, _ in self._spans(text, lo, hi)]


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
