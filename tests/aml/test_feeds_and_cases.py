"""Feeds from the back office through the API (batches, idempotency, problem+json naming the
record and field, one transaction), streaming monitoring from the database, the officer's
audited steps and the report export, and no tipping off: agents see a neutral flag only."""

from __future__ import annotations

from datetime import date

from sqlalchemy import select

from kefu.aml import service as aml
from kefu.aml.models import AmlAlert, AmlCase, AmlNote
from kefu.core.audit import AuditEntry
from kefu.core.security import User
from kefu.customers.models import FundTransfer
from tests import dbshare
from tests.conftest import login

# every test starts from the same seed: the database, the seed and the app are built once for
# the module and each test runs in a transaction rolled back when it ends (tests/dbshare.py);
# the socket test is in test_agent_view.py (the hub's tasks would share the test's connection
# from another thread)
_module, database, seed, client = dbshare.seeded_module_fixtures()


def _transfer(tid: str, ts: str, amount: str, method: str = "cash", **kw: str) -> dict:
    return {
        "transfer_id": tid,
        "customer_id": "C01",
        "ts": ts,
        "kind": kw.pop("kind", "deposit"),
        "amount": amount,
        "method": method,
        **kw,
    }


def _post(client, h, kind: str, records: list[dict]):
    return client.post(f"/api/v1/feeds/{kind}", headers=h, json={"records": records})


def test_a_feed_stores_once_and_monitors_what_it_stores(client, seed, database):
    h = login(client, "admin")
    batch = [
        _transfer("F1", "2026-12-04T09:00:00+08:00", "30000"),
        _transfer("F2", "2026-12-04T15:00:00+08:00", "20000.00", counterparty_name=" 王建国 "),
    ]
    r = _post(client, h, "transfers", batch)
    assert r.status_code == 200, r.text
    assert r.json() == {
        "kind": "transfers",
        "received": 2,
        "created": 2,
        "existing": 0,
        "alerts_raised": 1,
        "alerts_updated": 0,
    }
    again = _post(client, h, "transfers", batch).json()
    assert (again["created"], again["existing"], again["alerts_raised"]) == (0, 2, 0)
    with database.session() as s:
        (alert,) = s.scalars(select(AmlAlert)).all()
        assert alert.rule == "large_cash" and alert.txn_refs == ["transfer:F1", "transfer:F2"]
        assert str(alert.amount) == "50000.0000"
        # Friday 4 December 2026: five working days later is Friday 11 December
        assert alert.report_due_on == date(2026, 12, 11)
        case = s.get(AmlCase, alert.case_id)
        assert case is not None and case.status == "open" and case.customer_id == seed.alice
        assert s.scalar(select(FundTransfer.counterparty_name).where(FundTransfer.ref == "F2"))
        actions = [e.action for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]
        assert actions.count("feeds.batch") == 2
        assert "aml.alert_raised" in actions and "aml.case_opened" in actions


def test_streaming_reads_the_window_back_from_the_database(client, seed, database):
    """Three cash deposits in the band, one per batch over six days: the third batch finds
    the structuring pattern from what is stored; an earlier alert of the day grows."""
    h = login(client, "admin")
    for i, day in enumerate(("01", "04", "07")):
        r = _post(
            client, h, "transfers", [_transfer(f"S{i}", f"2026-12-{day}T10:00:00+08:00", "45000")]
        )
        assert r.status_code == 200, r.text
    assert r.json()["alerts_raised"] == 1
    r = _post(client, h, "transfers", [_transfer("S3", "2026-12-07T11:00:00+08:00", "5000")])
    assert r.json()["alerts_raised"] == 1  # large_cash: 45,000 + 5,000 on 7 December
    with database.session() as s:
        rules = {a.rule: a.txn_refs for a in s.scalars(select(AmlAlert))}
        assert rules["structuring"] == ["transfer:S0", "transfer:S1", "transfer:S2"]
        assert rules["large_cash"] == ["transfer:S2", "transfer:S3"]
        assert len(s.scalars(select(AmlCase)).all()) == 1  # both alerts joined one case


def test_bad_records_are_named_and_nothing_is_stored(client, seed, database):
    h = login(client, "admin")
    r = _post(
        client,
        h,
        "transfers",
        [_transfer("B1", "2026-12-04T09:00:00+08:00", "100"), _transfer("B2", "2026-12-04", "-5")],
    )
    assert r.status_code == 422
    assert r.headers["content-type"].startswith("application/problem+json")
    fields = {e["field"] for e in r.json()["errors"]}
    assert {"records.1.ts", "records.1.amount"} <= fields
    r = _post(
        client,
        h,
        "transfers",
        [
            _transfer("B1", "2026-12-04T09:00:00+08:00", "100"),
            {**_transfer("B3", "2026-12-04T09:00:00+08:00", "100"), "customer_id": "NOPE"},
            _transfer("B1", "2026-12-04T10:00:00+08:00", "100"),
        ],
    )
    assert r.status_code == 422, r.text
    errors = r.json()["errors"]
    assert (
        errors[0]["field"] == "records.2.transfer_id" and "repeats record 0" in errors[0]["message"]
    )
    r = _post(
        client,
        h,
        "transfers",
        [
            _transfer("B1", "2026-12-04T09:00:00+08:00", "100"),
            {**_transfer("B3", "2026-12-04T09:00:00+08:00", "100"), "customer_id": "NOPE"},
        ],
    )
    assert r.status_code == 422
    assert r.json()["errors"] == [
        {"field": "records.1.customer_id", "record": 1, "message": "unknown customer 'NOPE'"}
    ]
    with database.session() as s:
        assert s.scalar(select(FundTransfer).where(FundTransfer.ref == "B1")) is None
    too_many = [_transfer(f"M{i}", "2026-12-04T09:00:00+08:00", "1") for i in range(10_001)]
    r = _post(client, h, "transfers", too_many)
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "records"


def test_customers_feed_and_an_entity_held_to_its_own_threshold(client, seed, database):
    h = login(client, "admin")
    people = [
        {
            "customer_id": "E9",
            "name": "某某贸易有限公司",
            "type": "entity",
            "opened_at": "2020-05-01",
        },
        {"customer_id": "P9", "name": "周八", "type": "individual", "account": "A999"},
    ]
    assert _post(client, h, "customers", people).json()["created"] == 2
    assert _post(client, h, "customers", people).json()["existing"] == 2
    r = _post(
        client,
        h,
        "transfers",
        [
            {
                **_transfer("E1", "2026-12-04T09:00:00+08:00", "600000", "bank_transfer"),
                "customer_id": "E9",
            },
            {
                **_transfer("P1", "2026-12-04T09:00:00+08:00", "600000", "bank_transfer"),
                "customer_id": "P9",
                "account": "A999",
            },
        ],
    )
    assert r.status_code == 200 and r.json()["alerts_raised"] == 1
    with database.session() as s:
        (a,) = s.scalars(select(AmlAlert)).all()
        assert a.rule == "large_transfer" and a.txn_refs == ["transfer:P1"]


def test_the_officer_works_the_case_and_every_step_is_on_record(client, seed, database):
    h = login(client, "admin")
    _post(client, h, "transfers", [_transfer("F1", "2026-12-04T09:00:00+08:00", "60000")])
    with database.session() as s:
        officer = s.get(User, seed.compliance)
        case = s.scalars(select(AmlCase)).one()
        aml.assign(s, actor=officer, case_id=case.id, assignee_id=seed.compliance)
        aml.add_comment(s, actor=officer, case_id=case.id, body="客户称为卖房款，待核实")
        aml.escalate(s, actor=officer, case_id=case.id, reason="金额与客户职业不符")
        aml.snooze_rule(
            s, actor=officer, case_id=case.id, rule="large_cash", days=30, reason="已核实为售房款"
        )
        aml.close_case(s, actor=officer, case_id=case.id, outcome="confirmed", reason="上报")
        report = aml.export_report(s, actor=officer, case_id=case.id, lang="zh-CN")
        assert report["large_value_due_on"] == "2026-12-11"
        assert report["alerts"][0]["transactions"] == ["transfer:F1"]
        assert report["customer"]["id_number"].count("*") >= 8  # masked
        assert "2016" in report["alerts"][0]["source"]
        actions = [
            e.action
            for e in s.scalars(
                select(AuditEntry).where(AuditEntry.entity == "aml_case").order_by(AuditEntry.id)
            )
        ]
        assert actions == [
            "aml.case_opened",
            "aml.case_assigned",
            "aml.case_commented",
            "aml.case_escalated",
            "aml.rule_snoozed",
            "aml.case_closed",
            "aml.report_exported",
        ]
        kinds = [n.kind for n in s.scalars(select(AmlNote).order_by(AmlNote.id))]
        assert kinds == ["alert", "assign", "comment", "escalate", "snooze", "close", "export"]
    # the snooze silences large_cash for this customer: a new large cash day opens nothing
    r = _post(client, h, "transfers", [_transfer("F2", "2026-12-08T09:00:00+08:00", "60000")])
    assert r.json()["alerts_raised"] == 0
    with database.session() as s:
        assert len(s.scalars(select(AmlCase)).all()) == 1


def test_the_console_lists_exports_and_refuses_agents(client, seed, database):
    h = login(client, "admin")
    _post(client, h, "transfers", [_transfer("F1", "2026-12-04T09:00:00+08:00", "60000")])
    with database.session() as s:
        case_id = s.scalars(select(AmlCase.id)).one()
    client.cookies.clear()
    client.post("/login", data={"username": "compliance", "password": "kefu-demo"})
    page = client.get("/compliance?rule=large_cash", headers={"Accept": "text/html"})
    assert page.status_code == 200 and "王建国" in page.text and "大额现金" in page.text
    for href in (
        "/compliance/cases",
        "/compliance/guard",
        "/compliance/audit",
        "/compliance/reveals",
        "/compliance/suitability",
    ):
        assert f'href="{href}"' in page.text
    assert "王建国" not in client.get("/compliance?rule=structuring").text
    detail = client.get(f"/compliance/cases/{case_id}")
    csrf = detail.text.split('name="csrf" value="')[1].split('"')[0]
    r = client.post(f"/compliance/cases/{case_id}/report", data={"format": "csv", "csrf": csrf})
    assert r.status_code == 200 and r.headers["content-type"].startswith("text/csv")
    lines = r.content.decode("utf-8-sig").splitlines()
    assert lines[0].startswith("case_id,customer_code,customer_name")
    assert "transfer:F1" in lines[1] and "2026-12-11" in lines[1]
    client.cookies.clear()
    client.post("/login", data={"username": "agent1", "password": "kefu-demo"})
    assert client.get("/compliance", headers={"Accept": "text/html"}).status_code == 403
