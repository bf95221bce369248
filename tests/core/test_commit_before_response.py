"""A write is committed before its response leaves the server. A browser follows a login's
redirect at once; if the commit ran after the response (FastAPI's default for dependencies with
yield), the next request could find no session and bounce the user back to /login — which is
what the browser tests caught on a loaded machine."""

from __future__ import annotations

from typing import Any

from fastapi.testclient import TestClient
from sqlalchemy import func, select

from kefu.core.security import AuthSession
from kefu.desk.models import Case
from kefu.web.app import create_app


def _watching(app: Any, database: Any, probe: Any, seen: list[int]) -> Any:
    """The app, with each response's first byte delayed until ``probe`` has counted rows on a
    connection of its own (so only committed rows count)."""

    async def wrapped(scope: dict[str, Any], receive: Any, send: Any) -> None:
        async def send_after_probe(message: dict[str, Any]) -> None:
            if message["type"] == "http.response.start" and scope.get("method") == "POST":
                with database.sessions() as other:
                    seen.append(int(other.scalar(probe) or 0))
            await send(message)

        await app(scope, receive, send_after_probe)

    return wrapped


def test_a_login_is_committed_before_its_redirect_is_sent(database, seed):
    seen: list[int] = []
    probe = select(func.count()).select_from(AuthSession)
    app = _watching(create_app(database), database, probe, seen)
    with TestClient(app) as c:
        r = c.post(
            "/login", data={"username": "alice", "password": "kefu-demo"}, follow_redirects=False
        )
    assert r.status_code == 303
    assert seen == [1]


def test_an_api_write_is_committed_before_its_answer(database, seed):
    seen: list[int] = []
    probe = select(func.count()).select_from(Case)
    app = _watching(create_app(database), database, probe, seen)
    with database.sessions() as s:
        before = int(s.scalar(probe) or 0)
    with TestClient(app) as c:
        token = c.post(
            "/api/v1/auth/login", json={"username": "alice", "password": "kefu-demo"}
        ).json()["token"]
        r = c.post(
            "/api/v1/chats",
            headers={"Authorization": f"Bearer {token}"},
            json={"body": "我的出金还没到账"},
        )
    assert r.status_code in (200, 201), r.text
    assert seen[-1] == before + 1
