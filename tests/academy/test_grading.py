"""The quiz grader on hand-worked examples: partial credit, negative weights floored at 0,
numeric tolerance and ranges, short answers normalised, matching, essays pending."""

from __future__ import annotations

from decimal import Decimal

import pytest

from kefu.academy import gift
from kefu.academy.grading import Mark, ResponseError, grade, normalise, rubric_mark

BANK = {
    q.title: q
    for q in gift.parse(
        r"""
::single::Who pays stamp duty?{=the seller#right ~%50%both#half ~the buyer#no}

::multi::Costs of a trade?{~%50%commission ~%50%stamp duty ~%-100%a guaranteed return}

::tf::A-shares settle T+1.{TRUE#wrong#right}

::short::The STAR market in Chinese?{=科创板 =STAR Market =%50%科创}

::num::Stamp duty on 100000 at 0.05%?{#50:0.5}

::range::A price inside 9..11?{#=9..11 =%50%8..12}

::match::Match.{=T+1 -> next day =ST -> special treatment =STAR -> 科创板 = -> distractor}

::essay::Explain.{####Rubric}
"""
    )
}
D = Decimal


@pytest.mark.parametrize(
    ("title", "response", "fraction", "status"),
    [
        ("single", 0, D(1), "correct"),
        ("single", 1, D("0.5"), "partial"),
        ("single", 2, D(0), "wrong"),
        ("multi", [0, 1], D(1), "correct"),
        ("multi", [0], D("0.5"), "partial"),
        # a wrong pick takes back the credit, but never below 0 for the question
        ("multi", [0, 2], D(0), "wrong"),
        ("multi", [0, 1, 2], D(0), "wrong"),
        ("multi", [2], D(0), "wrong"),
        ("tf", True, D(1), "correct"),
        ("tf", False, D(0), "wrong"),
        ("short", "科创板", D(1), "correct"),
        ("short", "  star   MARKET ", D(1), "correct"),
        ("short", "ＳＴＡＲ　ｍａｒｋｅｔ", D(1), "correct"),  # full-width letters and space
        ("short", "科 创 板。", D(1), "correct"),
        ("short", "科创", D("0.5"), "partial"),
        ("short", "创业板", D(0), "wrong"),
        ("num", "50", D(1), "correct"),
        ("num", "50.5", D(1), "correct"),
        ("num", "49.4", D(0), "wrong"),
        ("num", "５０", D(1), "correct"),
        ("num", "fifty", D(0), "wrong"),
        ("range", "11", D(1), "correct"),
        ("range", "11.5", D("0.5"), "partial"),
        ("range", "12.01", D(0), "wrong"),
        (
            "match",
            {"T+1": "next day", "ST": "special treatment", "STAR": "科创板"},
            D(1),
            "correct",
        ),
        (
            "match",
            {"T+1": "next day", "ST": "distractor", "STAR": "科创板"},
            D(2) / D(3),
            "partial",
        ),
        ("single", None, D(0), "blank"),
    ],
)
def test_grades(title: str, response: object, fraction: Decimal, status: str) -> None:
    mark = grade(BANK[title], response)
    assert (mark.fraction, mark.status) == (fraction, status)


def test_feedback_comes_with_the_chosen_answer() -> None:
    assert grade(BANK["single"], 1).feedback == ("half",)
    assert grade(BANK["tf"], False).feedback == ("wrong",)
    assert grade(BANK["tf"], True).feedback == ("right",)


def test_essay_is_pending_until_a_trainer_grades_it() -> None:
    assert grade(BANK["essay"], "We never promise returns because…") == Mark(None, "pending")
    mark = rubric_mark(D(3), D(4), "tone good")
    assert (mark.fraction, mark.status, mark.feedback) == (D("0.75"), "partial", ("tone good",))
    assert mark.points(D(2)) == D("1.50")
    with pytest.raises(ResponseError, match="between 0 and 4"):
        rubric_mark(D(5), D(4))
    with pytest.raises(ResponseError):
        rubric_mark(D("NaN"), D(4))


@pytest.mark.parametrize(
    ("title", "response", "message"),
    [
        ("single", 7, "answer 7 does not exist"),
        ("single", "0", "number of an answer"),
        ("multi", 1, "list of answer numbers"),
        ("tf", "yes", "true or false"),
        ("match", ["a"], "maps each item"),
    ],
)
def test_a_response_of_the_wrong_shape_is_refused(
    title: str, response: object, message: str
) -> None:
    with pytest.raises(ResponseError, match=message):
        grade(BANK[title], response)


def test_normalise() -> None:
    assert normalise("  Hello   World! ") == "hello world"
    assert normalise("科创 板") == "科创板"
