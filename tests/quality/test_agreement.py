"""Kappa against hand-worked and published examples."""

from __future__ import annotations

import pytest
from sklearn.metrics import cohen_kappa_score

from kefu.quality.agreement import AgreementError, cohen_kappa, fleiss_kappa, kappa, reading

# Wikipedia, "Fleiss' kappa", worked example: 10 subjects, 14 raters, 5 categories; κ = 0.210
WIKI_FLEISS = [
    [0, 0, 0, 0, 14],
    [0, 2, 6, 4, 2],
    [0, 0, 3, 5, 6],
    [0, 3, 9, 2, 0],
    [2, 2, 8, 1, 1],
    [7, 7, 0, 0, 0],
    [3, 2, 6, 3, 0],
    [2, 5, 3, 2, 2],
    [6, 5, 2, 1, 0],
    [0, 2, 2, 3, 7],
]


def test_fleiss_wikipedia_example() -> None:
    # P̄ = 0.378, P̄e = 0.213 → κ = (0.378 − 0.213) / (1 − 0.213) = 0.210
    assert fleiss_kappa(WIKI_FLEISS) == pytest.approx(0.2099, abs=1e-4)
    assert reading(fleiss_kappa(WIKI_FLEISS), "en") == "fair"


def test_cohen_wikipedia_example_and_sklearn() -> None:
    # Wikipedia, "Cohen's kappa": 50 proposals; yes/yes 20, yes/no 5, no/yes 10, no/no 15:
    # p_o = 0.7, p_e = 0.5·0.6 + 0.5·0.4 = 0.5, κ = 0.4
    a = ["yes"] * 25 + ["no"] * 25
    b = ["yes"] * 20 + ["no"] * 5 + ["yes"] * 10 + ["no"] * 15
    assert cohen_kappa(a, b) == pytest.approx(0.4)
    assert cohen_kappa(a, b) == pytest.approx(cohen_kappa_score(a, b))


def test_kappa_of_item_ratings_by_hand() -> None:
    """Three reviewers rate a case's 4 items. Counts (met, partly, missed):
    greeting (3,0,0) P=1; name (2,0,1) P=1/3; facts (0,1,2) P=1/3; closing (0,0,3) P=1.
    P̄ = 2/3; p = (5/12, 1/12, 6/12); P̄e = (25+1+36)/144 = 62/144;
    κ = (2/3 − 62/144) / (1 − 62/144) = (96−62)/(144−62) = 34/82 = 0.4146."""
    r1 = {"greeting": "met", "name": "met", "facts": "missed", "closing": "missed"}
    r2 = {"greeting": "met", "name": "met", "facts": "partly", "closing": "missed"}
    r3 = {"greeting": "met", "name": "missed", "facts": "missed", "closing": "missed"}
    cats = ("met", "partly", "missed")
    assert kappa([r1, r2, r3], cats) == pytest.approx(34 / 82)
    # two of them: Cohen over the same four items: p_o = 3/4; r1 (met 2, missed 2), r2 (met 2,
    # partly 1, missed 1): p_e = (2·2 + 2·1)/16 = 3/8; κ = (3/4 − 3/8)/(5/8) = 0.6
    assert kappa([r1, r2], cats) == pytest.approx(0.6)


def test_landis_koch_bands() -> None:
    got = [reading(v, "en") for v in (-0.1, 0.0, 0.2, 0.21, 0.6, 0.8, 0.81)]
    assert got == ["poor", "slight", "slight", "fair", "moderate", "substantial", "almost perfect"]


def test_undefined_and_bad_input() -> None:
    assert cohen_kappa(["met"] * 4, ["met"] * 4) is None
    assert reading(None, "en") == "all ratings in one category"
    with pytest.raises(AgreementError, match="subject 2"):
        fleiss_kappa([[1, 1], [2, 1]])
    with pytest.raises(AgreementError):
        kappa([{"a": "met"}], ("met",))
