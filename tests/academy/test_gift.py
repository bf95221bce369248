"""GIFT parser and writer: every question type, escapes, errors naming the line, the round trip
GIFT → bank → GIFT → bank, and the Moodle XML export."""

from __future__ import annotations

import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.academy import gift, moodle
from kefu.academy.gift import Answer, GiftError, Question

SAMPLE = r"""// a comment line is ignored
$CATEGORY: fees/basics

::Q-001::印花税由谁缴纳？{
	=卖方#对：印花税只向卖方征收（见 kb\:fees.stamp-duty）。
	~买方#不对：买入不收印花税。
	~买卖双方#不对。
	####自 2023-08-28 起只对卖出征收。
}

::Q-002::Which of these are costs of a trade? {
	~%50%commission#yes
	~%50%stamp duty on a sale#yes
	~%-100%a guaranteed return#no such thing
	####Commission and stamp duty are costs.
}

$CATEGORY: fees/rules
::Q-003::A-shares settle T+1.{TRUE#Wrong: they settle T+1.#Right.####See kb\:trading.t-plus-one}

::Q-004::Name the STAR market in Chinese.{=科创板 =科创板块 =%50%科创####The STAR Market.}

::Q-005::Stamp duty on a 100000 yuan sale at 0.05%?{#50:0.01####100000 × 0.05% = 50}

::Q-006::A price inside the main board's limit band from 9.00 to 11.00?{#
	=9..11#inside
	~%50%8.5..11.5#close
}

::Q-007::Match each term.{
	=T+1 -> next trading day
	=ST -> special treatment
	=科创板 -> STAR market
	####Terms.
}

::Q-008::[markdown]Explain **why** we never promise returns.{
	####Rubric\: 2 points for the rule, 2 for the tone.
}

::Q-009::Escapes\: 50\% \~ \= \# \{ \} done{=a\=b#c\#d}

::Q-010::Just a description without an answer block
"""


def test_every_type_is_parsed_with_its_weights_and_feedback() -> None:
    qs = gift.parse(SAMPLE)
    kinds = {q.title: q.kind for q in qs}
    assert kinds == {
        "Q-001": "single",
        "Q-002": "multiple",
        "Q-003": "truefalse",
        "Q-004": "short",
        "Q-005": "numeric",
        "Q-006": "numeric",
        "Q-007": "matching",
        "Q-008": "essay",
        "Q-009": "short",
        "Q-010": "description",
    }
    q1 = qs[0]
    assert q1.category == "fees/basics"
    assert [a.weight for a in q1.answers] == [100, 0, 0]
    assert q1.answers[0].feedback == "对：印花税只向卖方征收（见 kb:fees.stamp-duty）。"
    assert q1.general_feedback == "自 2023-08-28 起只对卖出征收。"
    q2 = qs[1]
    assert [a.weight for a in q2.answers] == [50, 50, -100]
    assert q2.answers[2].feedback == "no such thing"
    q3 = qs[2]
    assert q3.category == "fees/rules"
    assert (q3.truth, q3.feedback_wrong, q3.feedback_right) == (
        True,
        "Wrong: they settle T+1.",
        "Right.",
    )
    assert q3.general_feedback == "See kb:trading.t-plus-one"
    assert [(a.text, a.weight) for a in qs[3].answers] == [
        ("科创板", 100),
        ("科创板块", 100),
        ("科创", 50),
    ]
    assert qs[4].answers == (
        Answer(weight=Decimal(100), value=Decimal(50), tolerance=Decimal("0.01")),
    )
    assert [(a.low, a.high, a.weight, a.feedback) for a in qs[5].answers] == [
        (9, 11, 100, "inside"),
        (Decimal("8.5"), Decimal("11.5"), 50, "close"),
    ]
    assert [(a.text, a.match) for a in qs[6].answers] == [
        ("T+1", "next trading day"),
        ("ST", "special treatment"),
        ("科创板", "STAR market"),
    ]
    assert qs[7].fmt == "markdown" and qs[7].general_feedback.startswith("Rubric: 2 points")
    assert qs[8].text == "Escapes: 50% ~ = # { } done"
    assert (qs[8].answers[0].text, qs[8].answers[0].feedback) == ("a=b", "c#d")


def test_write_then_parse_gives_the_same_bank() -> None:
    qs = gift.parse(SAMPLE)
    again = gift.parse(gift.write(qs))
    assert again == qs
    assert gift.write(again) == gift.write(qs)


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("\n\n::Q1::What? {=a ~b", "line 3 (Q1): the answer block '{' is never closed"),
        ("::Q1::What? {~a ~b}", "line 1 (Q1): no answer has a positive weight"),
        ("::Q1::What? {~%150%a ~b}", "weight 150% lies outside"),
        ("::Q1::What? {#abc}", "'abc' is not a number"),
        ("::Q1::What? {#5..1}", "runs backwards"),
        ("::Q1::What? {=a -> b}", "at least two pairs"),
        ("::Q1:: {=a}", "no text"),
        ("::Q1::a {=x}\n\n::Q1::b {=y}", "title 'Q1' appears twice"),
        ("::Q1 what {=x}", "no closing '::'"),
    ],
)
def test_bad_gift_names_the_line_and_the_problem(text: str, message: str) -> None:
    with pytest.raises(GiftError, match=message.replace("(", r"\(").replace(")", r"\)")):
        gift.parse(text)


def test_moodle_xml_has_each_type_and_the_fractions() -> None:
    root = ET.fromstring(moodle.moodle_xml(gift.parse(SAMPLE)))
    qs = root.findall("question")
    types = [q.get("type") for q in qs]
    assert types.count("category") == 2
    assert [t for t in types if t != "category"] == [
        "multichoice",
        "multichoice",
        "truefalse",
        "shortanswer",
        "numerical",
        "numerical",
        "matching",
        "essay",
        "shortanswer",
        "description",
    ]
    multi = qs[2]
    assert multi.findtext("single") == "false"
    assert [a.get("fraction") for a in multi.findall("answer")] == ["50", "50", "-100"]
    numeric_range = qs[7]
    first = numeric_range.findall("answer")[0]
    assert (first.findtext("text"), first.findtext("tolerance")) == ("10", "1")
    matching = qs[8]
    assert [s.findtext("text") for s in matching.findall("subquestion")] == ["T+1", "ST", "科创板"]
    assert qs[0].find("category/text").text == "$course$/fees/basics"  # type: ignore[union-attr]


# --- the round-trip property ----------------------------------------------------------------

_chars = st.characters(
    codec="utf-8", exclude_categories=("Cs", "Cc", "Zs", "Zl", "Zp"), exclude_characters="\r\n"
)
_word = st.text(_chars, min_size=1, max_size=12).filter(
    lambda s: "->" not in s and "%" not in s[:1] and not s.startswith(("[", "//", "$"))
)
_text = st.lists(_word, min_size=1, max_size=4).map(" ".join)
_weight = st.sampled_from([Decimal(w) for w in ("100", "50", "33.33333", "0", "-50", "-100")])
_feedback = st.one_of(st.just(""), _text)


@st.composite
def _question(draw: st.DrawFn, n: int) -> Question:
    kind = draw(st.sampled_from(gift.KINDS))
    base = {
        "title": f"Q-{n:03d}",
        # GIFT cannot go back to "no category" once one is set: banks always name theirs
        "category": draw(st.sampled_from(["bank/a", "bank/b c", "bank/中文"])),
        "text": draw(_text),
        "general_feedback": draw(_feedback),
        "fmt": draw(st.sampled_from(gift.FORMATS)),
    }
    if kind == "description":
        return Question(
            kind=kind,
            text=base["text"],
            title=base["title"],
            category=base["category"],
            fmt=base["fmt"],
        )
    if kind == "essay":
        return Question(kind=kind, **base)
    if kind == "truefalse":
        return Question(
            kind=kind,
            truth=draw(st.booleans()),
            feedback_wrong=draw(_text),
            feedback_right=draw(_feedback),
            **base,
        )
    if kind == "numeric":
        answers = []
        for _ in range(draw(st.integers(1, 3))):
            w = draw(st.sampled_from([Decimal(100), Decimal(50), Decimal(0)]))
            if draw(st.booleans()):
                lo = Decimal(draw(st.integers(-1000, 1000))) / 10
                answers.append(Answer(weight=w, feedback=draw(_feedback), low=lo, high=lo + 2))
            else:
                v = Decimal(draw(st.integers(-(10**6), 10**6))) / 100
                t = Decimal(draw(st.integers(0, 100))) / 100
                answers.append(Answer(weight=w, feedback=draw(_feedback), value=v, tolerance=t))
        return Question(kind=kind, answers=tuple(answers), **base)
    if kind == "matching":
        lefts = draw(st.lists(_text, min_size=2, max_size=4, unique=True))
        pairs = tuple(Answer(text=x, weight=Decimal(100), match=draw(_text)) for x in lefts)
        return Question(kind=kind, answers=pairs, **base)
    if kind == "short":
        answers = tuple(
            Answer(text=draw(_text), weight=draw(_weight), feedback=draw(_feedback))
            for _ in range(draw(st.integers(1, 3)))
        )
        return Question(kind=kind, answers=answers, **base)
    answers_l = [
        Answer(text=draw(_text), weight=draw(_weight), feedback=draw(_feedback))
        for _ in range(draw(st.integers(2, 5)))
    ]
    if kind == "single":
        answers_l[0] = Answer(text=answers_l[0].text, weight=Decimal(100))
    else:
        answers_l[0] = Answer(text=answers_l[0].text, weight=Decimal(50))
        answers_l = [
            a if a.weight != 100 else Answer(text=a.text, weight=Decimal(25)) for a in answers_l
        ]
    return Question(kind=kind, answers=tuple(answers_l), **base)


@st.composite
def _bank(draw: st.DrawFn) -> list[Question]:
    return [draw(_question(i)) for i in range(draw(st.integers(1, 6)))]


@settings(max_examples=60, deadline=None)
@given(_bank())
def test_round_trip_keeps_every_question_answer_weight_and_feedback(bank: list[Question]) -> None:
    text = gift.write(bank)
    parsed = gift.parse(text)
    assert parsed == bank
    assert gift.parse(gift.write(parsed)) == parsed
