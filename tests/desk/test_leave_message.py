"""Issue 17, lifecycle: with nobody online the customer can leave their waiting chat as a
message — it becomes a web ticket answered in turn under the ticket SLA, leaves the waiting-chat
queue, and both sides see a line saying so; nobody else's chat and no taken chat can be moved."""

from __future__ import annotations

from tests.conftest import login
from tests.desk.test_chat_sla import _chat_policy


def _chat(client, headers, body="晚上好，出金还没到账"):
    r = client.post("/api/v1/chats", headers=headers, json={"body": body})
    assert r.status_code == 201, r.text
    return r.json()["case_id"]


def test_a_waiting_chat_left_as_a_message_becomes_a_ticket(client, seed, database):
    with database.session() as s:
        _chat_policy(s)  # chats are due in 3 minutes, tickets (the seed's policy) in 4 hours
    alice, bob, agent = login(client, "alice"), login(client, "bob"), login(client, "agent1")
    cid = _chat(client, alice)
    before = client.get(f"/api/v1/cases/{cid}", headers=agent).json()

    # another customer may not touch it; it is not theirs
    assert client.post(f"/api/v1/cases/{cid}/leave-message", headers=bob).status_code == 404

    r = client.post(f"/api/v1/cases/{cid}/leave-message", headers=alice)
    assert r.status_code == 200, r.text
    assert r.json()["channel"] == "web"
    after = client.get(f"/api/v1/cases/{cid}", headers=agent).json()
    assert after["channel"] == "web"
    # the chat SLA's minutes no longer apply: the ticket SLA's first-response target is later
    due = after["sla"]["first_response"]["due"]
    assert due is not None and due > before["sla"]["first_response"]["due"]
    # it is no longer a waiting chat: no queue position for the customer
    queue = client.get(f"/api/v1/cases/{cid}/queue", headers=alice).json()
    assert queue["position"] == 0
    # both sides read the system line, in the customer's language
    bodies = [m["body"] for m in client.get(f"/api/v1/cases/{cid}/messages", headers=alice).json()]
    assert any(b.startswith("已转为留言工单") for b in bodies), bodies
    # doing it twice is refused with a reason, not a 500
    again = client.post(f"/api/v1/cases/{cid}/leave-message", headers=alice)
    assert again.status_code == 409 and "not a chat" in again.text


def test_a_taken_chat_stays_a_chat(client, seed):
    alice, agent = login(client, "alice"), login(client, "agent1")
    cid = _chat(client, alice, "你好")
    r = client.patch(f"/api/v1/cases/{cid}", headers=agent, json={"assignee_id": seed.agent1})
    assert r.status_code == 200, r.text
    r = client.post(f"/api/v1/cases/{cid}/leave-message", headers=alice)
    assert r.status_code == 409 and "taken" in r.text
    assert client.get(f"/api/v1/cases/{cid}", headers=agent).json()["channel"] == "chat"
