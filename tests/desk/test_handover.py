"""Handing a chat to an agent who is offline, or already at capacity, would leave the customer
waiting: it is refused with a question (409, needs_confirm) and goes through once confirmed."""

from __future__ import annotations

from tests.conftest import login


def _chat(client, alice) -> int:
    r = client.post("/api/v1/chats", headers=alice, json={"body": "你好，想问一下融资利率"})
    assert r.status_code == 201, r.text
    return int(r.json()["case_id"])


def _hand(client, headers, cid: int, to: int, **extra):
    return client.post(
        f"/api/v1/cases/{cid}/handover", headers=headers, json={"to_user_id": to, **extra}
    )


def test_an_offline_agent_needs_a_confirmation(client, seed):
    alice, agent1 = login(client, "alice"), login(client, "agent1")
    client.cookies.clear()
    cid = _chat(client, alice)
    refused = _hand(client, agent1, cid, seed.agent2)
    assert refused.status_code == 409
    body = refused.json()
    assert body["needs_confirm"] is True and body["reason"] == "offline"
    assert "不在线" in body["detail"]  # agent1 works in Chinese
    case = client.get(f"/api/v1/cases/{cid}", headers=agent1).json()
    assert case["assignee_id"] != seed.agent2  # nothing changed
    done = _hand(client, agent1, cid, seed.agent2, confirm=True)
    assert done.status_code == 200 and done.json()["assignee_id"] == seed.agent2


def test_a_full_agent_needs_a_yes_and_one_with_room_takes_it_at_once(client, seed):
    alice, agent2 = login(client, "alice"), login(client, "agent2")
    boss, agent1 = login(client, "supervisor"), login(client, "agent1")
    client.cookies.clear()
    r = client.put("/api/v1/agents/me/presence", headers=agent2, json={"presence": "online"})
    assert r.status_code == 200, r.text
    # the router gives agent2 chats up to the seed's capacity of 3
    taken = [_chat(client, alice) for _ in range(3)]
    for cid in taken:
        assert client.get(f"/api/v1/cases/{cid}", headers=boss).json()["assignee_id"] == seed.agent2
    waiting = _chat(client, alice)
    full = _hand(client, boss, waiting, seed.agent2)
    assert full.status_code == 409 and full.json()["reason"] == "full"
    assert "3/3" in full.json()["detail"]
    # an online agent with room takes a chat without being asked
    client.put("/api/v1/agents/me/presence", headers=agent1, json={"presence": "online"})
    moved = _hand(client, boss, taken[0], seed.agent1)
    assert moved.status_code == 200 and moved.json()["assignee_id"] == seed.agent1
    # and the supervisor may still overload agent2 on purpose
    assert _hand(client, boss, waiting, seed.agent2, confirm=True).status_code == 200
