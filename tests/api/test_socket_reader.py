"""The sockets' batched reader: logins and hello replays that arrive together are answered in
one pass, and each socket still gets exactly what it would get alone — its own case's messages
after its last seen one, no internal notes for a customer, its delivered floor and queue — and
a refused hello (someone else's case) refuses only itself."""

from __future__ import annotations

import asyncio
from contextlib import ExitStack

import pytest
from starlette.websockets import WebSocketDisconnect

from kefu.core.errors import NotFound
from kefu.core.security import User
from kefu.desk import chat, readmodel, service
from kefu.web.hub_reads import Reader
from tests.conftest import login


def _users(database, *ids):
    with database.session() as s:
        users = [s.get(User, i) for i in ids]
        for u in users:
            s.expunge(u)
    return users


def _chat(client, headers, body):
    r = client.post("/api/v1/chats", headers=headers, json={"body": body, "category": "funds"})
    assert r.status_code == 201, r.text
    return r.json()["case_id"]


def _post(client, headers, cid, body, internal=False):
    r = client.post(
        f"/api/v1/cases/{cid}/messages", headers=headers, json={"body": body, "internal": internal}
    )
    assert r.status_code in (200, 201), r.text
    return r.json()["id"]


def _alone(database, viewer, case_id, last_seen):
    """What the one-by-one path answers: the case, the messages after last_seen as the viewer
    may read them, the delivered floor, the queue."""
    with database.session() as s:
        case = service.visible_case(s, viewer=viewer, case_id=case_id)
        msgs = service.visible_messages(s, viewer=viewer, case=case, after_id=last_seen)
        floor = (
            readmodel.delivered_floor(s, case_id=case_id, last_seen_id=last_seen)
            if last_seen
            else 0
        )
        queue = chat.queue_info(s, case) if viewer.role == "customer" else {}
        return [m.id for m in msgs], floor, queue


def test_hellos_read_together_each_get_their_own_case(client, seed, database):
    alice, bob, agent = login(client, "alice"), login(client, "bob"), login(client, "agent1")
    client.cookies.clear()
    a = _chat(client, alice, "我的入金还没到账")
    b = _chat(client, bob, "How long does a withdrawal take?")
    first_a = _post(client, agent, a, "您好，正在为您查询")
    note = _post(client, agent, a, "银行流水已核对，待清算", internal=True)
    _post(client, agent, a, "已到账，请查收")
    first_b = _post(client, agent, b, "Usually one working day.")
    _post(client, bob, b, "Thanks")
    # a case whose every socket has seen part of it: its floors come from the database
    c = _chat(client, alice, "还有一个问题")
    seen_c = [_post(client, agent, c, f"第{i}条回复") for i in range(3)]
    u_alice, u_bob, u_agent = _users(database, seed.alice_user, seed.bob_user, seed.agent1)
    wanted = [
        (u_alice, a, 0),
        (u_bob, b, 0),
        (u_agent, a, 0),
        (u_agent, b, first_b),
        (u_bob, a, 0),  # someone else's case: refused, the others answered
        (u_alice, a, first_a),
        (u_alice, 10**9, 0),  # no such case
        (u_alice, c, seen_c[0]),
        (u_agent, c, seen_c[1]),
    ]
    reader = Reader(database)

    async def run():
        return await asyncio.gather(
            *(reader.replay(v, c, last) for v, c, last in wanted), return_exceptions=True
        )

    answers = asyncio.run(run())
    assert reader.passes == 1 and reader.requests == len(wanted)  # one pass for them all
    for (viewer, case_id, last), got in zip(wanted, answers, strict=True):
        if (viewer.id, case_id) in ((u_bob.id, a), (u_alice.id, 10**9)):
            assert isinstance(got, NotFound), (viewer.username, case_id)
            continue
        assert not isinstance(got, BaseException), got
        ids, floor, queue = _alone(database, viewer, case_id, last)
        assert [p["id"] for p in got.payloads] == ids, (viewer.username, case_id, last)
        assert {p["case_id"] for p in got.payloads} <= {case_id}
        assert got.floor == floor and got.queue == queue
        assert got.state["id"] == case_id
    alice_a, agent_a = answers[0], answers[2]
    # the customer's replay leaves the internal note out; the agent's, read in the same pass,
    # has it
    assert note not in [p["id"] for p in alice_a.payloads]
    assert note in [p["id"] for p in agent_a.payloads]
    # a reconnect counts what it had seen as delivered and replays only the rest
    again = answers[5]
    assert again.floor >= 1 and all(p["id"] > first_a for p in again.payloads)
    assert [p["body"] for p in again.payloads] == ["已到账，请查收"]
    assert [p["body"] for p in answers[8].payloads] == ["第2条回复"]
    assert answers[8].floor == answers[7].floor + 1


def test_waiting_customers_read_together_get_their_queue_positions(client, seed, database):
    alice, bob = login(client, "alice"), login(client, "bob")
    client.cookies.clear()
    cases = [_chat(client, h, f"第{i}个问题") for i, h in enumerate((alice, bob, alice))]
    u_alice, u_bob = _users(database, seed.alice_user, seed.bob_user)
    reader = Reader(database)

    async def run():
        return await asyncio.gather(
            reader.replay(u_alice, cases[2], 0),
            reader.replay(u_bob, cases[1], 0),
            reader.replay(u_alice, cases[0], 0),
        )

    third, second, first = asyncio.run(run())
    assert reader.passes == 1
    positions = [r.queue["position"] for r in (first, second, third)]
    assert positions[1] == positions[0] + 1 and positions[2] == positions[0] + 2
    assert all(r.queue["assigned"] is False for r in (first, second, third))


def test_logins_read_together(client, seed, database):
    alice_tok = login(client, "alice")["Authorization"][7:]
    agent = login(client, "agent1")
    agent_tok = agent["Authorization"][7:]
    gone = login(client, "bob")
    assert client.post("/api/v1/auth/logout", headers=gone).status_code == 204
    client.cookies.clear()
    reader = Reader(database)

    async def run():
        return await asyncio.gather(
            reader.login(alice_tok),
            reader.login("not-a-token"),
            reader.login(gone["Authorization"][7:]),  # logged out
            reader.login(agent_tok),
            reader.login(alice_tok),
        )

    a, nope, out, ag, a2 = asyncio.run(run())
    assert reader.passes == 1
    assert nope is None and out is None
    assert a is not None and a.user.id == seed.alice_user and a.user.role == "customer"
    assert a2 is not None and a2.session_id == a.session_id
    assert ag is not None and ag.user.id == seed.agent1 and ag.user.role == "agent"


def test_a_failing_pass_reaches_every_caller(database, seed):
    """A pass that cannot read at all (here: the database is gone) answers every socket of it
    with the error, and the next pass runs again."""
    (u_alice,) = _users(database, seed.alice_user)
    reader = Reader(database)

    def broken(jobs):
        raise RuntimeError("database unavailable")

    async def run():
        reader._answer = broken  # type: ignore[method-assign]
        results = await asyncio.gather(
            reader.replay(u_alice, 1, 0), reader.login("x"), return_exceptions=True
        )
        del reader._answer
        return results, await reader.login("still-not-a-token")

    (r1, r2), after = asyncio.run(run())
    assert all(isinstance(r, RuntimeError) for r in (r1, r2))
    assert after is None


def test_many_sockets_hello_at_once(client, seed):
    """Sockets that say hello together each get their own case's replay; one asking for
    someone else's case is closed with 4404 and the others carry on."""
    n = 12
    alice, bob = login(client, "alice"), login(client, "bob")
    client.cookies.clear()
    owner = ["alice" if i % 2 else "bob" for i in range(n)]
    mine = [
        _chat(client, alice if who == "alice" else bob, f"问题 {i}") for i, who in enumerate(owner)
    ]
    tokens = {who: login(client, who)["Authorization"][7:] for who in ("alice", "bob", "agent1")}
    client.cookies.clear()
    with ExitStack() as stack:

        def connect(who):
            ws = stack.enter_context(client.websocket_connect("/ws"))
            ws.send_json({"type": "auth", "token": tokens[who]})
            return ws

        sockets = [connect(who) for who in owner]
        staff, intruder = connect("agent1"), connect("alice")
        for ws, cid in zip(sockets, mine, strict=True):
            ws.send_json({"type": "hello", "case_id": cid, "last_seen": 0})
        intruder.send_json({"type": "hello", "case_id": mine[0], "last_seen": 0})  # bob's
        for cid in mine:
            staff.send_json({"type": "hello", "case_id": cid, "last_seen": 0})
        for i, (ws, cid) in enumerate(zip(sockets, mine, strict=True)):
            frames = [ws.receive_json() for _ in range(3)]
            assert [f["type"] for f in frames] == ["message", "case", "queue"]
            assert frames[0]["message"]["case_id"] == cid
            assert frames[0]["message"]["body"] == f"问题 {i}"
            assert frames[1]["case"]["id"] == cid and frames[2]["case_id"] == cid
        got = {}
        while len(got) < n:
            f = staff.receive_json()
            if f["type"] == "message":
                got[f["message"]["case_id"]] = f["message"]["body"]
        assert got == {cid: f"问题 {i}" for i, cid in enumerate(mine)}
        with pytest.raises(WebSocketDisconnect) as closed:
            for _ in range(10):
                intruder.receive_json()
        assert closed.value.code == 4404
        # the others are still open
        sockets[1].send_json({"type": "ping"})
        assert sockets[1].receive_json()["type"] == "pong"
