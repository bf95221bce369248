"""A case's status follows what happens to it: taking or answering a new case opens it, ending a
chat says so (not that a case was created) and opens a case nobody had touched, and a customer
who writes after a resolve sees the case open again — over REST and on their socket."""

from __future__ import annotations

from tests.api.test_chat_socket import _socket, _token, _until
from tests.conftest import login


def _chat(client, alice) -> int:
    r = client.post("/api/v1/chats", headers=alice, json={"body": "你好，出金还没到账"})
    assert r.status_code == 201, r.text
    return int(r.json()["case_id"])


def _status(client, headers, cid: int) -> str:
    return str(client.get(f"/api/v1/cases/{cid}", headers=headers).json()["status"])


def test_taking_a_new_case_opens_it_for_the_customer_too(client, seed):
    alice, agent = login(client, "alice"), login(client, "agent1")
    client.cookies.clear()
    cid = _chat(client, alice)
    assert _status(client, alice, cid) == "new"
    r = client.patch(f"/api/v1/cases/{cid}", headers=agent, json={"assignee_id": seed.agent1})
    assert r.status_code == 200, r.text
    assert _status(client, agent, cid) == "open"
    assert _status(client, alice, cid) == "open"


def test_answering_a_new_case_opens_it(client, seed):
    alice, agent = login(client, "alice"), login(client, "agent1")
    client.cookies.clear()
    cid = _chat(client, alice)
    r = client.post(f"/api/v1/cases/{cid}/messages", headers=agent, json={"body": "您好，正在查询"})
    assert r.status_code == 201, r.text
    assert _status(client, alice, cid) == "open"
    # a note is not an answer: it leaves a new case new
    cid2 = _chat(client, alice)
    client.post(
        f"/api/v1/cases/{cid2}/messages", headers=agent, json={"body": "核实中", "internal": True}
    )
    assert _status(client, alice, cid2) == "new"


def test_ending_a_chat_says_the_chat_ended_and_the_customer_socket_hears_it(client, seed):
    alice, agent = login(client, "alice"), login(client, "agent1")
    client.cookies.clear()
    cid = _chat(client, alice)
    with _socket(client, _token(client, "alice")) as ws:
        client.cookies.clear()
        ws.send_json({"type": "hello", "case_id": cid, "last_seen": 0})
        _until(ws, "queue")
        r = client.post(f"/api/v1/cases/{cid}/end", headers=agent, json={})
        assert r.status_code == 200 and r.json()["status"] == "open", r.text
        line = _until(ws, "message")["message"]
        assert line["kind"] == "system" and "会话已结束" in line["body"]
        assert "转为工单" not in line["body"]
        _until(ws, "chat.ended")


def test_a_customer_writing_after_resolve_sees_the_case_open_again(client, seed):
    alice, agent = login(client, "alice"), login(client, "agent1")
    client.cookies.clear()
    cid = _chat(client, alice)
    client.patch(f"/api/v1/cases/{cid}", headers=agent, json={"status": "resolved"})
    assert _status(client, alice, cid) == "resolved"
    with _socket(client, _token(client, "alice")) as ws:
        client.cookies.clear()
        ws.send_json({"type": "hello", "case_id": cid, "last_seen": 10**6})
        _until(ws, "case")
        ws.send_json({"type": "send", "case_id": cid, "body": "还是没到账", "key": "again"})
        # the ack and the reopened case's state arrive in either order (events go out at the
        # commit, the ack right after it)
        acked = reopened = False
        for _ in range(12):
            frame = ws.receive_json()
            acked = acked or frame["type"] == "ack"
            if frame["type"] == "case" and frame["case"]["status"] == "open":
                reopened = True
            if acked and reopened:
                break
        assert acked and reopened, "the customer's socket never heard that the case reopened"
    assert _status(client, alice, cid) == "open"
    # and the portal's list of their cases says so on the next visit
    client.post("/login", data={"username": "alice", "password": "kefu-demo"})
    portal = client.get("/")
    assert portal.status_code == 200 and f"/cases/{cid}" in portal.text
    row = portal.text.split(f"/cases/{cid}", 1)[1].split("</tr>", 1)[0]
    assert "处理中" in row and "已解决" not in row
