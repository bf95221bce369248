"""The compliance officer's review of the desk, through the console pages on a real database:
guard decisions with their conversation (masked), filters, verdicts on record and the labelled
export; the audit log's search, verify and CSV; the personal-data reveals."""

from __future__ import annotations

import json

from sqlalchemy import select

from kefu.core import audit
from kefu.core.audit import AuditEntry
from tests.conftest import login


def _cookie(client, username: str) -> str:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": "kefu-demo"})
    client.cookies.set("kefu_session", r.json()["token"])
    return r.json()["csrf_token"]


def test_guard_decisions_verdicts_export_audit_and_reveals(client, seed, database):
    agent = login(client, "agent1")
    case = client.post(
        "/api/v1/cases",
        json={
            "subject": "开户咨询",
            "category": "account",
            "customer_id": seed.alice,
        },
        headers=agent,
    ).json()
    # the customer's words, with a phone number, come first in the conversation
    alice = login(client, "alice")
    client.post(
        f"/api/v1/cases/{case['id']}/messages",
        json={"body": "我的手机13812345678，想问问有没有稳赚的产品"},
        headers=alice,
    )
    blocked = client.post(
        f"/api/v1/cases/{case['id']}/messages",
        json={"body": "这个产品保证收益，稳赚不赔"},
        headers=agent,
    )
    assert blocked.status_code == 422
    client.post(
        f"/api/v1/customers/{seed.alice}/reveal",
        json={"field": "phone", "reason": "核对来电身份"},
        headers=agent,
    )
    with database.session() as s:
        decision = s.scalar(select(AuditEntry).where(AuditEntry.action == "guard.block"))
        assert decision is not None
        decision_id = decision.id

    csrf = _cookie(client, "compliance")
    page = client.get("/compliance/guard?kind=block")
    assert page.status_code == 200
    assert "这个产品保证收益" in page.text
    # the conversation before the decision is shown, with the customer's phone masked
    assert "想问问有没有稳赚的产品" in page.text and "13812345678" not in page.text
    assert client.get("/compliance/guard?kind=report").text.count('data-testid="guard-event"') == 0
    judged = client.post(
        f"/compliance/guard/{decision_id}/verdict",
        data={"verdict": "confirmed", "note": "典型保本承诺", "back": "kind=block", "csrf": csrf},
        follow_redirects=False,
    )
    assert judged.status_code == 303 and judged.headers["location"].startswith(
        "/compliance/guard?kind=block#e"
    )
    assert 'data-testid="guard-verdict"' in client.get("/compliance/guard?verdict=confirmed").text
    assert "这个产品保证收益" not in client.get("/compliance/guard?verdict=none").text
    lines = client.get("/compliance/guard/export.jsonl").text.splitlines()
    labelled = [json.loads(line) for line in lines]
    assert len(labelled) == 1
    assert labelled[0]["expected"] == "block" and labelled[0]["speaker"] == "agent"
    assert "promise" in labelled[0]["categories"] and labelled[0]["trap"] is False
    # a changed mind is on record too
    client.post(
        f"/compliance/guard/{decision_id}/verdict",
        data={"verdict": "false_positive", "csrf": csrf},
    )
    relabelled = json.loads(client.get("/compliance/guard/export.jsonl").text.splitlines()[0])
    assert relabelled["expected"] == "allow" and relabelled["trap"] is True
    with database.session() as s:
        verdicts = s.scalars(select(AuditEntry).where(AuditEntry.action == "guard.verdict")).all()
        assert [v.data["verdict"]["new"] for v in verdicts] == ["confirmed", "false_positive"]

    # the audit log: search, verify (after sealing), CSV export
    found = client.get("/compliance/audit?q=核对来电身份")
    assert found.text.count('data-testid="audit-row"') == 1
    audit.seal_pending(database.sessions)
    verified = client.get("/compliance/audit?verify=1")
    assert 'data-testid="audit-verified"' in verified.text and "flash ok" in verified.text
    csv_text = client.get("/compliance/audit/export.csv?action=pii.").text
    assert csv_text.startswith("\ufeffid,seq,at") and "核对来电身份" in csv_text
    assert "13812345678" not in csv_text

    assert client.get("/compliance/audit?entity_id=%00").status_code == 422
    reveals = client.get("/compliance/reveals?customer=C01")
    assert reveals.text.count('data-testid="reveal-row"') == 1
    assert "核对来电身份" in reveals.text and "李娜" in reveals.text

    # agents do not review compliance
    client.cookies.clear()
    _cookie(client, "agent1")
    assert client.get("/compliance/audit", headers={"Accept": "text/html"}).status_code == 403
