"""Issue 17, lifecycle: with every agent offline, a customer who starts a chat is told that
nobody is online (no made-up queue position and wait) and their message stays in the case to be
answered later; an agent going online picks the waiting chat up and the customer hears it."""

from __future__ import annotations

import json

from tests.api.test_chat_socket import _socket, _token, _until
from tests.conftest import login


def test_nobody_online_is_said_and_the_message_waits_in_the_case(client, seed):
    alice, agent = login(client, "alice"), login(client, "agent1")
    client.cookies.clear()
    r = client.post("/api/v1/chats", headers=alice, json={"body": "晚上好，出金还没到账"})
    assert r.status_code == 201, r.text
    cid, queue = r.json()["case_id"], r.json()["queue"]
    # the seed starts everyone offline: the customer learns that, not a wait estimate
    assert queue["agents_online"] == 0 and queue["assigned"] is False
    assert client.get(f"/api/v1/cases/{cid}/queue", headers=alice).json()["agents_online"] == 0
    # the portal's chat script has the sentence for it, in the customer's language
    client.post("/login", data={"username": "alice", "password": "kefu-demo"})
    page = client.get(f"/cases/{cid}")
    config = json.loads(page.text.split('id="kefu-config">', 1)[1].split("</script>", 1)[0])
    assert config["text"]["queueNobody"].startswith("现在没有客服在线")
    assert "晚上好，出金还没到账" in page.text
    client.cookies.clear()

    with _socket(client, _token(client, "alice")) as ws:
        client.cookies.clear()
        ws.send_json({"type": "hello", "case_id": cid, "last_seen": 0})
        assert _until(ws, "queue")["agents_online"] == 0
        # an agent comes online: the waiting chat is theirs, and the customer's socket hears it
        r = client.put("/api/v1/agents/me/presence", headers=agent, json={"presence": "online"})
        assert r.status_code == 200, r.text
        for _ in range(12):
            frame = ws.receive_json()
            if frame["type"] == "case" and frame["case"]["assignee_id"] == seed.agent1:
                break
        else:
            raise AssertionError("the customer never heard that an agent took the chat")
    # the message they left is in the case the agent now works
    msgs = client.get(f"/api/v1/cases/{cid}/messages", headers=agent).json()
    assert msgs[0]["body"] == "晚上好，出金还没到账"
