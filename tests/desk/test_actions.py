"""The desk's state changes are actions: each is on record, assignment announces itself the same
way however it happens, refusals survive the failed request, and reads never write."""

from __future__ import annotations

from collections.abc import AsyncIterator

from sqlalchemy import func, select

from kefu.core.audit import AuditEntry
from kefu.core.events import Event, get_broker, set_broker
from kefu.core.security import User
from kefu.desk import service as desk
from kefu.desk.models import AgentProfile, CaseStatus
from tests.conftest import login


class Recorder:
    def __init__(self) -> None:
        self.published: list[tuple[str, Event]] = []

    def publish(self, topic: str, event: Event) -> None:
        self.published.append((topic, event))

    def subscribe(self, topics: list[str]) -> AsyncIterator[Event]:  # pragma: no cover
        raise NotImplementedError


def _entries(s, action: str, entity_id: int) -> list[AuditEntry]:
    return list(
        s.scalars(
            select(AuditEntry)
            .where(AuditEntry.action == action, AuditEntry.entity_id == str(entity_id))
            .order_by(AuditEntry.id)
        )
    )


def test_a_customer_reply_that_reopens_a_case_is_on_record(database, seed):
    with database.session() as s:
        alice = s.get(User, seed.alice_user)
        agent = s.get(User, seed.agent1)
        case = desk.create_case(
            s, actor=alice, subject="出金", category="funds", body="钱没到", auto_assign=False
        )
        desk.set_case_status(s, actor=agent, case_id=case.id, status="pending")
        case_id = case.id
    with database.session() as s:
        alice = s.get(User, seed.alice_user)
        desk.post_message(s, actor=alice, case_id=case_id, body="我补充了银行回单")
    with database.session() as s:
        changes = [e.data for e in _entries(s, "case.update", case_id)]
        assert {"old": {"status": "pending"}, "new": {"status": "open"}} in changes
        reopen = next(
            e for e in _entries(s, "case.update", case_id) if e.data["new"]["status"] == "open"
        )
        assert reopen.actor_id == seed.alice_user


def test_automatic_assignment_refreshes_the_waiting_customer(database, seed):
    """All three ways of assigning emit the case's own event, so the customer's banner updates."""
    rec = Recorder()
    old = get_broker()
    set_broker(rec)
    try:
        with database.session() as s:
            agent = s.get(User, seed.agent1)
            desk.set_presence(s, actor=agent, presence="online")
        with database.session() as s:
            alice = s.get(User, seed.alice_user)
            case = desk.create_case(s, actor=alice, subject="登录不了", category="technical")
            case_id = case.id
            assert case.assignee_id == seed.agent1
    finally:
        set_broker(old)
    case_events = [e for t, e in rec.published if t == f"case:{case_id}"]
    assert any(e.get("changes", {}).get("assignee_id") == seed.agent1 for e in case_events)
    assert f"user:{seed.agent1}" in [t for t, _ in rec.published]
    with database.session() as s:
        (entry,) = _entries(s, "case.assign", case_id)
        assert entry.data["how"] == "auto" and entry.data["new"] == {"assignee_id": seed.agent1}


def test_a_blocked_reply_is_on_record_though_the_request_fails(client, seed, database):
    alice, agent = login(client, "alice"), login(client, "agent1")
    cid = client.post(
        "/api/v1/cases", headers=alice, json={"subject": "收益", "category": "trading"}
    ).json()["id"]
    r = client.post(
        f"/api/v1/cases/{cid}/messages",
        headers=agent,
        json={"body": "放心买，保证年化收益20%，稳赚不赔"},
    )
    assert r.status_code == 422 or r.status_code == 409 or r.status_code == 403, r.text
    with database.session() as s:
        (entry,) = _entries(s, "guard.block", cid)
        assert entry.actor_id == seed.agent1
        assert entry.data["findings"]
        # nothing was delivered
        msgs = client.get(f"/api/v1/cases/{cid}/messages", headers=alice).json()
        assert all("稳赚" not in m["body"] for m in msgs)


def test_reading_statuses_writes_nothing(client, seed, database):
    agent = login(client, "agent1")
    with database.session() as s:
        before = s.scalar(select(func.count()).select_from(CaseStatus))
        profiles = s.scalar(select(func.count()).select_from(AgentProfile))
    r = client.get("/api/v1/statuses", headers=agent)
    assert r.status_code == 200
    assert [x["key"] for x in r.json()][:6] == [
        "new",
        "open",
        "pending",
        "on_hold",
        "resolved",
        "closed",
    ]
    with database.session() as s:
        assert s.scalar(select(func.count()).select_from(CaseStatus)) == before
        assert s.scalar(select(func.count()).select_from(AgentProfile)) == profiles


def test_read_only_staff_do_not_move_the_agents_read_receipt(database, seed):
    with database.session() as s:
        from tests.conftest import make_user

        trainer_id = make_user(s, "trainer", "trainer")
        alice = s.get(User, seed.alice_user)
        case = desk.create_case(
            s, actor=alice, subject="出金", category="funds", body="钱没到", auto_assign=False
        )
        last = case.last_seq and max(m.id for m in case.messages)
        case_id = case.id
    with database.session() as s:
        for uid in (seed.compliance, trainer_id):
            out = desk.mark_read(s, actor=s.get(User, uid), case_id=case_id, message_id=last)
            assert out["message_id"] == 0
        out = desk.mark_read(s, actor=s.get(User, seed.agent1), case_id=case_id, message_id=last)
        assert out["message_id"] == last
