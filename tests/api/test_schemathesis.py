"""Schemathesis over the app's own OpenAPI document: generated requests to every REST operation,
as every role (and anonymously), must never get a 5xx (bounded examples, derandomised, run
in-process against the ASGI app on the test database)."""

from __future__ import annotations

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import login, make_user

#: logging out would end the session the rest of the run uses
SKIP = {("POST", "/api/v1/auth/logout")}

#: every role of the permission table, a trainee agent (who may not reveal) and nobody at all
ROLES = ("anonymous", "alice", "agent1", "trainee", "supervisor", "compliance", "trainer", "admin")


def _fuzz(client, headers: dict[str, str], only: str | None = None) -> int:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures: list[str] = []
    checked = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) in SKIP or only not in (None, op.path):
            continue

        @given(case=op.as_strategy())
        @settings(
            max_examples=8,
            deadline=None,
            derandomize=True,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            response = case.call(headers=headers)
            if response.status_code >= 500:
                failures.append(f"{case.method} {case.formatted_path}: {response.text[:200]}")

        run()
        checked += 1
    assert not failures, failures
    return checked


@pytest.mark.parametrize("username", ROLES)
def test_no_role_ever_gets_a_server_error(client, seed, database, username):
    with database.session() as s:
        make_user(s, "trainee", "agent", is_trainee=True)
        make_user(s, "trainer", "trainer")
    headers = {} if username == "anonymous" else login(client, username)
    client.cookies.clear()
    assert _fuzz(client, headers) >= 30  # every REST operation was exercised


def test_a_server_error_fails_the_run(client, seed, monkeypatch):
    """The check itself: an operation that answers 5xx is reported, not passed over (the
    health check answers 503 when its query fails)."""
    import sqlalchemy

    from kefu.web import app as web_app

    monkeypatch.setattr(web_app, "text", lambda _sql: sqlalchemy.text("SELECT no_such_column"))
    with pytest.raises(AssertionError, match="GET /healthz"):
        _fuzz(client, {}, only="/healthz")
