"""Masking never shows more than it should; the search column tokenises zh and en alike."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from kefu.core.masking import mask_card, mask_email, mask_id_number, mask_name, mask_phone
from kefu.core.textsearch import fts5_query, index_text, query_terms, tsquery_terms


def test_masks():
    assert mask_card("6222021234560128") == "6222 **** **** 0128"
    assert mask_card("6222 0212 3456 7890 128") == "6222 **** **** 0128"
    assert mask_phone("13812345678") == "138****5678"
    assert mask_phone("+86 138 1234 5678") == "+86 138****5678"
    assert mask_id_number("11010519491231002X") == "110***********002X"
    assert mask_email("zhang.wei@example.com") == "z***@example.com"
    assert mask_name("王建国") == "王**"


@given(st.text(alphabet="0123456789", min_size=13, max_size=19))
def test_masked_card_hides_the_middle(number):
    masked = mask_card(number)
    assert number[4:-4] not in masked.replace(" ", "") or len(set(number[4:-4])) == 1
    assert not re.search(r"\d{5,}", masked)


def test_index_text_bigrams_and_words():
    assert index_text("提现到账") == "提现 现到 到账"
    assert index_text("My WITHDRAWAL", "ｗｉｔｈｄｒａｗａｌ") == "my withdrawal"
    assert query_terms("提现，到账!") == ["提现", "到账"]


def test_queries_are_injection_safe():
    assert fts5_query('提现" OR "x') == '"提现" AND "or" AND "x"'
    assert fts5_query("***") is None
    assert tsquery_terms("a & b | !c") == ["a", "b", "c"]
    assert tsquery_terms("钱") == ["钱:*"]
