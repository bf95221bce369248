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


def test_a_hand_over_note_is_masked_at_rest_and_for_staff_who_may_not_reveal(
    client, seed, database
):
    """A hand-over note is an internal note like any other: its phone and ID numbers are stored
    masked (the words sealed for its author) and a trainee reads them masked."""
    from sqlalchemy import text

    from tests.conftest import make_user

    with database.session() as s:
        make_user(s, "trainee", "agent", is_trainee=True)
    alice, agent1 = login(client, "alice"), login(client, "agent1")
    trainee = login(client, "trainee")
    client.cookies.clear()
    cid = _chat(client, alice)
    phone, id_number = "13812345678", "11010519491231002X"
    note = f"客户手机 {phone}，身份证 {id_number}，已核实身份"
    done = _hand(client, agent1, cid, seed.agent2, confirm=True, note=note)
    assert done.status_code == 200, done.text
    with database.engine.connect() as conn:
        stored = "\n".join(
            repr(tuple(r))
            for r in conn.execute(text("SELECT * FROM messages WHERE case_id = :c"), {"c": cid})
        )
    assert phone not in stored and id_number not in stored and "5678" in stored
    seen = client.get(f"/api/v1/cases/{cid}", headers=trainee).json()["messages"]
    (noted,) = [m for m in seen if m["kind"] == "note"]
    assert phone not in noted["body"] and "138****5678" in noted["body"]
    mine = client.get(f"/api/v1/cases/{cid}", headers=agent1).json()["messages"]
    assert any(m["kind"] == "note" and m["body"] == note for m in mine)  # the author's words
    theirs = client.get(f"/api/v1/cases/{cid}", headers=alice).json()["messages"]
    assert all(m["kind"] != "note" for m in theirs)
