"""Events leave only at the outermost commit; actions cannot skip their audit entry; refusals
stay on record when the request fails. Runs on SQLite and on PostgreSQL."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from enum import StrEnum
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.core import actions, audit
from kefu.core.audit import AuditEntry
from kefu.core.events import Event, emit, get_broker, pending_events, set_broker
from kefu.core.security import User


class Recorder:
    """A broker that remembers what was published (and can run a check at publish time)."""

    def __init__(self, on_publish: Any = None) -> None:
        self.published: list[tuple[str, Event]] = []
        self.on_publish = on_publish

    def publish(self, topic: str, event: Event) -> None:
        if self.on_publish is not None:
            self.on_publish(topic, event)
        self.published.append((topic, event))

    def subscribe(self, topics: list[str]) -> AsyncIterator[Event]:  # pragma: no cover
        raise NotImplementedError


@pytest.fixture
def recorder() -> Iterator[Recorder]:
    old = get_broker()
    rec = Recorder()
    set_broker(rec)
    try:
        yield rec
    finally:
        set_broker(old)


def _topics(rec: Recorder) -> list[str]:
    return [t for t, _ in rec.published]


def test_nothing_is_published_before_the_outer_commit(database, recorder):
    with database.session() as s:
        s.execute(select(1))
        emit(s, "a", {"n": 1})
        with s.begin_nested():
            emit(s, "b", {"n": 2})
        # the savepoint was released: that is not a commit anyone else can see
        assert recorder.published == []
        with s.begin_nested():
            emit(s, "c", {"n": 3})
        assert recorder.published == []
        assert [t for t, _ in pending_events(s)] == ["a", "b", "c"]
    assert _topics(recorder) == ["a", "b", "c"]


def test_a_rolled_back_savepoint_drops_only_its_own_events(database, recorder):
    with database.session() as s:
        s.execute(select(1))
        emit(s, "before", {})
        with pytest.raises(ValueError), s.begin_nested():
            emit(s, "inside", {})
            raise ValueError("refused")
        with s.begin_nested():
            emit(s, "outer-sp", {})
            with pytest.raises(ValueError), s.begin_nested():
                emit(s, "inner-sp", {})
                raise ValueError("refused")
        emit(s, "after", {})
    assert _topics(recorder) == ["before", "outer-sp", "after"]


def test_an_outer_rollback_drops_everything(database, recorder):
    with pytest.raises(RuntimeError), database.session() as s:
        s.execute(select(1))
        emit(s, "x", {})
        with s.begin_nested():
            emit(s, "y", {})
        raise RuntimeError("request failed")
    assert recorder.published == []
    # and the next unit of work starts clean
    with database.session() as s:
        s.execute(select(1))
        emit(s, "z", {})
    assert _topics(recorder) == ["z"]


def test_a_subscriber_that_reads_the_message_always_finds_it(database, seed):
    """post_message writes inside a SAVEPOINT; the event must wait for the outer COMMIT, so a
    listener on another connection (as the hub loads slim PostgreSQL events) sees the row."""
    from kefu.desk import service as desk
    from kefu.desk.models import Message

    seen: list[bool] = []

    def check(topic: str, event: Event) -> None:
        if event.get("type") == "message":
            with database.sessions() as other:
                seen.append(other.get(Message, event["message_id"]) is not None)

    old = get_broker()
    set_broker(Recorder(on_publish=check))
    try:
        for i in range(5):
            with database.session() as s:
                alice = s.get(User, seed.alice_user)
                if i == 0:
                    case = desk.create_case(
                        s,
                        actor=alice,
                        subject="入金未到账",
                        category="funds",
                        body="昨天转的钱还没到",
                        auto_assign=False,
                    )
                    case_id = case.id
                desk.post_message(s, actor=alice, case_id=case_id, body=f"第{i}次追问")
    finally:
        set_broker(old)
    assert seen and all(seen), seen


class _Probe(StrEnum):
    touched = "probe.touched"


def test_an_action_without_its_audit_entry_fails_loudly(database, seed):
    @actions.action
    def forgetful(db: Session, *, actor: User) -> None:
        actor.display_name = "changed without a trace"

    @actions.action
    def careful(db: Session, *, actor: User) -> None:
        actor.display_name = "changed on record"
        audit.record(db, actor_id=actor.id, action=_Probe.touched, entity="user", entity_id=1)

    @actions.action
    def wraps_another(db: Session, *, actor: User) -> None:
        careful(db, actor=actor)  # the nested action's entry is not this one's

    @actions.action
    def idle(db: Session, *, actor: User) -> None:
        actions.unchanged(db)

    with database.session() as s:
        admin = s.get(User, seed.admin)
        with pytest.raises(actions.MissingAudit, match="forgetful"):
            forgetful(s, actor=admin)
        careful(s, actor=admin)
        with pytest.raises(actions.MissingAudit, match="wraps_another"):
            wraps_another(s, actor=admin)
        idle(s, actor=admin)
        s.rollback()


def test_a_refusal_stays_on_record_when_the_request_rolls_back(database, seed):
    def count(s: Session) -> int:
        return int(
            s.scalar(
                select(func.count()).select_from(AuditEntry).where(AuditEntry.action == "probe.x")
            )
            or 0
        )

    class Refusal(StrEnum):
        x = "probe.x"

    with pytest.raises(PermissionError), database.session() as s:
        s.execute(select(1))
        s.get(User, seed.admin).display_name = "rolled back"  # a pending write
        actions.record_refusal(
            s, actor_id=seed.admin, action=Refusal.x, entity="user", entity_id=seed.admin
        )
        raise PermissionError("refused")
    with database.session() as s:
        assert count(s) == 1
        assert s.get(User, seed.admin).display_name == "admin"
        assert audit.verify(s).ok


def test_a_request_session_refuses_writes_outside_an_action(database, seed):
    """The web app's and the socket's sessions are actions_only: a view that writes directly
    fails instead of changing state without an audit entry."""

    @actions.action
    def rename(db: Session, *, actor: User, name: str) -> None:
        actor.display_name = name
        audit.record(db, actor_id=actor.id, action=_Probe.touched, entity="user", entity_id=1)

    with database.sessions() as s:
        actions.actions_only(s)
        admin = s.get(User, seed.admin)
        rename(s, actor=admin, name="renamed on record")
        s.commit()
        admin.display_name = "renamed behind the log's back"
        with pytest.raises(actions.OutsideAction, match="User"):
            s.commit()
        s.rollback()
    with database.sessions() as s:
        assert s.get(User, seed.admin).display_name == "renamed on record"
