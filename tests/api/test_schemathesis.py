"""Schemathesis over the app's own OpenAPI document: generated requests to every REST operation,
as a customer and as a supervisor, must never get a 5xx (bounded examples, derandomised, run
in-process against the ASGI app on the test database)."""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from tests.conftest import login

#: logging out would end the session the rest of the run uses
SKIP = {("POST", "/api/v1/auth/logout")}


def _fuzz(client, username: str) -> int:
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    headers = login(client, username)
    client.cookies.clear()
    failures: list[str] = []
    checked = 0
    for result in schema.get_all_operations():
        op = result.ok()
        if (op.method.upper(), op.path) in SKIP:
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


def test_a_customer_never_gets_a_server_error(client, seed):
    assert _fuzz(client, "alice") >= 30  # every REST operation was exercised


def test_a_supervisor_never_gets_a_server_error(client, seed):
    assert _fuzz(client, "supervisor") >= 30
