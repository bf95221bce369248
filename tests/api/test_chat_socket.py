"""The chat socket: committed before pushed, replay on reconnect, no duplicates, refusals."""

from __future__ import annotations

import json
from contextlib import contextmanager

import pytest
from starlette.websockets import WebSocketDisconnect

from tests.conftest import login


def _token(client, username):
    return login(client, username)["Authorization"][7:]


def _start(client, h, body="你好，我的入金还没到账"):
    r = client.post("/api/v1/chats", headers=h, json={"body": body, "category": "funds"})
    assert r.status_code == 201, r.text
    return r.json()["case_id"]


@contextmanager
def _socket(client, token, headers=None):
    """A socket authenticated the way non-browser clients do: the token in the first frame."""
    with client.websocket_connect("/ws", headers=dict(headers or {})) as ws:
        ws.send_json({"type": "auth", "token": token})
        yield ws


def _until(ws, kind, limit=20):
    for _ in range(limit):
        f = ws.receive_json()
        if f["type"] == kind:
            return f
    raise AssertionError(f"no {kind} frame")


def test_customer_and_agent_see_each_other(client, seed):
    ch, _ah = login(client, "alice"), login(client, "agent1")
    client.cookies.clear()
    cid = _start(client, ch)
    with (
        _socket(client, _token(client, "alice")) as cws,
        _socket(client, _token(client, "agent1")) as aws,
    ):
        client.cookies.clear()
        cws.send_json({"type": "hello", "case_id": cid, "last_seen": 0})
        first = _until(cws, "message")
        assert first["message"]["body"] == "你好，我的入金还没到账"
        queue = _until(cws, "queue")
        assert queue["position"] == 1
        aws.send_json({"type": "hello", "case_id": cid, "last_seen": 0})
        assert _until(aws, "message")["message"]["kind"] == "customer"
        aws.send_json({"type": "send", "case_id": cid, "body": "您好，正在为您查询", "key": "a1"})
        ack = _until(aws, "ack")
        assert ack["key"] == "a1" and not ack["duplicate"]
        got = _until(cws, "message")["message"]
        assert got["body"] == "您好，正在为您查询" and got["kind"] == "agent"
        # typing reaches the other side, not the sender
        cws.send_json({"type": "typing", "case_id": cid})
        assert _until(aws, "typing")["role"] == "customer"
        # read receipt
        cws.send_json({"type": "read", "case_id": cid, "message_id": got["id"]})
        read = _until(aws, "read")
        assert read["by"] == "customer" and read["message_id"] == got["id"]
    # the message was committed: it is in the case history
    hist = client.get(f"/api/v1/cases/{cid}", headers=ch).json()["messages"]
    assert [m["body"] for m in hist].count("您好，正在为您查询") == 1


def test_resend_with_same_key_is_not_duplicated_and_reconnect_replays(client, seed):
    ch = login(client, "alice")
    client.cookies.clear()
    cid = _start(client, ch)
    tok = _token(client, "alice")
    client.cookies.clear()
    with _socket(client, tok) as ws:
        ws.send_json({"type": "hello", "case_id": cid, "last_seen": 0})
        seen = _until(ws, "message")["message"]["id"]
        ws.send_json({"type": "send", "case_id": cid, "body": "补充一下卡号尾号0128", "key": "k9"})
        a1 = _until(ws, "ack")
        ws.send_json({"type": "send", "case_id": cid, "body": "补充一下卡号尾号0128", "key": "k9"})
        a2 = _until(ws, "ack")
        assert a1["id"] == a2["id"] and a2["duplicate"]
    # an agent answers while the customer is away
    ah = login(client, "agent1")
    client.cookies.clear()
    client.post(f"/api/v1/cases/{cid}/messages", headers=ah, json={"body": "收到，已转财务核查"})
    with _socket(client, tok) as ws:
        ws.send_json({"type": "hello", "case_id": cid, "last_seen": seen})
        bodies = []
        for _ in range(4):
            f = ws.receive_json()
            if f["type"] == "message":
                bodies.append(f["message"]["body"])
            if f["type"] == "queue":
                break
        assert bodies == ["补充一下卡号尾号0128", "收到，已转财务核查"]


def _closed(ws):
    with pytest.raises(WebSocketDisconnect) as exc:
        for _ in range(50):
            ws.receive_json()
    return exc.value


def test_socket_without_session_is_refused(client, seed):
    with _socket(client, "nope") as ws:
        closed = _closed(ws)
    assert closed.code == 4401 and "login" in closed.reason


def test_malformed_frame_closes_with_reason(client, seed):
    tok = _token(client, "alice")
    client.cookies.clear()
    with _socket(client, tok) as ws:
        ws.send_text("{not json")
        closed = _closed(ws)
    assert closed.code == 4400 and "JSON" in closed.reason
    with _socket(client, tok) as ws:
        ws.send_text(json.dumps({"type": "send", "case_id": "1", "body": "x"}))
        assert _closed(ws).code == 4400


def test_over_long_message_is_refused(client, seed):
    ch = login(client, "alice")
    client.cookies.clear()
    cid = _start(client, ch)
    tok = _token(client, "alice")
    client.cookies.clear()
    with _socket(client, tok) as ws:
        ws.send_json({"type": "send", "case_id": cid, "body": "长" * 10_001, "key": "x"})
        closed = _closed(ws)
    assert closed.code == 4413 and "10000" in closed.reason


def test_flood_is_rate_limited_and_others_carry_on(client, seed):
    ch = login(client, "alice")
    client.cookies.clear()
    _start(client, ch)
    tok, other = _token(client, "alice"), _token(client, "agent1")
    client.cookies.clear()
    with _socket(client, other) as calm:
        with _socket(client, tok) as ws:
            for _ in range(200):
                ws.send_json({"type": "ping"})
            closed = _closed(ws)
        assert closed.code == 4429
        calm.send_json({"type": "ping"})
        assert calm.receive_json()["type"] == "pong"


def test_someone_elses_case_is_refused(client, seed):
    ch = login(client, "alice")
    client.cookies.clear()
    cid = _start(client, ch)
    tok = _token(client, "bob")
    client.cookies.clear()
    with _socket(client, tok) as ws:
        ws.send_json({"type": "hello", "case_id": cid, "last_seen": 0})
        closed = _closed(ws)
    assert closed.code == 4404


def test_a_page_from_another_origin_cannot_open_the_socket(client, seed):
    tok = _token(client, "alice")
    client.cookies.clear()
    evil = {"origin": "http://127.0.0.1:9999", "host": "testserver"}
    with _socket(client, tok, headers=evil) as ws:
        closed = _closed(ws)
    assert closed.code == 4403 and "origin" in closed.reason
    # the app's own pages (same host) and clients without a browser still connect
    own = {"origin": "http://testserver"}
    with _socket(client, tok, headers=own) as ws:
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"


def test_logging_out_closes_the_open_socket(client, seed):
    h = login(client, "alice")
    client.cookies.clear()
    cid = _start(client, h)
    with _socket(client, h["Authorization"][7:]) as ws:
        ws.send_json({"type": "hello", "case_id": cid, "last_seen": 0})
        _until(ws, "message")
        assert client.post("/api/v1/auth/logout", headers=h).status_code == 204
        closed = _closed(ws)
    assert closed.code == 4401 and "session ended" in closed.reason


def test_a_socket_closes_when_its_session_expires(client, seed, database):
    """An open socket does not outlive its login: at the session's expiry it is closed."""
    import time
    from datetime import timedelta

    from sqlalchemy import update

    from kefu.core.db import utcnow
    from kefu.core.security import AuthSession

    tok = _token(client, "alice")
    client.cookies.clear()
    with database.session() as s:
        s.execute(update(AuthSession).values(expires_at=utcnow() + timedelta(seconds=1.5)))
    with _socket(client, tok) as ws:
        ws.send_json({"type": "ping"})
        assert ws.receive_json()["type"] == "pong"  # alive while the session is
        time.sleep(2.5)
        ws.send_json({"type": "ping"})  # answered with a pong if the socket outlived it
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_json()
    assert closed.value.code == 4401 and "session ended" in closed.value.reason


def test_a_browser_authenticates_with_its_session_cookie(client, seed):
    """A page's socket sends no token at all: the session cookie it carries is enough."""
    tok = _token(client, "alice")
    client.cookies.clear()
    client.cookies.set("kefu_session", tok)
    try:
        with client.websocket_connect("/ws", headers={"origin": "http://testserver"}) as ws:
            ws.send_json({"type": "ping"})  # the first frame is no auth frame
            assert ws.receive_json()["type"] == "pong"
    finally:
        client.cookies.clear()


def test_a_token_in_the_url_does_not_authenticate(client, seed):
    """Tokens in URLs end up in proxy and access logs: only the cookie or the first frame count."""
    tok = _token(client, "alice")
    client.cookies.clear()
    with client.websocket_connect(f"/ws?token={tok}") as ws:
        ws.send_json({"type": "ping"})
        closed = _closed(ws)
    assert closed.code == 4401


@pytest.mark.parametrize(
    "frame",
    [
        {"type": "hello", "case_id": 1, "last_seen": 2**70},
        {"type": "read", "case_id": 1, "message_id": 2**70},
        {"type": "hello", "case_id": 2**70, "last_seen": 0},
    ],
)
def test_huge_numbers_in_frames_are_refused_as_malformed(client, seed, frame):
    tok = _token(client, "alice")
    client.cookies.clear()
    with _socket(client, tok) as ws:
        ws.send_json(frame)
        closed = _closed(ws)
    assert closed.code == 4400, closed.reason


def test_staff_who_may_not_reveal_receive_masked_messages_over_the_socket(client, seed, database):
    from tests.conftest import make_user

    with database.session() as s:
        make_user(s, "trainer", "trainer")
        make_user(s, "trainee", "agent", is_trainee=True)
    h = login(client, "alice")
    client.cookies.clear()
    cid = _start(client, h, body="请回电 13812345678，身份证 11010519491231002X")
    for who in ("trainer", "trainee"):
        tok = _token(client, who)
        client.cookies.clear()
        with _socket(client, tok) as ws:
            ws.send_json({"type": "hello", "case_id": cid, "last_seen": 0})
            frame = _until(ws, "message")
        raw = json.dumps(frame, ensure_ascii=False)
        assert "13812345678" not in raw and "11010519491231002X" not in raw, who
        assert "138****5678" in frame["message"]["body"], who


@pytest.mark.parametrize("role", ["compliance", "trainer"])
def test_read_only_roles_neither_write_nor_move_receipts_over_the_socket(
    client, seed, database, role
):
    """The socket follows the permission table like the routes: staff who only read
    conversations may follow one, but a reply is refused and their reading moves no receipt."""
    from kefu.desk.models import Case, Message
    from tests.conftest import make_user

    with database.session() as s:
        if role == "trainer":
            make_user(s, "trainer", "trainer")
    h = login(client, "alice")
    client.cookies.clear()
    cid = _start(client, h)
    tok = _token(client, role)
    client.cookies.clear()
    with _socket(client, tok) as ws:
        ws.send_json({"type": "hello", "case_id": cid, "last_seen": 0})
        first = _until(ws, "message")["message"]
        ws.send_json({"type": "read", "case_id": cid, "message_id": first["id"]})
        ws.send_json({"type": "send", "case_id": cid, "body": "我来回复", "key": "ro-1"})
        refused = _until(ws, "error")
        assert refused["status"] == 403 and refused["key"] == "ro-1", refused
    with database.session() as s:
        case = s.get(Case, cid)
        assert case.agent_read_id == 0
        assert [m.body for m in case.messages if isinstance(m, Message)] == [first["body"]]
