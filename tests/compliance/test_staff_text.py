"""Every path by which staff text reaches a customer goes through the guard; personal data in
notes, transcripts and the guard's own findings reaches staff masked (checked on the wire)."""

from __future__ import annotations

from sqlalchemy import func, select

from kefu.core.audit import AuditEntry
from tests.conftest import login, make_user

PROMISE = "保证年化收益20%，稳赚不赔"
PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"


def _blocks(database) -> int:
    with database.session() as s:
        return int(
            s.scalar(
                select(func.count())
                .select_from(AuditEntry)
                .where(AuditEntry.action == "guard.block")
            )
            or 0
        )


def _case_count(client, headers) -> int:
    return len(client.get("/api/v1/cases?limit=200", headers=headers).json()["items"])


def test_an_agent_cannot_put_a_promise_in_a_new_cases_body_or_subject(client, seed, database):
    agent, alice = login(client, "agent1"), login(client, "alice")
    before = _case_count(client, alice)
    for fields in ({"subject": "理财咨询", "body": PROMISE}, {"subject": PROMISE}):
        r = client.post(
            "/api/v1/cases",
            headers=agent,
            json={"customer_id": seed.alice, "category": "trading", **fields},
        )
        assert r.status_code == 422, r.text
        assert r.json()["verdict"] == "block"
    # nothing reached the customer, and both refusals are on record
    assert _case_count(client, alice) == before
    assert _blocks(database) == 2


def test_an_agent_cannot_rename_a_case_into_a_promise(client, seed, database):
    agent, alice = login(client, "agent1"), login(client, "alice")
    cid = client.post(
        "/api/v1/cases", headers=alice, json={"subject": "咨询", "category": "trading"}
    ).json()["id"]
    r = client.patch(f"/api/v1/cases/{cid}", headers=agent, json={"subject": PROMISE})
    assert r.status_code == 422, r.text
    assert client.get(f"/api/v1/cases/{cid}", headers=alice).json()["subject"] == "咨询"
    ok = client.patch(f"/api/v1/cases/{cid}", headers=agent, json={"subject": "出金咨询"})
    assert ok.status_code == 200 and ok.json()["subject"] == "出金咨询"


def test_notes_and_transcripts_are_masked_for_staff_who_may_not_reveal(client, seed, database):
    with database.session() as s:
        make_user(s, "trainee", "agent", is_trainee=True)
    agent, trainee, alice = (
        login(client, "agent1"),
        login(client, "trainee"),
        login(client, "alice"),
    )
    r = client.post(
        "/api/v1/cases",
        headers=agent,
        json={
            "customer_id": seed.alice,
            "channel": "phone",
            "category": "account",
            "subject": "来电：修改手机号",
            "transcript": f"客户来电，身份证 {ID_NUMBER}，新手机号 {PHONE}，要求更换绑定手机。",
        },
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    n = client.post(
        f"/api/v1/cases/{cid}/messages",
        headers=agent,
        json={"body": f"已核实客户手机 {PHONE}", "internal": True},
    )
    assert n.status_code == 201, n.text

    seen_by_trainee = client.get(f"/api/v1/cases/{cid}", headers=trainee).json()
    assert ID_NUMBER not in seen_by_trainee["transcript"]
    assert PHONE not in seen_by_trainee["transcript"]
    assert "2X" in seen_by_trainee["transcript"]  # masked, not removed: the last digits stay
    note = next(m for m in seen_by_trainee["messages"] if m["kind"] == "note")
    assert PHONE not in note["body"] and "5678" in note["body"]
    assert PHONE not in str(note["guard"])

    # the author and staff who may reveal read the record as taken
    assert ID_NUMBER in client.get(f"/api/v1/cases/{cid}", headers=agent).json()["transcript"]
    # the customer receives neither the transcript nor the note
    mine = client.get(f"/api/v1/cases/{cid}", headers=alice).json()
    assert mine["transcript"] == ""
    assert all(m["kind"] != "note" for m in mine["messages"])


def test_guard_findings_never_carry_a_full_number_over_the_wire(client, seed, database):
    with database.session() as s:
        make_user(s, "trainer", "trainer")
    alice, trainer = login(client, "alice"), login(client, "trainer")
    cid = client.post(
        "/api/v1/cases",
        headers=alice,
        json={"subject": "换卡", "category": "funds", "body": f"我的手机号是{PHONE}，请回电"},
    ).json()["id"]
    for headers in (trainer, login(client, "agent1")):
        raw = client.get(f"/api/v1/cases/{cid}/messages", headers=headers).text
        assert PHONE not in raw
        assert "138****5678" in raw
    r = client.post("/api/v1/screen", headers=trainer, json={"text": f"电话{PHONE}"})
    assert r.status_code == 200 and PHONE not in r.text


def test_a_reused_idempotency_key_with_another_body_is_refused(client, seed):
    alice = login(client, "alice")
    cid = client.post(
        "/api/v1/cases", headers=alice, json={"subject": "出金", "category": "funds"}
    ).json()["id"]
    url = f"/api/v1/cases/{cid}/messages"
    first = client.post(url, headers=alice, json={"body": "第一句", "idempotency_key": "k-1"})
    assert first.status_code == 201
    again = client.post(url, headers=alice, json={"body": "第一句", "idempotency_key": "k-1"})
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    other = client.post(url, headers=alice, json={"body": "另一句", "idempotency_key": "k-1"})
    assert other.status_code == 409, other.text
    bodies = [m["body"] for m in client.get(url, headers=alice).json()]
    assert "另一句" not in bodies


def test_a_retry_of_a_message_with_personal_data_is_answered_with_the_first(client, seed):
    """The 409 is for another message under the same key, not for the same words sent again
    (what a client does after a dropped connection), personal data included."""
    alice = login(client, "alice")
    cid = client.post(
        "/api/v1/cases", headers=alice, json={"subject": "出金", "category": "funds"}
    ).json()["id"]
    url = f"/api/v1/cases/{cid}/messages"
    body = f"请回电 {PHONE}"
    first = client.post(url, headers=alice, json={"body": body, "idempotency_key": "k-2"})
    assert first.status_code == 201
    again = client.post(url, headers=alice, json={"body": body, "idempotency_key": "k-2"})
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"]


def test_consoles_cannot_be_framed_or_sniffed_and_personal_data_is_not_cached(client, seed):
    agent = login(client, "agent1")
    for path in ("/desk", "/admin", "/api/v1/cases"):
        r = client.get(path, headers=agent, follow_redirects=False)
        assert r.headers["x-frame-options"] == "DENY"
        assert "frame-ancestors 'none'" in r.headers["content-security-policy"]
        assert r.headers["x-content-type-options"] == "nosniff"
        assert r.headers["cache-control"] == "no-store"
    # the customer's pages are what the widget frames on the broker's own site
    client.cookies.clear()
    widget = client.get("/widget", follow_redirects=False)
    assert "x-frame-options" not in widget.headers
    assert "frame-ancestors 'self'" in widget.headers["content-security-policy"]


def test_out_of_range_ids_and_unicode_digits_answer_422_not_500(client, seed):
    agent = login(client, "agent1")
    huge = 2**63
    for path in (f"/api/v1/cases/{huge}", f"/desk/cases/{huge}", f"/cases/{huge}"):
        r = client.get(path, headers=agent)
        assert r.status_code == 422, (path, r.status_code)
    r = client.get("/api/v1/cases", params={"assignee": "²"}, headers=agent)
    assert r.status_code == 422 and "assignee" in r.text


def test_a_chunked_body_over_the_limit_is_refused_while_it_arrives(client, seed):
    agent = login(client, "agent1")

    def chunks():
        for _ in range(64):  # 64 × 64 KiB = 4 MiB, far over the 256 KiB limit, no length given
            yield b"x" * 65536

    r = client.post(
        "/api/v1/screen",
        headers={**agent, "content-type": "application/json"},
        content=chunks(),
    )
    assert r.status_code == 413
    assert r.headers["content-type"].startswith("application/problem+json")


def test_ids_past_the_integer_column_answer_422_on_every_database(client, seed):
    """Row ids are 32-bit INTEGER on PostgreSQL: 2**31 must be refused before the query."""
    agent = login(client, "agent1")
    for path in (f"/api/v1/cases/{2**31}", f"/api/v1/customers/{2**31}", f"/desk/cases/{2**31}"):
        assert client.get(path, headers=agent).status_code == 422, path
    r = client.post("/api/v1/cases", headers=agent, json={"subject": "x", "customer_id": 2**31})
    assert r.status_code == 422 and "customer_id" in r.text


def test_text_with_a_nul_character_is_refused_naming_it(client, seed):
    sup = login(client, "supervisor")
    r = client.post(
        "/api/v1/statuses",
        headers=sup,
        json={
            "key": "waiting_bank",
            "category": "pending",
            "name_zh": "等银行\u0000",
            "name_en": "x",
        },
    )
    assert r.status_code == 422 and "U+0000" in r.json()["detail"]
    ok = client.post(
        "/api/v1/statuses",
        headers=sup,
        json={"key": "waiting_bank", "category": "pending", "name_zh": "等银行", "name_en": "Bank"},
    )
    assert ok.status_code == 201, ok.text
