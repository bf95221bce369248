"""Login, sessions, CSRF and the tenancy rule through the HTTP API."""

from __future__ import annotations

from tests.conftest import login


def test_login_sets_cookie_and_returns_token(client, seed):
    r = client.post("/api/v1/auth/login", json={"username": "alice", "password": "kefu-demo"})
    assert r.status_code == 200
    assert r.json()["token"]
    assert "kefu_session" in r.cookies
    me = client.get("/api/v1/me")  # the cookie alone identifies the caller
    assert me.status_code == 200 and me.json()["username"] == "alice"
    bearer = client.get(
        "/api/v1/me", headers={"Authorization": f"Bearer {r.json()['token']}"}, cookies={}
    )
    assert bearer.json()["role"] == "customer"


def test_wrong_password_is_problem_json(client, seed):
    r = client.post("/api/v1/auth/login", json={"username": "alice", "password": "nope"})
    assert r.status_code == 401
    assert r.headers["content-type"].startswith("application/problem+json")
    assert r.json()["type"].endswith("/unauthorized")


def test_no_session_is_401(client, seed):
    r = client.get("/api/v1/cases")
    assert r.status_code == 401
    assert "login" in r.json()["detail"]


def test_cookie_session_needs_csrf_for_writes(client, seed):
    r = client.post("/api/v1/auth/login", json={"username": "alice", "password": "kefu-demo"})
    csrf = r.json()["csrf_token"]
    body = {"subject": "提现未到账", "category": "funds", "body": "我的提现两天了还没到"}
    refused = client.post("/api/v1/cases", json=body)
    assert refused.status_code == 403 and "CSRF" in refused.json()["detail"]
    ok = client.post("/api/v1/cases", json=body, headers={"X-CSRF-Token": csrf})
    assert ok.status_code == 201


def test_logout_revokes_the_token(client, seed):
    h = login(client, "alice")
    assert client.post("/api/v1/auth/logout", headers=h, cookies={}).status_code == 204
    client.cookies.clear()
    assert client.get("/api/v1/me", headers=h).status_code == 401


def test_customer_reaches_only_their_own_cases(client, seed):
    alice, bob = login(client, "alice"), login(client, "bob")
    client.cookies.clear()
    a = client.post(
        "/api/v1/cases",
        headers=alice,
        json={"subject": "登录不了", "category": "account", "body": "App 一直提示密码错误"},
    )
    assert a.status_code == 201, a.text
    case_id = a.json()["id"]
    b = client.post(
        "/api/v1/cases",
        headers=bob,
        json={
            "subject": "Order rejected",
            "category": "trading",
            "language": "en",
            "body": "Why was my order rejected?",
        },
    )
    assert b.status_code == 201

    # Bob cannot see, read, reply to or rate Alice's case: it does not exist for him
    for method, path, body in (
        ("get", f"/api/v1/cases/{case_id}", None),
        ("get", f"/api/v1/cases/{case_id}/messages", None),
        ("post", f"/api/v1/cases/{case_id}/messages", {"body": "hi"}),
    ):
        r = client.request(method.upper(), path, headers=bob, json=body)
        assert r.status_code == 404, (path, r.text)
    listed = client.get("/api/v1/cases", headers=bob).json()["items"]
    assert [c["subject"] for c in listed] == ["Order rejected"]
    # Alice sees hers; she cannot pass someone else's customer_id either
    assert client.get(f"/api/v1/cases/{case_id}", headers=alice).status_code == 200
    forged = client.post(
        "/api/v1/cases",
        headers=alice,
        json={"subject": "x", "category": "account", "customer_id": seed.bob},
    )
    assert forged.status_code == 404
    # Bob cannot open Alice's 360 view
    assert client.get(f"/api/v1/customers/{seed.alice}", headers=bob).status_code == 404

    # staff see both
    agent = login(client, "agent1")
    subjects = {c["subject"] for c in client.get("/api/v1/cases", headers=agent).json()["items"]}
    assert subjects == {"登录不了", "Order rejected"}


def test_internal_notes_are_hidden_from_customers(client, seed):
    alice, agent = login(client, "alice"), login(client, "agent1")
    client.cookies.clear()
    cid = client.post(
        "/api/v1/cases",
        headers=alice,
        json={"subject": "入金没到", "category": "funds", "body": "转了五万没到账"},
    ).json()["id"]
    note = client.post(
        f"/api/v1/cases/{cid}/messages",
        headers=agent,
        json={"body": "银行流水已核对，待清算", "internal": True},
    )
    assert note.status_code == 201 and note.json()["kind"] == "note"
    kinds = [
        m["kind"] for m in client.get(f"/api/v1/cases/{cid}", headers=alice).json()["messages"]
    ]
    assert "note" not in kinds
    # customers cannot write notes
    r = client.post(
        f"/api/v1/cases/{cid}/messages", headers=alice, json={"body": "sneaky", "internal": True}
    )
    assert r.status_code == 403


def test_healthz(client, database):
    r = client.get("/healthz")
    assert r.status_code == 200 and r.json()["status"] == "ok"


def test_openapi_is_served(client):
    spec = client.get("/openapi.json").json()
    assert "/api/v1/cases/{case_id}" in spec["paths"]


def test_console_pages_answer_with_html_errors(client, seed):
    alice, bob = login(client, "alice"), login(client, "bob")
    client.cookies.clear()
    cid = client.post(
        "/api/v1/cases", headers=alice, json={"subject": "x", "category": "account", "body": "y"}
    ).json()["id"]
    client.post("/api/v1/auth/login", json={"username": "bob", "password": "kefu-demo"})
    r = client.get(f"/cases/{cid}", headers={"Accept": "text/html"})
    assert r.status_code == 404 and r.headers["content-type"].startswith("text/html")
    assert f"case {cid} does not exist" in r.text
    api = client.get(f"/api/v1/cases/{cid}", headers={**bob, "Accept": "text/html"})
    assert api.headers["content-type"].startswith("application/problem+json")


def test_every_demo_role_lands_on_a_console(client, seed, database):
    from tests.conftest import make_user

    with database.session() as s:
        make_user(s, "trainer", "trainer")
    expected = {
        "alice": "/",
        "agent1": "/desk",
        "supervisor": "/desk",
        "compliance": "/desk",
        "trainer": "/desk",
        "admin": "/desk",
    }
    for username, landing in expected.items():
        client.cookies.clear()
        r = client.post(
            "/login", data={"username": username, "password": "kefu-demo"}, follow_redirects=True
        )
        assert r.status_code == 200, (username, r.status_code)
        assert r.url.path == landing, (username, r.url.path)


def test_a_customers_first_message_and_subject_are_masked_for_staff(client, seed):
    """The message that opens a chat is screened like every later one (it once was not)."""
    alice, agent = login(client, "alice"), login(client, "agent1")
    client.cookies.clear()
    words = "我的手机13812345678收不到验证码"
    r = client.post("/api/v1/chats", headers=alice, json={"body": words})
    case = client.get(f"/api/v1/cases/{r.json()['case_id']}", headers=agent).json()
    assert "13812345678" not in case["subject"]
    assert "13812345678" not in case["messages"][0]["body"]
    own = client.get(f"/api/v1/cases/{r.json()['case_id']}", headers=alice).json()
    assert "13812345678" in own["messages"][0]["body"]  # the customer sees their own words
