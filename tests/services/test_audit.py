"""The audit chain: every change is recorded; altering or deleting a row is detected and named."""

from __future__ import annotations

from sqlalchemy import func, select, text
from typer.testing import CliRunner

from kefu.core.audit import AuditEntry, verify
from tests.conftest import login


def _activity(client):
    alice, agent = login(client, "alice"), login(client, "agent1")
    cid = client.post(
        "/api/v1/cases",
        headers=alice,
        json={"subject": "出金", "category": "funds", "body": "钱没到"},
    ).json()["id"]
    client.post(f"/api/v1/cases/{cid}/messages", headers=agent, json={"body": "正在核实"})
    client.patch(f"/api/v1/cases/{cid}", headers=agent, json={"status": "resolved"})
    return cid


def test_actions_are_recorded(client, seed, database):
    _activity(client)
    with database.session() as s:
        actions = set(s.scalars(select(AuditEntry.action)))
    assert {
        "auth.login",
        "case.create",
        "message.customer",
        "message.agent",
        "case.update",
    } <= actions
    with database.session() as s:
        assert verify(s).ok


def test_altered_row_is_named(client, seed, database):
    _activity(client)
    with database.session() as s:
        victim = s.scalar(select(AuditEntry).where(AuditEntry.action == "message.agent"))
        seq = victim.seq
    with database.engine.begin() as conn:
        conn.execute(
            text("UPDATE audit_log SET data = :d WHERE seq = :s"),
            {"d": '{"body": "nothing happened"}', "s": seq},
        )
    with database.session() as s:
        result = verify(s)
    assert not result.ok and result.broken_seq == seq and "altered" in result.reason


def test_deleted_row_is_named(client, seed, database):
    _activity(client)
    with database.session() as s:
        total = s.scalar(select(func.count()).select_from(AuditEntry))
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq = 3"))
    with database.session() as s:
        result = verify(s)
    assert not result.ok and result.broken_seq == 3 and "missing" in result.reason
    with database.engine.begin() as conn:
        conn.execute(text("DELETE FROM audit_log WHERE seq >= 3"))
    with database.session() as s:
        tail = verify(s)
    assert not tail.ok and "deleted" in tail.reason and total > 3


def test_cli_verify_exit_codes(client, seed, database, monkeypatch):
    from kefu.cli import app
    from kefu.core.config import get_settings

    _activity(client)
    monkeypatch.setenv("KEFU_DATABASE_URL", database.url)
    get_settings.cache_clear()
    try:
        ok = CliRunner().invoke(app, ["audit", "verify"])
        assert ok.exit_code == 0 and "intact" in ok.output
        with database.engine.begin() as conn:
            conn.execute(text("UPDATE audit_log SET action = 'x' WHERE seq = 2"))
        bad = CliRunner().invoke(app, ["audit", "verify"])
        assert bad.exit_code == 1 and "seq 2" in bad.output
    finally:
        get_settings.cache_clear()
