"""The suitability engine with hand-worked answer sheets against the shipped questionnaire,
score bands and catalogue (content/policies/suitability.yaml, products.yaml, rules.yaml)."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest
import yaml

from kefu.customers.suitability_rules import (
    AnswerError,
    Bands,
    PolicyError,
    add_months,
    allowed_range,
    assess,
    check_bands,
    match,
    mentions,
    parse_catalogue,
    parse_questionnaire,
    pitch_findings,
    state,
)
from kefu.knowledge.content import rules

POLICIES = Path(__file__).resolve().parents[2] / "content" / "policies"
RAW = yaml.safe_load((POLICIES / "suitability.yaml").read_text(encoding="utf-8"))
Q = parse_questionnaire(RAW)
CATALOGUE = parse_catalogue(yaml.safe_load((POLICIES / "products.yaml").read_text("utf-8")))
BANDS = Bands(1, 20, 37, 54, 83, 100)  # the example bands, as in rules.yaml

ORDER = [
    "age",
    "income_source",
    "income",
    "investable_share",
    "debts",
    "assets",
    "knowledge",
    "experience",
    "experience_years",
    "horizon",
    "objective",
    "loss_tolerance",
]


def sheet(letters: str) -> dict[str, str]:
    assert len(letters) == len(ORDER)
    return dict(zip(ORDER, letters, strict=True))


def test_the_registry_holds_the_bands_the_questionnaire_is_scored_against():
    reg = rules()
    fields = ("c1_min", "c2_min", "c3_min", "c4_min", "c5_min", "max")
    got = Bands(*(int(reg.decimal("demo_suitability_score_bands", None, f)) for f in fields))
    assert got == BANDS
    check_bands(Q, got)  # the questions' top points add up to the bands' top: 100
    assert [q.id for q in Q.questions] == ORDER


def test_a_working_professional_scores_70_and_is_c4():
    # 31–40 (8) salary (6) ¥0.5–1m (6) 25–50% (6) mortgage (4) ¥0.5–3m assets (6)
    # fair knowledge (5) shares and funds (7) 2–5 years (4) 3–5 years horizon (5)
    # some risk (7) 10–30% loss (6) = 70
    result = assess(Q, sheet("baccbcbccccc"), BANDS)
    assert (result.score, result.category, result.lowest_because) == (70, "C4", ())


def test_a_retiree_scores_31_and_is_c2():
    # over 60 (1) rent (3) under ¥100k (2) <10% (2) no debts (6) ¥100–500k (4) limited (2)
    # bonds/insurance (4) none (0) under 1 year (1) capital safety (3) up to 10% (3) = 31
    result = assess(Q, sheet("edaaababaabb"), BANDS)
    assert (result.score, result.category) == (31, "C2")


def test_the_smallest_sheet_without_a_lowest_answer_is_c1_at_18():
    # 1 + 0 + 2 + 2 + 1 + 1 + 2 + 2 + 0 + 1 + 3 + 3 = 18
    result = assess(Q, sheet("eeaadaaaaabb"), BANDS)
    assert (result.score, result.category) == (18, "C1")


def test_every_top_answer_is_100_and_c5_unless_one_answer_refuses_any_loss():
    top = sheet("baedaecdedde")
    assert assess(Q, top, BANDS).score == 100
    assert assess(Q, top, BANDS).category == "C5"
    no_loss = top | {"loss_tolerance": "a"}
    result = assess(Q, no_loss, BANDS)
    # 100 − 10 points = 90 would be C5; "cannot bear any loss" is the lowest category anyway
    assert (result.score, result.category, result.lowest_because) == (
        90,
        "lowest",
        ("loss_tolerance",),
    )


@pytest.mark.parametrize(
    ("score", "category"),
    [
        (0, "lowest"),
        (1, "C1"),
        (19, "C1"),
        (20, "C2"),
        (36, "C2"),
        (37, "C3"),
        (53, "C3"),
        (54, "C4"),
        (82, "C4"),
        (83, "C5"),
        (100, "C5"),
    ],
)
def test_band_edges(score: int, category: str):
    assert BANDS.category(score) == category


def test_answer_sheets_the_questionnaire_cannot_score_name_the_question():
    good = sheet("baccbcbccccc")
    with pytest.raises(AnswerError) as missing:
        assess(Q, {k: v for k, v in good.items() if k != "horizon"}, BANDS)
    assert missing.value.field == "horizon"
    with pytest.raises(AnswerError) as bad:
        assess(Q, good | {"debts": "z"}, BANDS)
    assert bad.value.field == "debts"
    with pytest.raises(AnswerError) as unknown:
        assess(Q, good | {"zodiac": "a"}, BANDS)
    assert unknown.value.field == "zodiac"


def test_bands_that_do_not_fit_the_questionnaire_are_refused():
    with pytest.raises(PolicyError, match="at most 100"):
        check_bands(Q, Bands(1, 20, 37, 54, 83, 120))
    with pytest.raises(PolicyError, match="rise strictly"):
        check_bands(Q, Bands(1, 40, 37, 54, 83, 100))


@pytest.mark.parametrize(
    ("category", "professional", "allowed"),
    [
        ("lowest", False, "R1"),
        ("C1", False, "R1"),
        ("C2", False, "R1–R2"),
        ("C3", False, "R1–R3"),
        ("C4", False, "R1–R4"),
        ("C5", False, "R1–R5"),
        ("C2", True, "R1–R5"),
    ],
)
def test_each_category_may_buy_up_to_its_level(category: str, professional: bool, allowed: str):
    assert allowed_range(category, professional) == allowed
    top = int(allowed[-1])
    for n in range(1, 6):
        m = match(category, f"R{n}", professional)
        assert m.ok is (n <= top)
        # a mismatch may be insisted on after the special warning, except by the lowest category
        assert m.may_insist is (n > top and category != "lowest")


def test_validity_adds_calendar_months_and_reminds_before_the_end():
    assert add_months(date(2026, 12, 7), 12) == date(2027, 12, 7)
    assert add_months(date(2026, 1, 31), 1) == date(2026, 2, 28)
    assert add_months(date(2024, 2, 29), 12) == date(2025, 2, 28)
    end = date(2027, 12, 7)
    assert state(end, date(2027, 11, 6), 30) == "valid"
    assert state(end, date(2027, 11, 7), 30) == "due_soon"
    assert state(end, end, 30) == "due_soon"
    assert state(end, date(2027, 12, 8), 30) == "expired"
    assert state(None, end, 30) == "none"


def test_a_pitch_above_the_customers_level_is_a_finding_naming_product_and_levels():
    text = "王先生您好，推荐您试试上证50ETF期权，收益弹性大。"
    found = pitch_findings(text, CATALOGUE, Q, category="C3")
    assert len(found) == 1
    f = found[0]
    assert (f["category"], f["product"], f["product_risk"], f["customer_category"]) == (
        "suitability",
        "OPTION-50ETF",
        "R5",
        "C3",
    )
    assert text[f["start"] : f["end"]] == "上证50ETF期权"
    assert "R5" in f["explanation"]["zh"] and "R1–R3" in f["explanation"]["zh"]
    assert "R1–R3" in f["explanation"]["en"]
    # the same words to a C5 customer, or to a professional investor, are no finding
    assert pitch_findings(text, CATALOGUE, Q, category="C5") == []
    assert pitch_findings(text, CATALOGUE, Q, category="C3", professional=True) == []


def test_warnings_products_within_the_level_and_banned_records_are_no_finding():
    frames = Q.warning_frames
    assert pitch_findings("50ETF期权风险很高，不适合您。", CATALOGUE, Q, category="C3") == []
    assert pitch_findings("国债逆回购GC001很稳健", CATALOGUE, Q, category="lowest") == []
    # binary options are not a product on offer: never matched, never a "mention"
    assert mentions("二元期权的历史订单已为您调取", CATALOGUE, frames) == []
    english = pitch_findings("You could open margin trading today.", CATALOGUE, Q, category="C2")
    assert [(f["product"], f["product_risk"]) for f in english] == [("MARGIN", "R4")]
    # a warning sentence does not hide a pitch in the next sentence
    two = "融资融券不适合您。不过上证50ETF期权可以考虑"
    assert [f["product"] for f in pitch_findings(two, CATALOGUE, Q, category="C2")] == [
        "OPTION-50ETF"
    ]


def test_malformed_policy_files_are_refused_naming_the_entry():
    dup = dict(RAW, questions=[RAW["questions"][0], RAW["questions"][0]])
    with pytest.raises(PolicyError, match="used twice"):
        parse_questionnaire(dup, "q.yaml")
    with pytest.raises(PolicyError, match="prohibited"):
        parse_catalogue(
            {
                "version": "1",
                "products": [
                    {
                        "code": "A1",
                        "risk": "R1",
                        "name": {"zh": "甲", "en": "A"},
                        "kind": {"zh": "基金", "en": "fund"},
                    }
                ],
                "prohibited": [
                    {
                        "code": "BINARY-OPTION",
                        "risk": "R5",
                        "name": {"zh": "二元期权", "en": "Binary options"},
                        "reason": {"zh": "禁止", "en": "banned"},
                    }
                ],
            }
        )
    assert CATALOGUE.product("BINARY-OPTION") is None
    assert CATALOGUE.banned("BINARY-OPTION") is not None
