"""The queue's filters read through indexes at scale (bench/desk.py) and still answer exactly:
several statuses at once (one index walk per status, merged) come in the queue's order and page
without gaps or repeats; a date range holds exactly the cases created in it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from kefu.core.errors import ValidationFailed
from kefu.core.security import User
from kefu.desk import service as desk

START = datetime(2026, 3, 2, 9, 0, tzinfo=UTC)
STATUSES = ["resolved", "closed", "open", "pending", "closed", "resolved", "open", "closed"]


@pytest.fixture
def cases(database, seed):
    """Twenty-four cases a day apart, in mixed statuses, some of them open with deadlines."""
    ids = []
    with database.session() as s:
        agent = s.get(User, seed.agent1)
        for i in range(24):
            case = desk.create_case(
                s,
                actor=agent,
                customer_id=seed.alice if i % 2 else seed.bob,
                channel="web",
                subject=f"队列 {i}",
                category="funds",
                priority=["urgent", "normal", "low"][i % 3],
                created_at=START + timedelta(days=i),
                auto_assign=False,
            )
            desk.set_case_status(s, actor=agent, case_id=case.id, status=STATUSES[i % 8])
            ids.append(case.id)
    return ids


def _queue_order(c):
    return (c.next_due_at is None, c.next_due_at or datetime.max.replace(tzinfo=UTC), c.id)


def test_several_statuses_come_in_queue_order_and_page_cleanly(database, seed, cases):
    with database.session() as s:
        agent = s.get(User, seed.agent1)
        every = desk.list_cases(s, viewer=agent, limit=200)
        expected = [
            c.id
            for c in sorted(every, key=_queue_order)
            if c.status_category in ("resolved", "closed")
        ]
        assert len(expected) == 15
        got = [c.id for c in desk.list_cases(s, viewer=agent, status_category="resolved,closed")]
        assert got == expected
        pages = [
            c.id
            for off in (0, 4, 8, 12)
            for c in desk.list_cases(
                s, viewer=agent, status_category="closed,resolved", limit=4, offset=off
            )
        ]
        assert pages == expected
        # the open ones with a deadline lead, as in the queue of one status
        mixed = desk.list_cases(s, viewer=agent, status_category="open,resolved", limit=5)
        assert mixed[0].status_category == "open" and mixed[0].next_due_at is not None


def test_a_date_range_holds_exactly_the_cases_created_in_it(database, seed, cases):
    with database.session() as s:
        agent = s.get(User, seed.agent1)
        week = desk.list_cases(
            s,
            viewer=agent,
            created_from=START + timedelta(days=3),
            created_to=START + timedelta(days=10),
        )
        assert sorted(c.id for c in week) == cases[3:10]
        assert [c.id for c in week] == [c.id for c in sorted(week, key=_queue_order)]
        # a long range reads the queue in its index order: the same kind of answer
        year = desk.list_cases(
            s,
            viewer=agent,
            created_from=START - timedelta(days=300),
            created_to=START + timedelta(days=10),
        )
        assert sorted(c.id for c in year) == cases[:10]
        assert [c.id for c in year] == [c.id for c in sorted(year, key=_queue_order)]


@pytest.mark.parametrize("assignee", ["9" * 18, str(2**31), "12a", "²"])
def test_an_assignee_that_is_no_user_id_is_refused_by_name(database, seed, assignee):
    """The service refuses it itself (a caller other than the HTTP view gets the same clear
    error), before a number too big for the column reaches the database."""
    with database.session() as s:
        agent = s.get(User, seed.agent1)
        with pytest.raises(ValidationFailed) as caught:
            desk.list_cases(s, viewer=agent, assignee=assignee)
    assert "assignee" in str(caught.value.fields)
