"""The AML engine: every planted pattern found, no near miss, nothing in the background; and
each rule worked by hand."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import polars as pl
import pytest

from kefu.aml.content import load_policy
from kefu.aml.monitor import (
    CUSTOMER_SCHEMA,
    RULES,
    TXN_SCHEMA,
    Alert,
    Policy,
    PolicyError,
    alerts,
    from_units,
    to_units,
)
from kefu.knowledge import service as knowledge
from tests.aml import scenarios
from tests.aml.scenarios import local

POLICY = load_policy()


@pytest.fixture(scope="module")
def scenario_alerts() -> tuple[scenarios.Scenario, list[Alert]]:
    s = scenarios.build()
    c, t = scenarios.frames(s)
    return s, alerts(c, t, POLICY)  # type: ignore[arg-type]


def test_every_planted_pattern_is_found(scenario_alerts):
    s, found = scenario_alerts
    assert len(s.positives) >= 14
    for exp in s.positives:
        mine = [a for a in found if a.rule == exp.rule and a.customer_id == exp.customer_id]
        assert mine, f"{exp.rule} not raised for {exp.customer_id}: {exp.why}"
        assert any(exp.txn_ids <= set(a.txn_ids) for a in mine), (exp, mine)


def test_no_near_miss_and_no_background_alert(scenario_alerts):
    s, found = scenario_alerts
    assert len(s.near_misses) >= 20 and len(s.txns) > 20_000
    raised = {(a.rule, a.customer_id) for a in found}
    wrong = [e for e in s.near_misses if (e.rule, e.customer_id) in raised]
    assert not wrong, [e.why for e in wrong]
    assert not [a for a in found if a.customer_id in s.background]


def test_every_rule_is_planted(scenario_alerts):
    s, _ = scenario_alerts
    assert {e.rule for e in s.positives} == set(RULES)
    assert {e.rule for e in s.near_misses} == set(RULES)


# --- hand-worked examples, one rule at a time ---------------------------------------------


def run(rows: list[tuple], people: list[tuple[str, str, str]] | None = None) -> list[Alert]:
    cols = ["txn_id", "customer_id", "ts", "kind", "amount", "method", "counterparty_name"]
    recs = []
    for r in rows:
        d = dict(zip(cols, (*r, None, None)[: len(cols)], strict=False))
        d["amount"] = to_units(Decimal(d["amount"]))
        recs.append(d)
    people = people or [("c1", "张三", "individual")]
    c = pl.DataFrame(
        {
            "customer_id": [p[0] for p in people],
            "name": [p[1] for p in people],
            "type": [p[2] for p in people],
        },
        schema=CUSTOMER_SCHEMA,
    )
    return alerts(c, pl.DataFrame(recs, schema=TXN_SCHEMA), POLICY)


def test_large_cash_sums_one_direction_of_one_shanghai_day():
    # 16:30 UTC on 1 March is 00:30 on 2 March in Shanghai: same local day as 10:00 on 2 March
    got = run(
        [
            ("a", "c1", datetime(2026, 3, 1, 16, 30, tzinfo=UTC), "deposit", "20000", "cash"),
            ("b", "c1", local(2026, 3, 2, 10), "deposit", "30000.00", "cash"),
            ("c", "c1", local(2026, 3, 2, 11), "withdrawal", "49000", "cash"),
        ]
    )
    got = [a for a in got if a.rule == "large_cash"]
    assert [(a.rule, a.txn_ids, a.amount, a.direction) for a in got] == [
        ("large_cash", ("a", "b"), Decimal("50000.00"), "deposit")
    ]
    a = got[0]
    assert a.as_json()["window_start"] == "2026-03-02T00:00:00+08:00"
    assert a.as_json()["window_end"] == "2026-03-03T00:00:00+08:00"
    assert "50,000" in a.explanation["zh"] and "large-value cash" in a.explanation["en"]


def test_large_transfer_threshold_depends_on_the_party():
    people = [("p", "王五", "individual"), ("e", "某某有限公司", "entity")]
    got = run(
        [
            ("a", "p", local(2026, 3, 2), "deposit", "500000", "card"),
            ("b", "e", local(2026, 3, 2), "deposit", "1999999.99", "bank_transfer"),
            ("c", "e", local(2026, 3, 3), "withdrawal", "2000000", "bank_transfer"),
        ],
        people,
    )
    got = [a for a in got if a.rule == "large_transfer"]
    assert [(a.customer_id, a.txn_ids) for a in got] == [("e", ("c",)), ("p", ("a",))]
    assert "2,000,000" in got[0].explanation["zh"] and "entities" in got[0].explanation["en"]


def test_structuring_counts_the_band_in_a_rolling_seven_days():
    t0 = local(2026, 4, 1)
    got = run(
        [
            ("a", "c1", t0, "deposit", "40000", "cash"),  # 80%: in the band
            ("b", "c1", t0 + timedelta(days=2), "deposit", "49999.99", "cash"),
            ("x", "c1", t0 + timedelta(days=3), "deposit", "50000", "cash"),  # at 100%: out
            ("c", "c1", t0 + timedelta(days=6, hours=23), "deposit", "45000", "cash"),
            ("d", "c1", t0 + timedelta(days=8), "deposit", "45000", "cash"),  # joins b and c
            ("e", "c1", t0 + timedelta(days=15), "deposit", "45000", "cash"),  # (d8, d15]: alone
        ]
    )
    st = [a for a in got if a.rule == "structuring"]
    assert [(a.txn_ids, a.amount, a.count) for a in st] == [
        (("a", "b", "c", "d"), Decimal("179999.99"), 4)
    ]


def test_rapid_in_out_needs_eighty_percent_out_and_little_trading():
    t0 = local(2026, 5, 4)
    got = run(
        [
            ("d", "c1", t0, "deposit", "100000", "bank_transfer"),
            ("t", "c1", t0 + timedelta(hours=1), "buy", "5000"),
            ("s", "c1", t0 + timedelta(hours=2), "sell", "4999.99"),
            ("w1", "c1", t0 + timedelta(hours=30), "withdrawal", "40000", "bank_transfer"),
            ("t2", "c1", t0 + timedelta(hours=40), "buy", "50000"),  # after the 80% is reached
            ("w2", "c1", t0 + timedelta(hours=50), "withdrawal", "40000", "bank_transfer"),
        ]
    )
    r = [a for a in got if a.rule == "rapid_in_out"]
    assert [(a.txn_ids, a.amount) for a in r] == []  # t2 falls between: turnover 59,999.99
    got = run(
        [
            ("d", "c1", t0, "deposit", "100000", "bank_transfer"),
            ("t", "c1", t0 + timedelta(hours=1), "buy", "5000"),
            ("s", "c1", t0 + timedelta(hours=2), "sell", "4999.99"),
            ("w1", "c1", t0 + timedelta(hours=30), "withdrawal", "40000", "bank_transfer"),
            ("w2", "c1", t0 + timedelta(hours=50), "withdrawal", "40000", "bank_transfer"),
            ("t2", "c1", t0 + timedelta(hours=60), "buy", "50000"),
        ]
    )
    r = [a for a in got if a.rule == "rapid_in_out"]
    assert [(a.txn_ids, a.amount) for a in r] == [(("d", "w1", "w2"), Decimal("100000.00"))]
    assert "80,000" in r[0].explanation["zh"] and "9,999.99" in r[0].explanation["en"]


def test_third_party_compares_normalised_names():
    people = [("c1", "Li Na", "individual")]
    rows = [
        ("a", "c1", local(2026, 6, 1), "deposit", "100", "bank_transfer", "ＬＩ　ＮＡ"),
        ("b", "c1", local(2026, 6, 1), "deposit", "100", "bank_transfer", " li  na "),
        ("c", "c1", local(2026, 6, 1), "withdrawal", "100", "card", "Li Nan"),
        ("d", "c1", local(2026, 6, 1), "deposit", "100", "cash", ""),
    ]
    got = [a for a in run(rows, people) if a.rule == "third_party_funding"]
    assert [(a.rule, a.txn_ids, a.direction) for a in got] == [
        ("third_party_funding", ("c",), "withdrawal")
    ]


def test_dormant_needs_a_previous_transaction_180_days_back():
    t0 = local(2025, 1, 1)
    got = run(
        [
            ("new", "c1", t0, "deposit", "500000", "bank_transfer"),  # new: not dormant
            ("a", "c1", t0 + timedelta(days=180), "withdrawal", "100000", "bank_transfer"),
            ("b", "c1", t0 + timedelta(days=359), "deposit", "100000", "bank_transfer"),
        ]
    )
    d = [a for a in got if a.rule == "dormant_reactivation"]
    assert [a.txn_ids for a in d] == [("a",)]
    assert "180" in d[0].explanation["zh"]


def test_frequent_trading_counts_buys_and_sells_of_one_day():
    t0 = local(2026, 7, 1, 9)
    rows = [
        (f"t{i}", "c1", t0 + timedelta(minutes=i), ("buy", "sell")[i % 2], "10") for i in range(50)
    ]
    got = run(rows)
    assert [(a.rule, len(a.txn_ids), a.amount) for a in got] == [
        ("frequent_trading", 50, Decimal("500.00"))
    ]
    assert not run(rows[:49])


# --- the policy ---------------------------------------------------------------------------


def test_policy_reads_the_large_value_numbers_from_the_registry():
    reg = knowledge.rules()
    assert from_units(POLICY.cash_threshold) == reg.decimal("aml_large_value.cash")
    assert from_units(POLICY.transfer_threshold_individual) == reg.decimal(
        "aml_large_value.individual_domestic"
    )
    assert from_units(POLICY.transfer_threshold_entity) == reg.decimal(
        "aml_large_value.entity_transfer"
    )
    assert POLICY.report_deadline_working_days == reg.decimal("aml_report_deadline")
    assert "2016" in POLICY.sources["large_cash"]


def test_a_policy_missing_a_field_is_refused_by_name():
    with pytest.raises(PolicyError, match="rule 'large_cash': field 'threshold' is missing"):
        Policy.from_mapping(
            {
                "rules": {
                    r: {"explanation": {"zh": "说明", "en": "why"}, "source": "s"} for r in RULES
                }
            },
            "p.yaml",
        )


def test_local_days_follow_the_zone_rules_before_1992():
    # Shanghai kept summer time in 1986–1991: 15:30 UTC on 1 July 1990 was 00:30 on 2 July
    got = run(
        [
            ("a", "c1", datetime(1990, 7, 1, 15, 30, tzinfo=UTC), "deposit", "30000", "cash"),
            ("b", "c1", datetime(1990, 7, 2, 3, 0, tzinfo=UTC), "deposit", "20000", "cash"),
        ]
    )
    assert [(a.rule, a.txn_ids) for a in got if a.rule == "large_cash"] == [
        ("large_cash", ("a", "b"))
    ]
