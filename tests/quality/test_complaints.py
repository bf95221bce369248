"""Complaint classification by product and problem code (content/policies/complaint_codes.yaml)."""

from __future__ import annotations

import pytest

from kefu.quality import content
from kefu.quality.complaints import CodesError, classify, parse_codes


@pytest.mark.parametrize(
    ("category", "words", "expected"),
    [
        # the category says complaint; options (06) and a settlement loss (P02) from the words
        ("complaint", ["投诉：二元期权亏损", "我明明看对了方向"], (True, "06", "P02")),
        # a funds question: not a complaint; funds (K2), delay in funds (P03)
        ("funds", ["提现两天未到账"], (False, "K2", "P03")),
        # no product word: the category's default product (18 No product); a crash is P05
        ("technical", ["App crashes when opening charts"], (False, "18", "P05")),
        # complaint words in the customer's own English; a fee (P01); trading's default product
        ("trading", ["I want to file a complaint about the commission"], (True, "01", "P01")),
        # nothing matches: the category's defaults
        ("account", ["你好"], (False, "18", "P06")),
    ],
)
def test_classify(category: str, words: list[str], expected: tuple[bool, str, str]) -> None:
    got = classify(category, words, content.complaint_codes())
    assert (got.complaint, got.product, got.problem) == expected


def test_codes_are_checked() -> None:
    with pytest.raises(CodesError, match="products"):
        parse_codes({"problems": [{"code": "P1", "name": {"zh": "x", "en": "x"}}]})
    with pytest.raises(CodesError, match=r"category_defaults\.funds"):
        parse_codes(
            {
                "products": [{"code": "01", "name": {"zh": "x", "en": "x"}}],
                "problems": [{"code": "P1", "name": {"zh": "x", "en": "x"}}],
                "category_defaults": {"funds": {"product": "99", "problem": "P1"}},
            }
        )
