"""Product-knowledge updates: a rule change in the registry (stamp duty halved on 2023-08-28)
becomes an update lesson with a check question for every agent; a wrong answer keeps it
pending, the right one completes it; supervisors see who has not completed it."""

from __future__ import annotations

from datetime import date

import pytest
from sqlalchemy.orm import Session

from kefu.academy import updates
from kefu.core.errors import Forbidden

from .conftest import People


def test_a_rule_change_assigns_every_agent_an_update_with_a_check(
    academy: tuple[Session, People],
) -> None:
    s, people = academy
    result = updates.sync_updates(s, today=date(2023, 9, 1))
    assert result["created"] >= 1
    pending = updates.pending_for(s, viewer=people.trainee)
    stamp = next(u for _, u in pending if u.ref == "stamp_duty@2023-08-28")
    assert "0.05%" in stamp.data["body"]["zh"] and "0.1%" in stamp.data["body"]["zh"]
    assert stamp.data["check"]["text"]["en"].endswith("is still: 0.1%, charged on sells only.")
    assert updates.sync_updates(s, today=date(2023, 9, 1)) == {"created": 0, "assigned": 0}
    # the trainer is not an agent: no assignment
    assert updates.pending_for(s, viewer=people.trainer) == []
    row = updates.answer_update(s, actor=people.trainee, update_id=stamp.id, answer="true")
    assert row.correct is False and row.completed_at is None
    row = updates.answer_update(s, actor=people.trainee, update_id=stamp.id, answer="false")
    assert row.correct is True and row.completed_at is not None
    assert all(u.id != stamp.id for _, u in updates.pending_for(s, viewer=people.trainee))
    table = {c["update"].ref: c for c in updates.completion(s, viewer=people.supervisor)}
    missing = {u.username for u in table["stamp_duty@2023-08-28"]["missing"]}
    assert "trainee1" not in missing and {"mentor1", "agent9"} <= missing
    with pytest.raises(Forbidden):
        updates.completion(s, viewer=people.agent)
