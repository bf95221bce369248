"""No tipping off: an agent sees a neutral flag and never the alert, over REST, the desk page
and the chat socket. Its own module with a fresh database and app (the root fixtures): the
socket's hub tasks use the database from the app's thread, which the rolled-back transaction of
test_feeds_and_cases.py's tests cannot share."""

from __future__ import annotations

import json

from tests.aml.test_feeds_and_cases import _post, _transfer
from tests.conftest import login


def test_agents_see_a_neutral_flag_and_never_the_alert(client, seed, database):
    """No tipping off, checked on the wire: the agent's REST answers, desk page and socket
    frames around the alert carry no alert data."""
    ah = login(client, "alice")
    client.cookies.clear()
    cid = client.post("/api/v1/chats", headers=ah, json={"body": "你好", "category": "funds"})
    case_id = cid.json()["case_id"]
    agent_token = login(client, "agent1")["Authorization"][7:]
    client.cookies.clear()
    words = ("large_cash", "大额现金", "aml", "预警", "alert", "可疑", "suspicious", "50000")
    with client.websocket_connect("/ws") as ws:
        ws.send_json({"type": "auth", "token": agent_token})
        ws.send_json({"type": "hello", "case_id": case_id, "last_seen": 0})
        frames = [ws.receive_json()]
        r = _post(
            client,
            login(client, "admin"),
            "transfers",
            [_transfer("F1", "2026-12-04T09:00:00+08:00", "50000")],
        )
        client.cookies.clear()
        assert r.json()["alerts_raised"] == 1
        ws.send_json({"type": "send", "case_id": case_id, "body": "您好", "key": "k1"})
        while frames[-1].get("type") != "ack":
            frames.append(ws.receive_json())
    wire = json.dumps(frames, ensure_ascii=False).lower()
    assert not [w for w in words if w in wire]
    bearer = {"Authorization": f"Bearer {agent_token}"}
    for url in (f"/api/v1/customers/{seed.alice}", f"/api/v1/cases/{case_id}"):
        body = client.get(url, headers=bearer).text.lower()
        assert not [w for w in words[:7] if w in body], url
    assert client.get("/api/v1/aml/alerts", headers=bearer).status_code == 403
    client.post("/login", data={"username": "agent1", "password": "kefu-demo"})
    page = client.get(f"/desk/cases/{case_id}", headers={"Accept": "text/html"}).text
    assert "请按标准流程处理" in page
    assert not [w for w in ("large_cash", "大额现金", "预警", "反洗钱") if w in page]
