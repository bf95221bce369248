"""Two uvicorn processes on one database: a customer on one and an agent on the other see each
other's messages, through Redis pub/sub and through PostgreSQL LISTEN/NOTIFY; logging out on
one closes the session's socket on the other."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys

import httpx
import pytest
from websockets.exceptions import ConnectionClosed
from websockets.sync.client import connect

from tests.e2e.conftest import free_port, start_server

REDIS = os.environ.get("KEFU_TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
PG = os.environ.get(
    "KEFU_TEST_PG_BROKER_URL",
    os.environ.get("KEFU_TEST_DATABASE_URL", "postgresql+psycopg://postgres@127.0.0.1:5432/test"),
)


def _reachable(url: str) -> str | None:
    try:
        if url.startswith("redis"):
            import redis

            redis.Redis.from_url(url, socket_connect_timeout=2).ping()
        else:
            import psycopg

            psycopg.connect(
                url.replace("postgresql+psycopg://", "postgresql://"), connect_timeout=2
            ).close()
    except Exception as exc:
        return f"{url.split('@')[-1]} unreachable: {exc.__class__.__name__}"
    return None


def _until(ws, kind, limit=30, body=None):
    for _ in range(limit):
        frame = json.loads(ws.recv(timeout=10))
        if frame["type"] == kind and (body is None or frame["message"]["body"] == body):
            return frame
    raise AssertionError(f"no {kind} frame")


def _login(base: str, username: str) -> str:
    r = httpx.post(
        f"{base}/api/v1/auth/login",
        json={"username": username, "password": "kefu-demo"},
        timeout=10,
    )
    r.raise_for_status()
    return str(r.json()["token"])


@pytest.mark.parametrize("broker", ["redis", "postgres"])
def test_two_processes_share_a_conversation(broker, tmp_path):
    url = REDIS if broker == "redis" else PG
    problem = _reachable(url)
    if problem:
        if os.environ.get("KEFU_REQUIRE_BROWSER") == "1":
            pytest.fail(problem)
        pytest.skip(problem)
    db_url = f"sqlite:///{tmp_path / 'kefu.db'}"
    env = {
        **os.environ,
        "KEFU_DATABASE_URL": db_url,
        "KEFU_SECRET_KEY": "fanout",
        "KEFU_BROKER_URL": url,
    }
    for cmd in (["migrate"], ["demo"]):
        subprocess.run(
            [sys.executable, "-m", "kefu.cli", *cmd], env=env, check=True, capture_output=True
        )
    ports = free_port(), free_port()
    procs = [start_server(env, p, tmp_path / f"s{p}.log") for p in ports]
    a, b = (f"http://127.0.0.1:{p}" for p in ports)
    try:
        cust, agent = _login(a, "customer5"), _login(b, "agent1")
        r = httpx.post(
            f"{a}/api/v1/chats",
            headers={"Authorization": f"Bearer {cust}"},
            json={"body": "两个进程之间能收到吗？", "category": "technical"},
            timeout=10,
        )
        case_id = r.json()["case_id"]
        with (
            connect(f"ws://127.0.0.1:{ports[0]}/ws") as cws,
            connect(f"ws://127.0.0.1:{ports[1]}/ws") as aws,
        ):
            cws.send(json.dumps({"type": "auth", "token": cust}))
            aws.send(json.dumps({"type": "auth", "token": agent}))
            for ws in (cws, aws):
                ws.send(json.dumps({"type": "hello", "case_id": case_id, "last_seen": 0}))
                _until(ws, "case")
            aws.send(
                json.dumps(
                    {
                        "type": "send",
                        "case_id": case_id,
                        "key": "x1",
                        "body": f"来自另一个进程的回复（{broker}）",
                    }
                )
            )
            got = _until(cws, "message", body=f"来自另一个进程的回复（{broker}）")["message"]
            assert got["body"] == f"来自另一个进程的回复（{broker}）"
            cws.send(
                json.dumps(
                    {"type": "send", "case_id": case_id, "key": "y1", "body": "收到了 thanks"}
                )
            )
            back = _until(aws, "message", body="收到了 thanks")["message"]
            assert back["body"] == "收到了 thanks"
            # nothing was delivered twice
            cws.send(json.dumps({"type": "ping"}))
            frames = []
            while True:
                f = json.loads(cws.recv(timeout=5))
                if f["type"] == "pong":
                    break
                frames.append(f)
            assert not [
                f for f in frames if f["type"] == "message" and f["message"]["id"] == got["id"]
            ]
            # logging out on one worker closes that session's socket on the other
            out = httpx.post(
                f"{a}/api/v1/auth/logout", headers={"Authorization": f"Bearer {agent}"}, timeout=10
            )
            assert out.status_code == 204
            with pytest.raises(ConnectionClosed) as closed:
                for _ in range(30):
                    aws.recv(timeout=10)
            assert closed.value.rcvd is not None and closed.value.rcvd.code == 4401
    finally:
        for p in procs:
            p.terminate()
            p.wait(timeout=10)


_ = shutil
