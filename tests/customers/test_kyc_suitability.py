"""KYC and suitability through the API on a real database: encrypted documents, maker–checker,
the expiry scan's tasks, the questionnaire's daily limit, matching, the insistence flow and
the guard's suitability warning on an agent's reply."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select

from kefu.core.audit import AuditEntry
from kefu.customers.kyc import local_today
from kefu.customers.models import KycRecord
from kefu.customers.suitability_rules import add_months
from tests.conftest import login

C4_SHEET = dict(
    zip(
        [
            "age",
            "income_source",
            "income",
            "investable_share",
            "debts",
            "assets",
            "knowledge",
            "experience",
            "experience_years",
            "horizon",
            "objective",
            "loss_tolerance",
        ],
        "baccbcbccccc",
        strict=True,
    )
)  # 70 points: C4 (see test_suitability_rules)
C2_SHEET = dict(zip(C4_SHEET, "edaaababaabb", strict=True))  # 31 points: C2
LOWEST_SHEET = C4_SHEET | {"loss_tolerance": "a"}


def test_kyc_document_is_encrypted_masked_revealed_on_record_and_verified_by_another(
    client, seed, database
):
    agent, comp = login(client, "agent1"), login(client, "compliance")
    expires = (local_today() + timedelta(days=400)).isoformat()
    body = {
        "doc_type": "passport",
        "doc_number": "E12345678",
        "doc_expires_on": expires,
        "funds_source": "salary",
    }
    r = client.put(f"/api/v1/customers/{seed.bob}/kyc", json=body, headers=agent)
    assert r.status_code == 200, r.text
    assert r.json()["doc_number"] == "E1****678" and r.json()["status"] == "pending"
    with database.session() as s:
        row = s.scalar(select(KycRecord).where(KycRecord.customer_id == seed.bob))
        assert row is not None and "E12345678" not in row.doc_number_enc
    # the customer reads their own record, masked; another customer gets 404
    own = client.get(f"/api/v1/customers/{seed.bob}/kyc", headers=login(client, "bob"))
    assert own.status_code == 200 and own.json()["doc_number"] == "E1****678"
    other = client.get(f"/api/v1/customers/{seed.bob}/kyc", headers=login(client, "alice"))
    assert other.status_code == 404
    # an agent may not verify; compliance may, but not a document compliance recorded itself
    assert (
        client.post(
            f"/api/v1/customers/{seed.bob}/kyc/review",
            json={"status": "verified"},
            headers=agent,
        ).status_code
        == 403
    )
    r = client.post(
        f"/api/v1/customers/{seed.bob}/kyc/review", json={"status": "verified"}, headers=comp
    )
    assert r.status_code == 200, r.text
    assert [h["to"] for h in r.json()["history"]] == ["pending", "verified"]
    client.put(f"/api/v1/customers/{seed.bob}/kyc", json=body, headers=comp)
    again = client.post(
        f"/api/v1/customers/{seed.bob}/kyc/review", json={"status": "verified"}, headers=comp
    )
    assert again.status_code == 409 and "another reviewer" in again.json()["detail"]
    # the full number only through the audited reveal, with its reason
    shown = client.post(
        f"/api/v1/customers/{seed.bob}/reveal",
        json={"field": "kyc_document", "reason": "客户来电核对证件"},
        headers=agent,
    )
    assert shown.json()["value"] == "E12345678"
    with database.session() as s:
        entry = s.scalars(
            select(AuditEntry).where(AuditEntry.action == "pii.reveal").order_by(AuditEntry.id)
        ).all()[-1]
        assert entry.data["field"] == "kyc_document" and entry.data["reason"] == "客户来电核对证件"
    # bad input names the field
    bad = {
        "doc_type": "resident_id",
        "doc_number": "1234",
        "doc_expires_on": None,
        "funds_source": "salary",
    }
    r = client.put(f"/api/v1/customers/{seed.alice}/kyc", json=bad, headers=agent)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "doc_number"
    past = bad | {"doc_number": "11010519491231002X", "doc_expires_on": "2020-01-01"}
    r = client.put(f"/api/v1/customers/{seed.alice}/kyc", json=past, headers=agent)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "doc_expires_on"
    nul = bad | {"doc_number": "11010519491231002X", "funds_note": "工资\x00"}
    r = client.put(f"/api/v1/customers/{seed.alice}/kyc", json=nul, headers=agent)
    assert r.status_code == 422  # never a 500 from PostgreSQL refusing NUL
    # the daily scan (same world: one database setup for both)
    _scan_raises_one_task_per_expiring_document_and_expires_lapsed_ones(client, seed, database)


def _scan_raises_one_task_per_expiring_document_and_expires_lapsed_ones(client, seed, database):
    from kefu.core.security import User
    from kefu.customers import kyc

    agent, comp = login(client, "agent1"), login(client, "compliance")
    soon = local_today() + timedelta(days=20)
    for cid, number, exp in (
        (seed.alice, "11010519491231002X", soon),
        (seed.bob, "E12345678", local_today() + timedelta(days=200)),
    ):
        r = client.put(
            f"/api/v1/customers/{cid}/kyc",
            json={
                "doc_type": "resident_id" if cid == seed.alice else "passport",
                "doc_number": number,
                "doc_expires_on": exp.isoformat(),
                "funds_source": "savings",
            },
            headers=agent,
        )
        assert r.status_code == 200, r.text
    assert client.post("/api/v1/kyc/scan", headers=comp).json()["expiring"] == 1
    assert client.post("/api/v1/kyc/scan", headers=comp).json()["expiring"] == 0  # once
    tasks = client.get("/api/v1/kyc/tasks", headers=agent).json()
    assert [(t["customer_id"], t["kind"], t["due_on"]) for t in tasks] == [
        (seed.alice, "kyc_document_expiring", soon.isoformat())
    ]
    # compliance sees the task in its console
    console = client.get("/compliance/suitability", headers=comp | {"Accept": "text/html"})
    assert console.text.count('data-testid="task-row"') == 1 and "王建国" in console.text
    # 21 days on, alice's document has lapsed: the record expires and a task says so
    with database.session() as s:
        system_day = soon + timedelta(days=1)
        counts = kyc.scan(s, actor=s.get(User, seed.compliance), today=system_day)
        s.commit()
    assert counts["expired"] == 1
    me = client.get(f"/api/v1/customers/{seed.alice}", headers=agent).json()
    assert me["kyc_status"] == "expired"


def _questionnaire_category_limit_and_validity(client, seed):
    bob = login(client, "bob")
    r = client.post("/api/v1/suitability/assessments", json={"answers": C2_SHEET}, headers=bob)
    assert r.status_code == 201, r.text
    got = r.json()
    assert (got["category"], got["score"], got["allowed"], got["attempts_left"]) == (
        "C2",
        31,
        "R1–R2",
        1,
    )
    # valid for the registry's 12 months (demo_risk_assessment_validity)
    assert got["valid_until"] == add_months(local_today(), 12).isoformat()
    missing = {k: v for k, v in C4_SHEET.items() if k != "horizon"}
    bad = client.post("/api/v1/suitability/assessments", json={"answers": missing}, headers=bob)
    assert bad.status_code == 422 and bad.json()["errors"][0]["field"] == "answers.horizon"
    second = client.post("/api/v1/suitability/assessments", json={"answers": C4_SHEET}, headers=bob)
    assert second.json()["category"] == "C4" and second.json()["attempts_left"] == 0
    third = client.post("/api/v1/suitability/assessments", json={"answers": C4_SHEET}, headers=bob)
    assert third.status_code == 429
    # the customer record follows the latest result
    staff = login(client, "agent1")
    assert client.get(f"/api/v1/customers/{seed.bob}", headers=staff).json()["risk_level"] == "C4"
    # agents may not take it for the customer
    refused = client.post(
        "/api/v1/suitability/assessments", json={"answers": C4_SHEET}, headers=staff
    )
    assert refused.status_code == 403


def test_insisting_on_a_product_above_the_level_needs_the_warning_and_a_confirmation(
    client, seed, database
):
    alice = login(client, "alice")
    no_profile = client.post(
        "/api/v1/suitability/requests", json={"product": "MMF-XINLI"}, headers=alice
    )
    assert no_profile.status_code == 409
    client.post("/api/v1/suitability/assessments", json={"answers": C2_SHEET}, headers=alice)
    ok = client.post("/api/v1/suitability/requests", json={"product": "BOND-WENXIN"}, headers=alice)
    assert ok.json()["outcome"] == "match" and "warning" not in ok.json()
    r = client.post("/api/v1/suitability/requests", json={"product": "MARGIN"}, headers=alice)
    req = r.json()
    assert (req["outcome"], req["risk"], req["allowed"]) == ("mismatch", "R4", "R1–R2")
    assert "第十九条" in req["warning"] and "R4" in req["warning"]
    no_tick = client.post(
        f"/api/v1/suitability/requests/{req['id']}/confirm",
        json={"acknowledged": False},
        headers=alice,
    )
    assert no_tick.status_code == 422
    bob = login(client, "bob")
    theirs = client.post(
        f"/api/v1/suitability/requests/{req['id']}/confirm",
        json={"acknowledged": True},
        headers=bob,
    )
    assert theirs.status_code == 404, theirs.text
    done = client.post(
        f"/api/v1/suitability/requests/{req['id']}/confirm",
        json={"acknowledged": True},
        headers=alice,
    )
    assert done.status_code == 200 and done.json()["outcome"] == "confirmed"
    with database.session() as s:
        entry = s.scalar(select(AuditEntry).where(AuditEntry.action == "suitability.confirm"))
        assert entry is not None and entry.data["product_risk"] == "R4"
        assert entry.data["category"] == "C2" and entry.data["warning_version"]
    # binary options are no product on offer, whatever the category
    banned = client.post(
        "/api/v1/suitability/requests", json={"product": "BINARY-OPTION"}, headers=alice
    )
    assert banned.status_code == 422 and "not a product on offer" in banned.json()["detail"]
    # compliance sees the confirmed mismatch; the agent's desk check shows it too
    comp = login(client, "compliance")
    check = client.get(
        f"/api/v1/customers/{seed.alice}/suitability/check?product=MARGIN", headers=comp
    ).json()
    assert (check["ok"], check["may_insist"], check["allowed"]) == (False, True, "R1–R2")
    # retaken (the day's second attempt) with "cannot bear any loss": the lowest category is
    # refused anything above R1 and may not insist
    r = client.post(
        "/api/v1/suitability/assessments", json={"answers": LOWEST_SHEET}, headers=alice
    )
    assert r.json()["category"] == "lowest" and r.json()["allowed"] == "R1"
    req = client.post(
        "/api/v1/suitability/requests", json={"product": "BOND-WENXIN"}, headers=alice
    ).json()
    assert req["outcome"] == "refused" and "最低类别" in req["warning"]
    confirm = client.post(
        f"/api/v1/suitability/requests/{req['id']}/confirm",
        json={"acknowledged": True},
        headers=alice,
    )
    assert confirm.status_code == 409
    with database.session() as s:
        kept = s.scalar(
            select(AuditEntry).where(AuditEntry.action == "suitability.confirm_refused")
        )
        assert kept is not None and kept.data["product"] == "BOND-WENXIN"
    # bob's questionnaire: the daily limit and the validity (same world)
    _questionnaire_category_limit_and_validity(client, seed)


def test_the_guard_warns_when_an_agent_pitches_above_the_customers_level(client, seed):
    alice = login(client, "alice")
    client.post("/api/v1/suitability/assessments", json={"answers": C2_SHEET}, headers=alice)
    agent = login(client, "agent1")
    case = client.post(
        "/api/v1/cases",
        json={"subject": "理财咨询", "category": "account", "customer_id": seed.alice},
        headers=agent,
    ).json()
    pitch = "您可以考虑开通融资融券，资金利用率更高，风险请您自行评估。"
    r = client.post(f"/api/v1/cases/{case['id']}/messages", json={"body": pitch}, headers=agent)
    assert r.status_code == 409, r.text
    found = [f for f in r.json()["findings"] if f["category"] == "suitability"]
    assert [(f["product"], f["product_risk"], f["customer_category"]) for f in found] == [
        ("MARGIN", "R4", "C2")
    ]
    # within the level: no suitability finding
    fine = "稳鑫纯债债券基金波动较小，过往业绩不代表未来表现。"
    r = client.post(f"/api/v1/cases/{case['id']}/messages", json={"body": fine}, headers=agent)
    assert r.status_code in (201, 200, 409)
    assert not [f for f in r.json().get("findings", []) if f["category"] == "suitability"]
    # the agent confirms the warning: the reply goes out and the override is on record
    sent = client.post(
        f"/api/v1/cases/{case['id']}/messages",
        json={"body": pitch, "confirm_warning": True},
        headers=agent,
    )
    assert sent.status_code in (200, 201), sent.text


def _cookie_login(client, username: str) -> str:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": "kefu-demo"})
    client.cookies.set("kefu_session", r.json()["token"])
    return r.json()["csrf_token"]


def test_the_portal_pages_walk_the_questionnaire_warning_and_confirmation(client, seed):
    csrf = _cookie_login(client, "alice")
    page = client.get("/portal/suitability")
    assert page.status_code == 200 and "普通投资者风险承受能力评估问卷" in page.text
    form = {f"q_{k}": v for k, v in C2_SHEET.items()} | {"csrf": csrf}
    done = client.post("/portal/suitability", data=form, follow_redirects=True)
    assert "C2 谨慎型" in done.text and "R1–R2" in done.text
    asked = client.post(
        "/portal/suitability/products",
        data={"product": "OPTION-50ETF", "csrf": csrf},
        follow_redirects=True,
    )
    assert "特别风险警示" in asked.text and 'data-testid="suit-confirm"' in asked.text
    request_id = int(str(asked.url).split("request=")[1].split("#")[0])
    unticked = client.post(
        f"/portal/suitability/requests/{request_id}/confirm",
        data={"csrf": csrf},
        follow_redirects=True,
    )
    assert "suit-flash" in unticked.text and 'data-testid="suit-confirm"' in unticked.text
    confirmed = client.post(
        f"/portal/suitability/requests/{request_id}/confirm",
        data={"csrf": csrf, "acknowledged": "1"},
        follow_redirects=True,
    )
    assert 'data-testid="suit-confirmed"' in confirmed.text
    # the agent's 360 panel shows the confirmed mismatch and checks another product
    client.cookies.clear()
    _cookie_login(client, "agent1")
    panel = client.get(
        f"/desk/customers/{seed.alice}/suitability?product=MARGIN", headers={"HX-Request": "true"}
    )
    assert panel.status_code == 200
    assert "不匹配 · 客户坚持购买已确认" in panel.text and "上证50ETF期权" in panel.text
    assert 'data-testid="suit-desk-check"' in panel.text and "R1–R2" in panel.text
    # compliance reviews the insisted mismatch
    client.cookies.clear()
    _cookie_login(client, "compliance")
    review = client.get("/compliance/suitability?outcome=confirmed")
    assert review.text.count('data-testid="suitability-row"') == 1
    assert "上证50ETF期权" in review.text and "R1–R2" in review.text
