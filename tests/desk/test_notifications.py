"""The desk's notifications: an agent's socket subscribed to their feed hears of a chat waiting
for an agent, of a case assigned to them by someone else and of the customer's reply on it;
customers cannot subscribe."""

from __future__ import annotations

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.api.test_chat_socket import _socket, _start, _token, _until
from tests.conftest import login


def test_agents_hear_of_new_chats_assignments_and_replies(client, seed):
    alice, sup = login(client, "alice"), login(client, "supervisor")
    client.cookies.clear()
    with _socket(client, _token(client, "agent1")) as aws:
        client.cookies.clear()
        aws.send_json({"type": "hello", "feed": "alerts"})
        aws.send_json({"type": "ping"})
        _until(aws, "pong")  # frames are handled in order: the feed is subscribed
        cid = _start(client, alice, body="提现到哪一步了？")  # nobody online: it waits
        alert = _until(aws, "alert")
        assert (alert["kind"], alert["case_id"], alert["channel"]) == ("new_chat", cid, "chat")
        r = client.patch(f"/api/v1/cases/{cid}", headers=sup, json={"assignee_id": seed.agent1})
        assert r.status_code == 200, r.text
        assert (_until(aws, "alert")["kind"], cid) == ("assigned", cid)
        r = client.post(f"/api/v1/cases/{cid}/messages", headers=alice, json={"body": "还在吗"})
        assert r.status_code == 201, r.text
        reply = _until(aws, "alert")
        assert (reply["kind"], reply["case_id"]) == ("reply", cid)
    with _socket(client, _token(client, "alice")) as cws:
        cws.send_json({"type": "hello", "feed": "alerts"})
        with pytest.raises(WebSocketDisconnect) as closed:
            cws.receive_json()
        assert closed.value.code == 4403
