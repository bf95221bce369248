"""The academy's shipped courses and question banks (issue 14): the five courses exist in zh and
en with their lessons, link only to existing KB articles, take regulatory numbers from the rules
registry (never typed by hand), and each GIFT bank holds >= 30 questions of all seven types,
aligned question by question between the two languages, and the numeric answers that rest on a
rule agree with the registry on the date they state. No lesson or question offers binary options
as a product.

The GIFT tokeniser here only counts and classifies questions; the academy's parser is the real
one. It follows docs/academy-content-format.md: blank lines separate questions, ``$CATEGORY:``
lines group them, ``~ = # { } :`` are escaped with a backslash inside text."""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date
from decimal import ROUND_HALF_UP, Decimal
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

from kefu.knowledge.content import rules
from kefu.knowledge.rules import RuleError, hand_typed, percent, references

ROOT = Path(__file__).resolve().parents[2]
CONTENT = ROOT / "content"
ACADEMY = CONTENT / "academy"
KB_SLUGS = {p.stem for p in (CONTENT / "kb").glob("*.md")}
REGISTRY = rules(CONTENT)

COURSES = [
    "market-basics",
    "common-questions",
    "risk-compliance",
    "communication",
    "technical-analysis",
]
LANGS = ("zh", "en")
TYPES = {"single", "multiple", "truefalse", "short", "numeric", "matching", "essay"}
KB_LINK = re.compile(r"\]\(kb:([^)\s]*)\)")
KB_CITE = re.compile(r"\bKB ([a-z]+\.[a-z0-9-]+)")
CJK = re.compile(r"[\u4e00-\u9fff]")


# --- lessons ---------------------------------------------------------------------------------


@dataclass
class Lesson:
    stem: str
    meta: dict[str, Any]
    body: dict[str, str]


def read_course(slug: str) -> dict[str, Any]:
    data = yaml.safe_load((ACADEMY / "courses" / slug / "course.yaml").read_text("utf-8"))
    assert isinstance(data, dict), slug
    return data


def read_lesson(slug: str, stem: str) -> Lesson:
    path = ACADEMY / "courses" / slug / "lessons" / f"{stem}.md"
    text = path.read_text("utf-8")
    assert text.startswith("---\n"), f"{path.name}: no front matter"
    _, front, rest = text.split("---\n", 2)
    zh, sep, en = rest.partition("\n<!-- en -->\n")
    assert sep, f"{path.name}: no '<!-- en -->' separator"
    return Lesson(stem, yaml.safe_load(front), {"zh": zh.strip(), "en": en.strip()})


def all_lessons() -> list[tuple[str, Lesson]]:
    return [(c, read_lesson(c, s)) for c in COURSES for s in read_course(c)["lessons"]]


LESSONS = all_lessons()
LESSON_IDS = [f"{c}/{lesson.stem}" for c, lesson in LESSONS]


def test_the_five_courses_are_shipped_in_catalogue_order() -> None:
    shipped = sorted(p.name for p in (ACADEMY / "courses").iterdir() if p.is_dir())
    assert shipped == sorted(COURSES)
    assert [read_course(c)["order"] for c in COURSES] == list(range(1, len(COURSES) + 1))


@pytest.mark.parametrize("slug", COURSES)
def test_course_yaml_has_both_languages_and_its_lessons(slug: str) -> None:
    c = read_course(slug)
    assert c["slug"] == slug
    for key in ("title", "summary", "audience"):
        for lang in LANGS:
            assert isinstance(c[key][lang], str) and c[key][lang].strip(), f"{slug}: {key}.{lang}"
    assert CJK.search(c["title"]["zh"]) and not CJK.search(c["title"]["en"])
    assert c["bank"] == slug
    assert 0 < c["pass_mark"] <= 100
    quiz = c["quiz"]
    assert quiz["questions"] > 0 and quiz["minutes"] > 0 and quiz["attempts"] >= 1
    stems = c["lessons"]
    assert 3 <= len(stems) <= 6, f"{slug}: {len(stems)} lessons"
    files = sorted(p.stem for p in (ACADEMY / "courses" / slug / "lessons").glob("*.md"))
    assert sorted(stems) == files, f"{slug}: lessons listed differ from the files"
    assert stems == sorted(stems), f"{slug}: lessons not in NN- order"
    total = 0
    for stem in stems:
        lesson = read_lesson(slug, stem)
        total += lesson.meta["minutes"]
        for lang in LANGS:
            assert lesson.meta["title"][lang].strip(), f"{stem}: title.{lang}"
            assert lesson.meta["objectives"][lang], f"{stem}: objectives.{lang}"
        assert len(lesson.meta["objectives"]["zh"]) == len(lesson.meta["objectives"]["en"])
    assert total <= c["minutes"], f"{slug}: lessons take {total} min, course says {c['minutes']}"


@pytest.mark.parametrize(("course", "lesson"), LESSONS, ids=LESSON_IDS)
def test_lesson_bodies_are_written_in_both_languages(course: str, lesson: Lesson) -> None:
    zh, en = lesson.body["zh"], lesson.body["en"]
    assert len(CJK.findall(zh)) >= 300, f"{lesson.stem}: zh body is {len(CJK.findall(zh))} chars"
    # English, quoting a Chinese term here and there (通达信, 涨停)
    assert len(CJK.findall(en)) < 0.05 * len(en), f"{lesson.stem}: the en body is not English"
    assert len(en.split()) >= 250, f"{lesson.stem}: en body is {len(en.split())} words"
    # worked examples: a good reply and a bad one clearly marked as what not to say
    assert "✅" in zh and "✅" in en, f"{lesson.stem}: no good reply example"
    assert "❌" in zh and "不要这样说" in zh, f"{lesson.stem}: zh has no marked bad reply"
    assert "❌" in en and "don't say this" in en.lower(), f"{lesson.stem}: en lacks a bad reply"
    # the two languages carry the same examples and the same headings
    assert zh.count("✅") == en.count("✅") and zh.count("❌") == en.count("❌"), lesson.stem
    assert zh.count("\n## ") == en.count("\n## "), f"{lesson.stem}: headings differ"


@pytest.mark.parametrize(("course", "lesson"), LESSONS, ids=LESSON_IDS)
def test_lesson_kb_links_name_existing_articles(course: str, lesson: Lesson) -> None:
    listed = set(lesson.meta["kb"])
    assert listed, f"{lesson.stem}: front matter lists no KB article"
    assert listed <= KB_SLUGS, f"{lesson.stem}: unknown slugs {sorted(listed - KB_SLUGS)}"
    for lang in LANGS:
        linked = set(KB_LINK.findall(lesson.body[lang]))
        assert linked <= KB_SLUGS, f"{lesson.stem}.{lang}: unknown {sorted(linked - KB_SLUGS)}"
        # the front matter says which articles the lesson points to; both bodies link them all
        assert linked == listed, f"{lesson.stem}.{lang}: links {sorted(linked ^ listed)} differ"


@pytest.mark.parametrize(("course", "lesson"), LESSONS, ids=LESSON_IDS)
def test_lesson_rule_numbers_come_from_the_registry(course: str, lesson: Lesson) -> None:
    refs = {}
    for lang in LANGS:
        text = lesson.body[lang]
        try:
            REGISTRY.render(text, lang)
        except RuleError as exc:  # an unknown rule or field, or a malformed placeholder
            pytest.fail(f"{lesson.stem}.{lang}: {exc}")
        typed = [f"{h.text!r} is {h.rule}.{h.field}: {h.line}" for h in hand_typed(text, REGISTRY)]
        assert not typed, f"{lesson.stem}.{lang} types rule numbers by hand:\n" + "\n".join(typed)
        refs[lang] = sorted({r.text for r in references(text)})
    assert refs["zh"] == refs["en"], f"{lesson.stem}: the languages cite different rules"


def test_course_texts_hold_valid_placeholders_only() -> None:
    for slug in COURSES:
        raw = (ACADEMY / "courses" / slug / "course.yaml").read_text("utf-8")
        REGISTRY.render(raw, "zh")


# --- binary options: records only, never a product -------------------------------------------

OFFER = [
    re.compile(r"(开通|开立|注册|申请|办理|购买|投资|参与)[^。！？\n]{0,8}二元期权"),
    re.compile(r"(推荐|推销|介绍|优惠|赠金|体验金|返佣)[^。！？\n]{0,8}二元期权"),
    re.compile(r"二元期权[^。！？\n]{0,8}(开户|注册|入金|优惠|赠金|体验金|返佣|推荐)"),
    re.compile(r"\b(open|sign up|register|apply|subscribe)\b[^.!?\n]{0,30}\bbinary", re.I),
    re.compile(r"\b(recommend|promot|bonus|try)\w*\b[^.!?\n]{0,30}\bbinary", re.I),
    re.compile(r"\bbinary[- ]options?\b[^.!?\n]{0,20}\b(account|bonus|promotion)\b", re.I),
]
REFUSAL = re.compile(
    r"不提供|不推荐|不销售|不向|不能|不得|不是|不要|不会|不接受|不可|请勿|切勿|没有|拒绝|禁止|"
    r"严禁|诈骗|骗|非法|违法|未经批准|"
    r"\b(not|no|never|refuse\w*|ban\w*|illegal|scam\w*|fraud\w*|cannot|can't|don't|won't)\b",
    re.I,
)


def sentences(text: str) -> list[str]:
    return [s for s in re.split(r"(?<=[。！？!?\n])|(?<=\.)\s", text) if s.strip()]


def offers_binary(text: str) -> list[str]:
    return [
        s.strip()
        for s in sentences(text)
        if any(p.search(s) for p in OFFER) and not REFUSAL.search(s)
    ]


def test_the_offer_detector_catches_offers_and_passes_refusals() -> None:
    assert offers_binary("欢迎开通二元期权账户，新客有体验金。")
    assert offers_binary("I recommend trying binary options.")
    assert not offers_binary("本平台不提供二元期权交易，如有人向您推荐二元期权，请拒绝。")
    assert not offers_binary("We do not open binary-option accounts for anyone.")


@pytest.mark.parametrize(("course", "lesson"), LESSONS, ids=LESSON_IDS)
def test_lessons_never_offer_binary_options(course: str, lesson: Lesson) -> None:
    for lang in LANGS:
        text = lesson.body[lang]
        assert not offers_binary(text), f"{lesson.stem}.{lang}: {offers_binary(text)}"
    if "二元期权" in lesson.body["zh"]:
        assert "不提供二元期权" in lesson.body["zh"], f"{lesson.stem}: zh lacks 'not offered'"
    if re.search(r"binary[- ]option", lesson.body["en"], re.I):
        assert re.search(r"(does not|do not|never) offer binary", lesson.body["en"]), lesson.stem


# --- question banks (GIFT) -------------------------------------------------------------------


@dataclass
class Question:
    title: str
    category: str
    text: str
    kind: str
    answers: list[str] = field(default_factory=list)
    general: str = ""


def unescaped(s: str, ch: str) -> list[int]:
    """Positions of ``ch`` in ``s`` not preceded by a backslash escape."""
    out, i = [], 0
    while i < len(s):
        if s[i] == "\\":
            i += 2
            continue
        if s.startswith(ch, i):
            out.append(i)
        i += 1
    return out


def split_unescaped(s: str, chars: str) -> list[str]:
    """``s`` cut before every unescaped character of ``chars`` (the character kept)."""
    parts, cur, i = [], "", 0
    while i < len(s):
        if s[i] == "\\":
            cur += s[i : i + 2]
            i += 2
            continue
        if s[i] in chars and cur.strip():
            parts.append(cur)
            cur = ""
        cur += s[i]
        i += 1
    if cur.strip():
        parts.append(cur)
    return parts


def classify(block: str) -> tuple[str, list[str]]:
    body = block.strip()
    if not body:
        return "essay", []
    if body.startswith("#"):
        return "numeric", [body[1:].strip()]
    head = split_unescaped(body, "#")[0].strip()
    if head in ("T", "F", "TRUE", "FALSE"):
        return "truefalse", [body]
    answers = [a.strip() for a in split_unescaped(body, "=~")]
    if any("->" in a for a in answers):
        return "matching", answers
    if any(a.startswith("~") for a in answers):
        if any(re.match(r"~%-?[\d.]+%", a) for a in answers) and not any(
            a.startswith("=") for a in answers
        ):
            return "multiple", answers
        return "single", answers
    return "short", answers


def parse_gift(text: str, where: str) -> list[Question]:
    questions: list[Question] = []
    category = ""
    lines = [ln for ln in text.splitlines() if not ln.lstrip().startswith("//")]
    for block in re.split(r"\n\s*\n", "\n".join(lines)):
        block = block.strip()
        if not block:
            continue
        if block.startswith("$CATEGORY:"):
            category = block.split(":", 1)[1].strip()
            continue
        m = re.match(r"::(.+?)::(.*)", block, re.S)
        assert m, f"{where}: a question without a ::title:: {block[:60]!r}"
        title, rest = m.group(1).strip(), m.group(2)
        opens, closes = unescaped(rest, "{"), unescaped(rest, "}")
        assert len(opens) == 1 and len(closes) == 1, f"{where} {title}: unescaped braces"
        text_part, inner = rest[: opens[0]].strip(), rest[opens[0] + 1 : closes[0]]
        assert not rest[closes[0] + 1 :].strip(), f"{where} {title}: text after the answers"
        for ch in "~=#:":
            assert not unescaped(text_part, ch), f"{where} {title}: unescaped {ch!r} in the text"
        g = unescaped(inner, "####")
        assert g, f"{where} {title}: no general feedback (####)"
        answers_part, general = inner[: g[0]], inner[g[0] + 4 :].strip()
        kind, answers = classify(answers_part)
        if kind != "numeric":
            assert not unescaped(answers_part, ":"), f"{where} {title}: unescaped ':'"
        for ch in ":=~{}":
            assert not unescaped(general, ch), f"{where} {title}: unescaped {ch!r} in feedback"
        assert category, f"{where} {title}: before any $CATEGORY"
        questions.append(Question(title, category, text_part, kind, answers, general))
    return questions


def weight(answer: str) -> Decimal:
    m = re.match(r"[~=]%(-?[\d.]+)%", answer)
    return Decimal(m.group(1)) if m else Decimal(0)


@cache
def read_bank(slug: str, lang: str) -> list[Question]:
    path = ACADEMY / "banks" / f"{slug}.{lang}.gift"
    return parse_gift(path.read_text("utf-8"), path.name)


def test_the_tokeniser_reads_every_type() -> None:
    sample = """$CATEGORY: t/a

::A::Pick one{=yes#ok ~no#bad ~maybe#bad ####because}

::B::Pick two{~%50%a#f ~%50%b#f ~%-100%c#f ####g}

::C::True?{TRUE#wrong#right ####g}

::D::Name it{=T+1 =T + 1 ####g}

::E::How much \\: 2026-12-07{#10.10:0.01 ####g}

::F::Match{=a -> 1 =b -> 2 =c -> 3 ####g}

::G::Explain{####rubric}
"""
    kinds = [q.kind for q in parse_gift(sample, "sample")]
    assert kinds == ["single", "multiple", "truefalse", "short", "numeric", "matching", "essay"]


@pytest.mark.parametrize("slug", COURSES)
def test_bank_has_enough_questions_of_every_type_aligned_across_languages(slug: str) -> None:
    zh, en = read_bank(slug, "zh"), read_bank(slug, "en")
    assert len(zh) >= 30 and len(en) >= 30, f"{slug}: {len(zh)} zh, {len(en)} en questions"
    assert [q.title for q in zh] == [q.title for q in en], f"{slug}: titles differ"
    assert len({q.title for q in zh}) == len(zh), f"{slug}: duplicate titles"
    assert all(q.title.startswith(f"Q-{slug}-") for q in zh)
    assert [q.category for q in zh] == [q.category for q in en], f"{slug}: categories differ"
    assert [q.kind for q in zh] == [q.kind for q in en], f"{slug}: question types differ"
    assert {q.kind for q in zh} == TYPES, f"{slug}: missing {TYPES - {q.kind for q in zh}}"
    cats = {q.category for q in zh}
    assert 3 <= len(cats) <= 5 and all(c.startswith(f"{slug}/") for c in cats), cats
    for a, b in zip(zh, en, strict=True):
        assert a.general and b.general, f"{slug} {a.title}: no general feedback"
        if a.kind != "short":  # accepted short answers are each language's own spellings
            assert len(a.answers) == len(b.answers), f"{slug} {a.title}: answer counts differ"
        if a.kind in ("multiple", "single"):
            assert [weight(x) for x in a.answers] == [weight(x) for x in b.answers], a.title
        if a.kind in ("numeric", "truefalse"):
            assert a.answers[0].split("#")[0] == b.answers[0].split("#")[0], a.title


@pytest.mark.parametrize("slug", COURSES)
@pytest.mark.parametrize("lang", LANGS)
def test_bank_questions_are_well_formed(slug: str, lang: str) -> None:
    negative = 0
    for q in read_bank(slug, lang):
        where = f"{slug}.{lang} {q.title}"
        if q.kind == "single":
            assert sum(a.startswith("=") for a in q.answers) == 1, where
            assert len(q.answers) >= 3, f"{where}: fewer than two distractors"
            assert all(unescaped(a, "#") for a in q.answers), f"{where}: an answer lacks feedback"
        if q.kind == "multiple":
            ws = [weight(a) for a in q.answers]
            assert sum(w for w in ws if w > 0) == 100, f"{where}: positive weights {ws}"
            assert all(unescaped(a, "#") for a in q.answers), f"{where}: an answer lacks feedback"
            negative += any(w < 0 for w in ws)
        if q.kind == "short":
            assert len(q.answers) >= 2, f"{where}: only one accepted answer"
        if q.kind == "matching":
            assert len(q.answers) >= 3 and all("->" in a for a in q.answers), where
        if q.kind == "numeric":
            assert re.fullmatch(r"-?[\d.]+(:[\d.]+|\.\.-?[\d.]+)", q.answers[0]), where
            # GIFT has no placeholders: the question states its inputs and the date in force
            assert re.search(r"\d{4}-\d{2}-\d{2}|\d{4}年\d{1,2}月\d{1,2}日", q.text), where
        if q.kind == "truefalse":
            assert len(unescaped(q.answers[0], "#")) == 2, f"{where}: needs both feedbacks"
        for slug_cited in KB_CITE.findall(q.general):
            assert slug_cited in KB_SLUGS, f"{where}: cites unknown KB {slug_cited}"
        for ref in references(q.general + q.text):
            pytest.fail(f"{where}: GIFT cannot render {ref.text}; state the number and date")
    assert negative, f"{slug}.{lang}: no multiple-choice question has a negative weight"


@pytest.mark.parametrize("slug", COURSES)
def test_every_question_cites_its_basis(slug: str) -> None:
    for lang in LANGS:
        for q in read_bank(slug, lang):
            cited = KB_CITE.search(q.general) or re.search(
                r"《[^》]+》|\b(Law|Measures|Rules|Regulation|Order|ESMA|FCA|ASIC|Lane|Wilder|"
                r"Appel|Bollinger|Lambert|Williams|TA-Lib|rules\.yaml|通达信|同花顺)\b|规则|办法|制度|规定",
                q.general,
            )
            assert cited, f"{slug}.{lang} {q.title}: general feedback cites no basis"


@pytest.mark.parametrize("slug", COURSES)
def test_bank_questions_never_offer_binary_options(slug: str) -> None:
    for lang in LANGS:
        for q in read_bank(slug, lang):
            text = q.text + "\n" + "\n".join(q.answers) + "\n" + q.general
            assert not offers_binary(text), f"{slug}.{lang} {q.title}: {offers_binary(text)}"


# --- numeric answers agree with the rules registry on the date the questions name ------------

ON = date(2026, 12, 7)  # the date every rule-based numeric question states
CENT = Decimal("0.01")


def rule(rule_id: str, name: str | None = None) -> Decimal:
    return REGISTRY.decimal(rule_id, ON, name)


def cents(d: Decimal) -> Decimal:
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


def fees(amount: str, side: str) -> Decimal:
    """Commission (with its minimum), transfer fee and, on a sell, stamp duty, each to the cent."""
    value = Decimal(amount)
    commission = max(
        cents(value * rule("demo_commission", "rate")), rule("demo_commission", "minimum")
    )
    total = commission + cents(value * rule("transfer_fee"))
    if side == "sell":
        total += cents(value * rule("stamp_duty", "rate"))
    return total


def limit(close: str, board: str, direction: int) -> Decimal:
    return cents(Decimal(close) * (1 + direction * rule(f"price_limit_{board}")))


FEE_RATES = [("demo_commission", "rate"), ("transfer_fee", None), ("stamp_duty", "rate")]
#: (bank, title) -> (expected answer, the registry values the question must state)
EXPECTED: dict[tuple[str, str], tuple[Decimal, list[tuple[str, str | None]]]] = {
    ("market-basics", "Q-market-basics-010"): (
        limit("8.88", "main", 1),
        [("price_limit_main", None)],
    ),
    ("market-basics", "Q-market-basics-011"): (
        limit("15.55", "chinext", -1),
        [("price_limit_chinext", None)],
    ),
    ("market-basics", "Q-market-basics-017"): (fees("10000", "sell"), FEE_RATES),
    ("market-basics", "Q-market-basics-018"): (fees("100000", "buy"), FEE_RATES),
    ("market-basics", "Q-market-basics-024"): (fees("3000", "sell"), FEE_RATES),
    ("common-questions", "Q-common-questions-016"): (fees("3000", "buy"), FEE_RATES),
    ("common-questions", "Q-common-questions-020"): (
        limit("45.67", "star", 1),
        [("price_limit_star", None)],
    ),
    ("common-questions", "Q-common-questions-012"): (
        cents(
            Decimal(100000)
            * rule("demo_margin_rates", "financing_rate")
            * 10
            / rule("demo_margin_rates", "day_basis")
        ),
        [("demo_margin_rates", "financing_rate")],
    ),
    ("risk-compliance", "Q-risk-compliance-020"): (rule("retention_aml"), []),
}


@pytest.mark.parametrize(("bank", "title"), sorted(EXPECTED))
@pytest.mark.parametrize("lang", LANGS)
def test_rule_based_numeric_answers_agree_with_the_registry(
    bank: str, title: str, lang: str
) -> None:
    q = next(q for q in read_bank(bank, lang) if q.title == title)
    assert q.kind == "numeric" and "2026-12-07" in q.text, f"{title}: not dated 2026-12-07"
    value, _, tolerance = q.answers[0].partition(":")
    expected, stated = EXPECTED[(bank, title)]
    assert abs(Decimal(value) - expected) <= Decimal(tolerance), f"{title}: {value} != {expected}"
    for rule_id, name in stated:  # the rates the question gives are the registry's on that day
        assert percent(rule(rule_id, name)) in q.text, f"{title}: states no {rule_id} {name or ''}"
