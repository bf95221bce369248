"""Complaint classification (engine): a case's product and problem codes, modelled on FINRA Rule
4530's, from the keywords of ``content/policies/complaint_codes.yaml`` and the desk category's
defaults. Pure: the parsed codes and the case's words in, codes out."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any


class CodesError(ValueError):
    """A malformed complaint-codes file (naming the entry and the field)."""


@dataclass(frozen=True)
class Code:
    code: str
    name_zh: str
    name_en: str
    keywords: tuple[str, ...]
    root_zh: str = ""
    root_en: str = ""

    def name(self, lang: str) -> str:
        return self.name_en if lang.startswith("en") else self.name_zh


@dataclass(frozen=True)
class Codes:
    products: tuple[Code, ...]
    problems: tuple[Code, ...]
    defaults: Mapping[str, tuple[str, str]]
    complaint_words: tuple[str, ...]

    def product(self, code: str) -> Code | None:
        return next((p for p in self.products if p.code == code), None)

    def problem(self, code: str) -> Code | None:
        return next((p for p in self.problems if p.code == code), None)


def _fold(text: str) -> str:
    return unicodedata.normalize("NFKC", text).lower()


def _has(word: str, text: str) -> bool:
    w = _fold(word)
    if w.isascii() and w[:1].isalnum():
        return re.search(rf"(?<![a-z0-9]){re.escape(w)}", text) is not None
    return w in text


def _codes(raw: Any, what: str) -> tuple[Code, ...]:
    if not isinstance(raw, list) or not raw:
        raise CodesError(f"complaint_codes: field {what!r} must be a non-empty list")
    out: list[Code] = []
    for i, e in enumerate(raw):
        where = f"complaint_codes: {what}[{i}]"
        if not isinstance(e, Mapping) or not isinstance(e.get("code"), str):
            raise CodesError(f"{where}: field 'code' must be a string")
        name = e.get("name")
        if not isinstance(name, Mapping) or not name.get("zh") or not name.get("en"):
            raise CodesError(f"{where} ({e['code']}): field 'name' needs zh and en")
        kws = e.get("keywords", [])
        if not isinstance(kws, list) or not all(isinstance(k, str) for k in kws):
            raise CodesError(f"{where} ({e['code']}): field 'keywords' must be a list of words")
        root = e.get("root_cause") or {}
        out.append(
            Code(
                e["code"],
                str(name["zh"]),
                str(name["en"]),
                tuple(kws),
                str(root.get("zh", "")),
                str(root.get("en", "")),
            )
        )
    return tuple(out)


def parse_codes(data: Any) -> Codes:
    if not isinstance(data, Mapping):
        raise CodesError("complaint_codes: expected a mapping")
    products = _codes(data.get("products"), "products")
    problems = _codes(data.get("problems"), "problems")
    pc, qc = {p.code for p in products}, {p.code for p in problems}
    defaults: dict[str, tuple[str, str]] = {}
    for cat, d in (data.get("category_defaults") or {}).items():
        if not isinstance(d, Mapping) or d.get("product") not in pc or d.get("problem") not in qc:
            raise CodesError(
                f"complaint_codes: category_defaults.{cat}: unknown product or problem"
            )
        defaults[str(cat)] = (str(d["product"]), str(d["problem"]))
    words = data.get("complaint_words") or {}
    return Codes(
        products,
        problems,
        defaults,
        tuple(str(w) for lang in ("zh", "en") for w in words.get(lang, [])),
    )


@dataclass(frozen=True)
class Classified:
    complaint: bool
    product: str
    problem: str


def classify(category: str, texts: Sequence[str], codes: Codes) -> Classified:
    """The product and problem of a case from its desk category and its customer's words (the
    subject first); ``complaint`` when the category is complaint or the words say so."""
    text = _fold("\n".join(texts))
    complaint = category == "complaint" or any(_has(w, text) for w in codes.complaint_words)
    d_product, d_problem = codes.defaults.get(category, ("00", codes.problems[-1].code))
    product = next((p.code for p in codes.products if any(_has(k, text) for k in p.keywords)), None)
    problem = next((p.code for p in codes.problems if any(_has(k, text) for k in p.keywords)), None)
    return Classified(complaint, product or d_product, problem or d_problem)
