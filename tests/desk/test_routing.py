"""Round-robin assignment with caps and skills; queue estimates."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime, timedelta

from kefu.desk.routing import AgentSlot, choose_agent, expected_wait_minutes

T0 = datetime(2026, 11, 24, 1, 0, tzinfo=UTC)


def slot(i, presence="online", open_cases=0, capacity=3, langs=("zh",), cats=("funds",), last=None):
    return AgentSlot(i, presence, open_cases, capacity, frozenset(langs), frozenset(cats), last)


def simulate(agents, n, language="zh", category="funds"):
    agents = {a.agent_id: a for a in agents}
    got = []
    for k in range(n):
        chosen = choose_agent(list(agents.values()), language=language, category=category)
        got.append(chosen)
        if chosen is not None:
            a = agents[chosen]
            agents[chosen] = replace(
                a, open_cases=a.open_cases + 1, last_assigned_at=T0 + timedelta(minutes=k)
            )
    return got, agents


def test_round_robin_spreads_evenly():
    got, agents = simulate([slot(1, capacity=10), slot(2, capacity=10), slot(3, capacity=10)], 9)
    assert got[:3] == [1, 2, 3] and all(a.open_cases == 3 for a in agents.values())


def test_capacity_is_never_exceeded():
    got, agents = simulate([slot(1, capacity=2), slot(2, capacity=1)], 5)
    assert got.count(1) == 2 and got.count(2) == 1 and got[3:] == [None, None]
    assert all(a.open_cases <= a.capacity for a in agents.values())


def test_language_is_hard_category_is_soft():
    agents = [
        slot(1, langs=("zh",), cats=("funds",)),
        slot(2, langs=("en", "zh"), cats=("trading",)),
    ]
    assert choose_agent(agents, language="en", category="funds") == 2
    assert choose_agent(agents, language="zh", category="funds") == 1
    assert choose_agent(agents, language="ja", category="funds") is None


def test_away_and_offline_agents_get_nothing():
    assert (
        choose_agent([slot(1, "away"), slot(2, "offline")], language="zh", category="funds") is None
    )


def test_expected_wait():
    assert expected_wait_minutes(1, 2, 6.0) == 3
    assert expected_wait_minutes(5, 0, 6.0) == 30
