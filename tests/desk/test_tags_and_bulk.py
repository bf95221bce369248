"""Tags and bulk work: an agent labels cases, the queue filters by a label, a selection of cases
changes in one go with an audit entry per case, one refused case refuses the whole selection, and
customers never receive the labels."""

from __future__ import annotations

from sqlalchemy import func, select

from kefu.core import audit
from kefu.core.security import User
from kefu.desk import service as desk
from tests.conftest import login


def _case(database, seed, customer: str = "alice", subject: str = "出金没到账") -> int:
    with database.session() as s:
        return desk.create_case(
            s, actor=s.get(User, seed.agent1), customer_id=getattr(seed, customer),
            channel="web", subject=subject, category="funds", auto_assign=False,
        ).id  # fmt: skip


def test_tags_are_normalised_filtered_and_hidden_from_the_customer(client, database, seed):
    cid, other = _case(database, seed), _case(database, seed, subject="改手机号")
    agent = login(client, "agent1")
    r = client.post(f"/api/v1/cases/{cid}/tags", headers=agent, json={"add": ["VIP", " 退款 "]})
    assert r.status_code == 200, r.text
    assert r.json()["tags"] == ["vip", "退款"]
    listed = client.get("/api/v1/cases", headers=agent, params={"tag": "VIP"}).json()["items"]
    assert [c["id"] for c in listed] == [cid] and other not in [c["id"] for c in listed]
    r = client.post(f"/api/v1/cases/{cid}/tags", headers=agent, json={"remove": ["vip"]})
    assert r.json()["tags"] == ["退款"]
    alice = login(client, "alice")
    assert client.get(f"/api/v1/cases/{cid}", headers=alice).json()["tags"] == []
    assert all(c["tags"] == [] for c in client.get("/api/v1/cases", headers=alice).json()["items"])


def test_a_tag_the_desk_cannot_store_is_refused_by_name(client, database, seed):
    cid = _case(database, seed)
    agent = login(client, "agent1")
    r = client.post(f"/api/v1/cases/{cid}/tags", headers=agent, json={"add": ["two words"]})
    assert r.status_code == 422 and "two words" in r.json()["detail"], r.text
    assert client.get(f"/api/v1/cases/{cid}", headers=agent).json()["tags"] == []


def test_bulk_changes_every_case_with_an_entry_each(client, database, seed):
    ids = [_case(database, seed) for _ in range(3)]
    sup = login(client, "supervisor")
    with database.session() as s:
        before = s.scalar(select(func.count(audit.AuditEntry.id)))
    r = client.post(
        "/api/v1/cases/bulk",
        headers=sup,
        json={
            "case_ids": ids,
            "priority": "high",
            "assignee_id": seed.agent2,
            "add_tags": ["批量"],
        },
    )
    assert r.status_code == 200, r.text
    for c in r.json()["items"]:
        assert (c["priority"], c["assignee_id"], c["tags"]) == ("high", seed.agent2, ["批量"])
    with database.session() as s:
        entries = s.scalar(select(func.count(audit.AuditEntry.id))) - before
    assert entries >= 9  # priority, assignment and tags: one entry per case and change


def test_one_case_the_actor_may_not_see_refuses_the_whole_selection(client, database, seed):
    mine = _case(database, seed)
    agent = login(client, "agent1")
    r = client.post(
        "/api/v1/cases/bulk",
        headers=agent,
        json={"case_ids": [mine, 999_999], "priority": "urgent"},
    )
    assert r.status_code == 404 and "999999" in r.json()["detail"], r.text
    assert client.get(f"/api/v1/cases/{mine}", headers=agent).json()["priority"] == "normal"
    r = client.post("/api/v1/cases/bulk", headers=agent, json={"case_ids": [mine]})
    assert r.status_code == 422 and "nothing to change" in r.json()["detail"], r.text
