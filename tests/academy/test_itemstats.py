"""Item statistics against a table worked by hand (5 attempts × 4 items, right or wrong):

         i1 i2 i3 i4 | total
    s1    1  1  1  1 |  4
    s2    1  1  1  0 |  3
    s3    1  1  0  0 |  2
    s4    1  0  0  0 |  1
    s5    0  0  1  0 |  1

facility: i1 4/5 = 80 %, i2 60 %, i3 60 %, i4 20 %.
KR-20: item variances p(1-p) = .16 + .24 + .24 + .16 = .80; totals 4,3,2,1,1 have mean 2.2 and
population variance (3.24+.64+.04+1.44+1.44)/5 = 1.36; alpha = 4/3 · (1 − .80/1.36) = 28/51.
discrimination of i1 against the rest (3,2,1,0,1): Σdxdy = .40, Σdx² = .8, Σdy² = 5.2,
r = .4/√4.16 = 0.19612; i4 against (3,3,2,1,1): 1.0/√(.8·4) = 0.55902; i3 against (3,2,2,1,0):
.2/√(1.2·5.2) = 0.08006.
"""

from __future__ import annotations

import pytest

from kefu.academy.itemstats import item_stats, pearson, quiz_stats

TABLE = [
    [1, 1, 1, 1],
    [1, 1, 1, 0],
    [1, 1, 0, 0],
    [1, 0, 0, 0],
    [0, 0, 1, 0],
]


def test_facility_and_discrimination_match_the_hand_worked_table() -> None:
    rows = [{f"i{j + 1}": float(v) for j, v in enumerate(r)} for r in TABLE]
    stats = {s.item: s for s in item_stats(rows)}
    assert [stats[i].facility for i in ("i1", "i2", "i3", "i4")] == pytest.approx([80, 60, 60, 20])
    assert stats["i1"].discrimination == pytest.approx(0.19612, abs=1e-5)
    assert stats["i3"].discrimination == pytest.approx(0.08006, abs=1e-5)
    assert stats["i4"].discrimination == pytest.approx(0.55902, abs=1e-5)
    assert stats["i1"].attempts == 5


def test_reliability_is_kr20_of_the_table() -> None:
    q = quiz_stats([[float(v) for v in r] for r in TABLE])
    assert q.reliability == pytest.approx(28 / 51)
    assert q.mean == pytest.approx(2.2 / 4 * 100)
    assert (q.attempts, q.slots) == (5, 4)


def test_random_draws_count_only_the_attempts_that_saw_the_item() -> None:
    rows = [{"a": 1.0, "b": 0.5}, {"a": 0.0, "c": 1.0}, {"b": 1.0, "c": 0.0}]
    stats = {s.item: s for s in item_stats(rows)}
    assert (stats["a"].attempts, stats["a"].facility) == (2, 50.0)
    assert stats["b"].facility == 75.0
    # two points, item and rest vary: r is ±1
    assert stats["a"].discrimination == pytest.approx(-1.0)


def test_no_variance_gives_no_coefficient() -> None:
    assert pearson([1, 1, 1], [0, 1, 2]) is None
    assert quiz_stats([[1.0, 1.0], [1.0, 1.0]]).reliability is None
    assert quiz_stats([]).attempts == 0
