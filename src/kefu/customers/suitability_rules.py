"""Investor suitability rules: questionnaire scoring, categories, product matching, validity and
the product names an agent's reply pitches.

Pure: given the questionnaire and the product catalogue as parsed YAML (customers/content.py
reads content/policies/suitability.yaml and products.yaml) and the score bands and validity as
numbers (from the rules registry), every function takes plain data and returns plain data.

The matching follows the CSRC 《证券期货投资者适当性管理办法》 (Order No. 130): an ordinary
investor of category Cn may buy products up to Rn (C5: all); the lowest category only R1 and may
never insist on more (art. 19); a professional investor is not limited by the C1–C5 match.
"""

from __future__ import annotations

import calendar
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

CATEGORIES = ("lowest", "C1", "C2", "C3", "C4", "C5")
RISKS = ("R1", "R2", "R3", "R4", "R5")
State = Literal["valid", "due_soon", "expired", "none"]


class PolicyError(ValueError):
    """A malformed questionnaire or catalogue, naming the file and the entry."""


class AnswerError(ValueError):
    """An answer sheet the questionnaire cannot score, naming the question. ``key`` and
    ``params`` name the refusal for a translated message (``customers.errors.answer_<key>``);
    the English ``message`` stays for the API and the CLI."""

    def __init__(self, field: str, message: str, key: str = "", **params: object) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message
        self.key = key
        self.params = params


@dataclass(frozen=True)
class Option:
    id: str
    zh: str
    en: str
    score: int
    lowest: bool = False

    def text(self, lang: str) -> str:
        return self.en if lang.startswith("en") else self.zh


@dataclass(frozen=True)
class Question:
    id: str
    zh: str
    en: str
    options: tuple[Option, ...]

    def text(self, lang: str) -> str:
        return self.en if lang.startswith("en") else self.zh

    def option(self, option_id: str) -> Option | None:
        return next((o for o in self.options if o.id == option_id), None)

    @property
    def max_score(self) -> int:
        return max(o.score for o in self.options)


@dataclass(frozen=True)
class Questionnaire:
    version: str
    title: Mapping[str, str]
    intro: Mapping[str, str]
    questions: tuple[Question, ...]
    labels: Mapping[str, Mapping[str, str]]  # category -> {zh, en}
    warning_version: str
    warning: Mapping[str, str]
    refusal: Mapping[str, str]
    warning_frames: tuple[str, ...]

    @property
    def max_score(self) -> int:
        return sum(q.max_score for q in self.questions)

    def label(self, category: str, lang: str) -> str:
        names = self.labels.get(category, {})
        return str(names.get("en" if lang.startswith("en") else "zh", category))


@dataclass(frozen=True)
class Bands:
    """The lowest score of each category (``demo_suitability_score_bands`` in the registry)."""

    c1_min: int
    c2_min: int
    c3_min: int
    c4_min: int
    c5_min: int
    max: int

    def category(self, score: int) -> str:
        if score < self.c1_min:
            return "lowest"
        for name, low in (
            ("C5", self.c5_min),
            ("C4", self.c4_min),
            ("C3", self.c3_min),
            ("C2", self.c2_min),
        ):
            if score >= low:
                return name
        return "C1"


@dataclass(frozen=True)
class Assessment:
    score: int
    category: str
    #: the questions whose answer alone puts the investor in the lowest category
    lowest_because: tuple[str, ...]
    answers: Mapping[str, str]


def _text(node: Any, where: str) -> dict[str, str]:
    if not isinstance(node, Mapping) or not node.get("zh") or not node.get("en"):
        raise PolicyError(f"{where}: needs zh and en text")
    return {"zh": str(node["zh"]).strip(), "en": str(node["en"]).strip()}


def parse_questionnaire(data: Any, name: str = "suitability.yaml") -> Questionnaire:
    """The questionnaire in ``data`` (parsed YAML), checked: unique ids, bilingual text, integer
    non-negative scores, at least two options a question."""
    if not isinstance(data, Mapping) or not data.get("version"):
        raise PolicyError(f"{name}: needs a version and questions")
    questions: list[Question] = []
    seen: set[str] = set()
    for i, q in enumerate(data.get("questions") or []):
        where = f"{name}: questions[{i}]"
        if not isinstance(q, Mapping) or not q.get("id"):
            raise PolicyError(f"{where}: needs an id")
        qid = str(q["id"])
        if qid in seen:
            raise PolicyError(f"{where}: question id {qid!r} is used twice")
        seen.add(qid)
        text = _text(q.get("text"), f"{where} ({qid}).text")
        options: list[Option] = []
        for j, o in enumerate(q.get("options") or []):
            ow = f"{where} ({qid}).options[{j}]"
            if not isinstance(o, Mapping) or not o.get("id"):
                raise PolicyError(f"{ow}: needs an id")
            score = o.get("score")
            if not isinstance(score, int) or isinstance(score, bool) or score < 0:
                raise PolicyError(f"{ow}: score must be a whole number ≥ 0")
            t = _text(o, ow)
            options.append(Option(str(o["id"]), t["zh"], t["en"], score, bool(o.get("lowest"))))
        if len(options) < 2 or len({o.id for o in options}) != len(options):
            raise PolicyError(f"{where} ({qid}): needs two or more options with distinct ids")
        questions.append(Question(qid, text["zh"], text["en"], tuple(options)))
    if not questions:
        raise PolicyError(f"{name}: has no questions")
    labels = data.get("categories") or {}
    for c in CATEGORIES:
        _text(labels.get(c), f"{name}: categories.{c}")
    warning = data.get("special_warning") or {}
    if not warning.get("version"):
        raise PolicyError(f"{name}: special_warning needs a version")
    return Questionnaire(
        version=str(data["version"]),
        title=_text(data.get("title"), f"{name}: title"),
        intro=_text(data.get("intro"), f"{name}: intro"),
        questions=tuple(questions),
        labels={c: _text(labels[c], c) for c in CATEGORIES},
        warning_version=str(warning["version"]),
        warning=_text(warning, f"{name}: special_warning"),
        refusal=_text(data.get("refusal"), f"{name}: refusal"),
        warning_frames=tuple(str(w).casefold() for w in data.get("warning_frames") or ()),
    )


def check_bands(questionnaire: Questionnaire, bands: Bands) -> None:
    """The questionnaire's top score must be the bands' top: a new question with new points
    would otherwise shift every investor silently."""
    lows = [bands.c1_min, bands.c2_min, bands.c3_min, bands.c4_min, bands.c5_min, bands.max + 1]
    if lows != sorted(lows) or len(set(lows)) != len(lows):
        raise PolicyError("score bands must rise strictly from C1 to C5 and stay within the max")
    if questionnaire.max_score != bands.max:
        raise PolicyError(
            f"questionnaire {questionnaire.version} scores at most {questionnaire.max_score}, "
            f"the score bands end at {bands.max}"
        )


def assess(questionnaire: Questionnaire, answers: Mapping[str, str], bands: Bands) -> Assessment:
    """Scores one answer sheet (question id → option id): every question answered once, with
    one of its options. An option marked ``lowest`` or a total below C1 gives the lowest
    category."""
    known = {q.id for q in questionnaire.questions}
    for qid in answers:
        if qid not in known:
            raise AnswerError(str(qid), "no such question in this questionnaire", "unknown")
    total = 0
    lowest: list[str] = []
    for q in questionnaire.questions:
        chosen = answers.get(q.id)
        if chosen is None or chosen == "":
            raise AnswerError(q.id, "not answered", "missing")
        option = q.option(str(chosen))
        if option is None:
            raise AnswerError(
                q.id, f"{chosen!r} is not one of its options", "option", value=repr(chosen)
            )
        total += option.score
        if option.lowest:
            lowest.append(q.id)
    category = "lowest" if lowest else bands.category(total)
    return Assessment(total, category, tuple(lowest), {k: str(v) for k, v in answers.items()})


# --- matching ------------------------------------------------------------------------------


def risk_number(risk: str) -> int:
    if risk not in RISKS:
        raise ValueError(f"unknown product risk level {risk!r}")
    return RISKS.index(risk) + 1


def allowed_max(category: str, professional: bool = False) -> int:
    """The highest product level (1–5) a category may buy without a mismatch."""
    if professional:
        return 5
    if category not in CATEGORIES:
        raise ValueError(f"unknown investor category {category!r}")
    return max(1, CATEGORIES.index(category))


def allowed_range(category: str, professional: bool = False) -> str:
    top = allowed_max(category, professional)
    return "R1" if top == 1 else f"R1–R{top}"


@dataclass(frozen=True)
class Match:
    category: str
    professional: bool
    product_risk: str
    allowed: str  # "R1–R3"
    ok: bool
    #: a mismatch the investor may still insist on after the special warning (never lowest)
    may_insist: bool


def match(category: str, product_risk: str, professional: bool = False) -> Match:
    ok = risk_number(product_risk) <= allowed_max(category, professional)
    return Match(
        category=category,
        professional=professional,
        product_risk=product_risk,
        allowed=allowed_range(category, professional),
        ok=ok,
        may_insist=not ok and category != "lowest",
    )


# --- the catalogue -------------------------------------------------------------------------


@dataclass(frozen=True)
class Product:
    code: str
    name_zh: str
    name_en: str
    kind_zh: str
    kind_en: str
    risk: str
    aliases: tuple[str, ...]

    def name(self, lang: str) -> str:
        return self.name_en if lang.startswith("en") else self.name_zh

    def kind(self, lang: str) -> str:
        return self.kind_en if lang.startswith("en") else self.kind_zh


@dataclass(frozen=True)
class Prohibited:
    """A record type kept for disputes and refunds, never a product on offer."""

    code: str
    name_zh: str
    name_en: str
    aliases: tuple[str, ...]
    reason_zh: str
    reason_en: str

    def name(self, lang: str) -> str:
        return self.name_en if lang.startswith("en") else self.name_zh

    def reason(self, lang: str) -> str:
        return self.reason_en if lang.startswith("en") else self.reason_zh


@dataclass(frozen=True)
class Catalogue:
    version: str
    products: tuple[Product, ...]
    prohibited: tuple[Prohibited, ...]

    def product(self, code: str) -> Product | None:
        return next((p for p in self.products if p.code == code), None)

    def banned(self, code: str) -> Prohibited | None:
        return next((p for p in self.prohibited if p.code == code), None)


_CODE = re.compile(r"^[A-Z0-9][A-Z0-9-]{1,31}$")


def parse_catalogue(data: Any, name: str = "products.yaml") -> Catalogue:
    if not isinstance(data, Mapping) or not data.get("version"):
        raise PolicyError(f"{name}: needs a version and products")
    products: list[Product] = []
    codes: set[str] = set()
    for i, p in enumerate(data.get("products") or []):
        where = f"{name}: products[{i}]"
        code = str(p.get("code", "")) if isinstance(p, Mapping) else ""
        if not _CODE.match(code) or code in codes:
            raise PolicyError(f"{where}: needs a unique code of A–Z, 0–9 and '-'")
        codes.add(code)
        if p.get("risk") not in RISKS:
            raise PolicyError(f"{where} ({code}): risk must be one of {', '.join(RISKS)}")
        n, k = _text(p.get("name"), f"{where}.name"), _text(p.get("kind"), f"{where}.kind")
        aliases = tuple(str(a) for a in p.get("aliases") or ())
        products.append(Product(code, n["zh"], n["en"], k["zh"], k["en"], p["risk"], aliases))
    banned: list[Prohibited] = []
    for i, p in enumerate(data.get("prohibited") or []):
        where = f"{name}: prohibited[{i}]"
        code = str(p.get("code", "")) if isinstance(p, Mapping) else ""
        if not _CODE.match(code) or code in codes:
            raise PolicyError(f"{where}: needs a unique code")
        codes.add(code)
        if "risk" in p:
            raise PolicyError(f"{where} ({code}): a prohibited record has no risk level to match")
        n, r = _text(p.get("name"), f"{where}.name"), _text(p.get("reason"), f"{where}.reason")
        aliases = tuple(str(a) for a in p.get("aliases") or ())
        banned.append(Prohibited(code, n["zh"], n["en"], aliases, r["zh"], r["en"]))
    if not products:
        raise PolicyError(f"{name}: has no products")
    return Catalogue(str(data["version"]), tuple(products), tuple(banned))


# --- validity ------------------------------------------------------------------------------


def add_months(day: date, months: int) -> date:
    """``day`` plus whole months; the 31st becomes the month's last day (Jan 31 + 1 = Feb 28)."""
    m = day.month - 1 + months
    year, month = day.year + m // 12, m % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def state(valid_until: date | None, today: date, remind_days: int) -> State:
    """``expired`` from the day after ``valid_until``; ``due_soon`` within ``remind_days``."""
    if valid_until is None:
        return "none"
    if today > valid_until:
        return "expired"
    if (valid_until - today).days <= remind_days:
        return "due_soon"
    return "valid"


def attempts_left(attempts_today: int, limit: int) -> int:
    return max(0, limit - attempts_today)


# --- what an agent's reply pitches ---------------------------------------------------------

_SENTENCE_END = re.compile(r"[。！？!?；;\n]|\.(?:\s|$)")


@dataclass(frozen=True)
class Mention:
    code: str
    start: int
    end: int
    text: str


def _sentence(text: str, start: int, end: int) -> str:
    left = max((m.end() for m in _SENTENCE_END.finditer(text, 0, start)), default=0)
    right = _SENTENCE_END.search(text, end)
    return text[left : right.start() if right else len(text)]


def mentions(text: str, catalogue: Catalogue, frames: Sequence[str] = ()) -> list[Mention]:
    """The catalogue's products named in ``text`` (by name or alias, case-insensitive), one
    mention per product, outside sentences that carry a warning frame ("不适合您", "not
    suitable for you"). Prohibited record types are never a mention: they are no product."""
    folded = text.casefold()
    found: list[Mention] = []
    for p in catalogue.products:
        words = sorted({p.name_zh, p.name_en, *p.aliases}, key=len, reverse=True)
        for w in words:
            needle = w.casefold()
            start = folded.find(needle) if needle else -1
            hit = None
            while start >= 0:
                sentence = _sentence(folded, start, start + len(needle))
                if not any(f in sentence for f in frames):
                    hit = Mention(p.code, start, start + len(needle), text[start : start + len(w)])
                    break
                start = folded.find(needle, start + 1)
            if hit is not None:
                found.append(hit)
                break
    return sorted(found, key=lambda m: m.start)


def pitch_findings(
    text: str,
    catalogue: Catalogue,
    questionnaire: Questionnaire,
    *,
    category: str,
    professional: bool = False,
) -> list[dict[str, Any]]:
    """Guard findings (``category: suitability``, a warning) for each product in ``text`` above
    what ``category`` may buy, naming the product and both levels."""
    out: list[dict[str, Any]] = []
    for m in mentions(text, catalogue, questionnaire.warning_frames):
        product = catalogue.product(m.code)
        assert product is not None
        result = match(category, product.risk, professional)
        if result.ok:
            continue
        zh_cat, en_cat = questionnaire.label(category, "zh"), questionnaire.label(category, "en")
        out.append(
            {
                "category": "suitability",
                "rule": "suitability.above_level",
                "start": m.start,
                "end": m.end,
                "match": m.text,
                "product": product.code,
                "product_risk": product.risk,
                "customer_category": category,
                "explanation": {
                    "zh": f"“{product.name_zh}”风险等级为{product.risk}，高于客户的风险承受能力"
                    f"（{zh_cat}，可购买{result.allowed}）：不得向其推介。",
                    "en": f"{product.name_en} is rated {product.risk}, above the customer's "
                    f"risk tolerance ({en_cat}, may buy {result.allowed}): do not pitch it.",
                },
                "hint": {
                    "zh": "请介绍与客户等级相符的产品；客户主动要求时，"
                    "请引导其在客户门户查看特别风险警示并自行确认。",
                    "en": "Offer products within the customer's level; if they insist, direct "
                    "them to the special risk warning in the customer portal to confirm "
                    "themselves.",
                },
            }
        )
    return out
