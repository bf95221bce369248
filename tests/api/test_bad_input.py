"""Malformed requests get a 4xx problem+json naming the field, and change nothing."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select

from kefu.desk.models import Message
from tests.conftest import login


def _new_case(client, h):
    r = client.post(
        "/api/v1/cases",
        headers=h,
        json={"subject": "密码重置", "category": "account", "body": "怎么重置交易密码"},
    )
    assert r.status_code == 201, r.text
    return r.json()["id"]


def _count(database):
    with database.session() as s:
        return s.scalar(select(func.count()).select_from(Message))


def test_unknown_id_is_404(client, seed):
    h = login(client, "agent1")
    r = client.get("/api/v1/cases/999999", headers=h)
    assert r.status_code == 404
    assert r.headers["content-type"].startswith("application/problem+json")
    assert "999999" in r.json()["detail"]


def test_wrong_type_names_the_field(client, seed):
    h = login(client, "alice")
    r = client.post("/api/v1/cases", headers=h, json={"subject": 42, "category": "nonsense"})
    assert r.status_code == 422
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"subject", "category"} <= fields
    r = client.get("/api/v1/cases/abc", headers=h)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "case_id"
    r = client.get("/api/v1/cases/99999999999999999999999", headers=h)
    assert r.status_code == 422


def test_over_long_message_is_413_with_limit_and_writes_nothing(client, seed, database):
    h = login(client, "alice")
    cid = _new_case(client, h)
    before = _count(database)
    r = client.post(f"/api/v1/cases/{cid}/messages", headers=h, json={"body": "长" * 10_001})
    assert r.status_code == 413
    assert r.json()["limit"] == 10_000
    assert _count(database) == before


def test_huge_body_refused_before_parsing(client, seed):
    h = login(client, "alice")
    r = client.post(
        "/api/v1/cases",
        headers={**h, "Content-Type": "application/json"},
        content=b'{"subject": "' + b"x" * 300_000 + b'"}',
    )
    assert r.status_code == 413


def test_invalid_utf8_is_a_clear_4xx(client, seed):
    h = login(client, "alice")
    cid = _new_case(client, h)
    r = client.post(
        f"/api/v1/cases/{cid}/messages",
        headers={**h, "Content-Type": "application/json"},
        content=b'{"body": "\xff\xfe bad"}',
    )
    assert 400 <= r.status_code < 500
    assert r.headers["content-type"].startswith("application/problem+json")


def test_malformed_json_is_422(client, seed):
    h = login(client, "alice")
    r = client.post(
        "/api/v1/cases", headers={**h, "Content-Type": "application/json"}, content=b'{"subject": '
    )
    assert r.status_code == 422


def test_idempotency_key_returns_the_first_message(client, seed, database):
    h = login(client, "alice")
    cid = _new_case(client, h)
    first = client.post(
        f"/api/v1/cases/{cid}/messages",
        headers=h,
        json={"body": "补充：是招商银行卡", "idempotency_key": "k-1"},
    )
    again = client.post(
        f"/api/v1/cases/{cid}/messages",
        headers=h,
        json={"body": "补充：是招商银行卡", "idempotency_key": "k-1"},
    )
    assert first.status_code == 201 and again.status_code == 200
    assert first.json()["id"] == again.json()["id"]
    bodies = [m["body"] for m in client.get(f"/api/v1/cases/{cid}", headers=h).json()["messages"]]
    assert bodies.count("补充：是招商银行卡") == 1


def test_control_characters_rejected(client, seed):
    h = login(client, "alice")
    cid = _new_case(client, h)
    r = client.post(f"/api/v1/cases/{cid}/messages", headers=h, json={"body": "hi\x00there"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "body"


def test_unknown_fields_rejected(client, seed):
    h = login(client, "alice")
    r = client.post(
        "/api/v1/cases",
        headers=h,
        json={"subject": "x", "category": "account", "status_category": "closed"},
    )
    assert r.status_code == 422


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(max_size=30),
    lambda children: (
        st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=10), children, max_size=3)
    ),
    max_leaves=8,
)
case_fields = st.fixed_dictionaries(
    {},
    optional={
        "subject": json_values,
        "category": json_values,
        "priority": json_values,
        "channel": json_values,
        "language": json_values,
        "customer_id": json_values,
        "body": json_values,
        "call_minutes": json_values,
    },
)
segments = st.text(alphabet=string.ascii_letters + string.digits + "-_%.", max_size=25)


@settings(
    max_examples=60,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow],
)
@given(
    payload=case_fields,
    patch=case_fields,
    seg=segments,
    q=st.text(max_size=40),
    msg=st.dictionaries(
        st.sampled_from(["body", "internal", "idempotency_key", "x"]), json_values, max_size=4
    ),
)
def test_generated_input_never_causes_a_5xx(client, seed, payload, patch, seg, q, msg):
    """Property: whatever a client sends, the API answers with something other than 5xx."""
    h = login(client, "agent1") if not hasattr(client, "_h") else client._h
    client._h = h
    responses = [
        client.post("/api/v1/cases", headers=h, json=payload),
        client.patch(f"/api/v1/cases/{seg or '1'}", headers=h, json=patch),
        client.get("/api/v1/cases", headers=h, params={"q": q, "status_category": seg}),
        client.post(f"/api/v1/cases/{seg or '1'}/messages", headers=h, json=msg),
        client.get(f"/api/v1/customers/{seg or '1'}", headers=h),
        client.post(f"/api/v1/canned/{seg or 'x'}/render", headers=h, json=msg),
    ]
    for r in responses:
        assert r.status_code < 500, (r.request.method, r.request.url, r.text)


def _console(client, username: str) -> str:
    """A cookie session as a console page has it; returns the form's CSRF token."""
    r = client.post("/api/v1/auth/login", json={"username": username, "password": "kefu-demo"})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    client.cookies.set("kefu_session", r.json()["token"])
    return str(r.json()["csrf_token"])


def test_console_forms_refuse_integers_past_the_columns(client, seed, database):
    """Issue 11 item 8: integers in forms are bounded like those in paths — 2**63 (past
    SQLite's integers) and 2**40 (past PostgreSQL's INTEGER) answer 422, not a server error."""
    from tests.conftest import make_user

    with database.session() as s:
        make_user(s, "trainer", "trainer")
    posts = [
        ("admin", "/admin/sla/1", {"first_response_minutes": 10, "resolution_minutes": 20}),
        ("admin", "/admin/sla/1", {"first_response_minutes": 1, "calendar_id": 1}),
        ("admin", "/academy/programmes/onboarding/enrol", {}),
        ("trainer", "/academy/teach/mentors", {"mentor_id": 1}),
        ("trainer", "/academy/teach/mentors", {"trainee_id": 1}),
    ]
    fields = ["calendar_id", "resolution_minutes", "user_id", "trainee_id", "mentor_id"]
    for (who, url, form), field in zip(posts, fields, strict=True):
        csrf = _console(client, who)
        for huge in (2**63, 2**40):
            r = client.post(url, data={**form, field: huge, "csrf": csrf}, follow_redirects=False)
            assert r.status_code == 422, (url, field, huge, r.status_code)
    client.cookies.clear()
    sup = login(client, "supervisor")
    r = client.post(f"/api/v1/kb/articles/x/candidates/{2**63}", headers=sup, json={})
    assert r.status_code == 422 and "candidate_id" in r.text


def test_unicode_digits_are_not_ids(client, seed):
    """'²'.isdigit() is True but int('²') fails: a superscript where an id is expected answers
    422 (or is ignored), never a server error."""
    sup = login(client, "supervisor")
    r = client.get("/api/v1/quality/drill", headers=sup, params={"group": "agent", "key": "²"})
    assert r.status_code == 422 and "key" in r.text
    client.cookies.clear()
    _console(client, "agent1")
    r = client.get("/desk", params={"saved": "²"}, follow_redirects=False)
    assert r.status_code == 422, r.status_code
    client.cookies.clear()


def test_unicode_digits_in_quiz_answers_and_policy_durations_are_plain_text():
    from types import SimpleNamespace

    from kefu.academy.quizzes import _coerce
    from kefu.aml.policy import PolicyError, parse_duration

    assert _coerce(SimpleNamespace(kind="single"), "²") == "²"  # a wrong answer, not a crash
    assert _coerce(SimpleNamespace(kind="multiple"), ["1", "²"]) == [1, "²"]
    with pytest.raises(PolicyError, match="not a duration"):
        parse_duration("²d")


def test_a_chunked_body_stops_being_read_at_the_limit():
    """Issue 11 item 8: a body without a length is counted as it arrives: an endless upload is
    answered 413 after the limit's worth of chunks, and the app never sees it."""
    import asyncio

    from kefu.web.app import BodyLimit

    reads = 0
    sent: list[dict] = []
    reached: list[bool] = []

    async def endless() -> dict:
        nonlocal reads
        reads += 1
        assert reads < 1000, "the body was read past the limit"
        return {"type": "http.request", "body": b"x" * 100, "more_body": True}

    async def send(message: dict) -> None:
        sent.append(message)

    async def app(scope, receive, send) -> None:
        reached.append(True)

    scope = {"type": "http", "method": "POST", "path": "/api/v1/screen", "headers": []}
    asyncio.run(BodyLimit(app, limit=1000)(scope, endless, send))
    assert sent[0]["status"] == 413 and not reached
    assert reads == 11  # 1,100 bytes: the first chunk past the limit ends it
