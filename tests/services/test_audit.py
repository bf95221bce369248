"""The audit chain: every change is recorded; altering or deleting a row is detected and named."""

from __future__ import annotations

import pytest
from sqlalchemy import func, select, text
from typer.testing import CliRunner

from kefu.core.audit import AuditEntry, seal_pending, verify
from tests.conftest import login


def tamper(database, sql: str, params: dict | None = None) -> None:
    """What someone with full access to the database can do: switch off the append-only
    triggers (superuser on PostgreSQL, the file itself on SQLite) and rewrite the log."""
    with database.engine.begin() as conn:
        if database.dialect == "postgresql":
            conn.execute(text("SET LOCAL session_replication_role = replica"))
        else:
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_update"))
            conn.execute(text("DROP TRIGGER IF EXISTS audit_log_no_delete"))
        conn.execute(text(sql), params or {})


def _activity(client):
    alice, agent = login(client, "alice"), login(client, "agent1")
    cid = client.post(
        "/api/v1/cases",
        headers=alice,
        json={"subject": "出金", "category": "funds", "body": "钱没到"},
    ).json()["id"]
    client.post(f"/api/v1/cases/{cid}/messages", headers=agent, json={"body": "正在核实"})
    client.patch(f"/api/v1/cases/{cid}", headers=agent, json={"status": "resolved"})
    database = client.app.state.db
    seal_pending(database.sessions, lock=database.write_lock)
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
    tamper(
        database,
        "UPDATE audit_log SET data = :d WHERE seq = :s",
        {"d": '{"body": "nothing happened"}', "s": seq},
    )
    with database.session() as s:
        result = verify(s)
    assert not result.ok and result.broken_seq == seq and "altered" in result.reason


def test_deleted_row_is_named(client, seed, database):
    _activity(client)
    with database.session() as s:
        total = s.scalar(select(func.count()).select_from(AuditEntry))
    tamper(database, "DELETE FROM audit_log WHERE seq = 3")
    with database.session() as s:
        result = verify(s)
    assert not result.ok and result.broken_seq == 3 and "missing" in result.reason
    tamper(database, "DELETE FROM audit_log WHERE seq >= 3")
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
        tamper(database, "UPDATE audit_log SET action = 'x' WHERE seq = 2")
        bad = CliRunner().invoke(app, ["audit", "verify"])
        assert bad.exit_code == 1 and "seq 2" in bad.output
    finally:
        get_settings.cache_clear()


def _rehash_from(database, start: int, head_seq: int | None = None) -> None:
    """Recomputes every hash from ``start`` and points the head at the (new) end: the attack
    that defeats a chain kept only inside the database."""
    from kefu.core.audit import entry_hash

    with database.session() as s:
        rows = list(
            s.scalars(select(AuditEntry).where(AuditEntry.seq >= start).order_by(AuditEntry.seq))
        )
        prev = s.scalar(select(AuditEntry.hash).where(AuditEntry.seq == start - 1))
        updates = []
        for e in rows:
            digest = entry_hash(
                seq=e.seq,
                at=e.at,
                actor_id=e.actor_id,
                action=e.action,
                entity=e.entity,
                entity_id=e.entity_id,
                data=e.data,
                prev_hash=prev,
            )
            updates.append((e.seq, prev, digest))
            prev = digest
        last = head_seq if head_seq is not None else (rows[-1].seq if rows else start - 1)
        s.rollback()
    for seq, p, h in updates:
        tamper(
            database,
            "UPDATE audit_log SET prev_hash = :p, hash = :h WHERE seq = :s",
            {"p": p, "h": h, "s": seq},
        )
    tamper(
        database, "UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1", {"s": last, "h": prev}
    )


def _signed(database):
    from kefu.core.audit import make_checkpoint
    from kefu.core.security import audit_checkpoint_key

    with database.session() as s:
        return make_checkpoint(s, audit_checkpoint_key())


def test_truncation_with_a_rewritten_head_is_caught_by_the_checkpoint(client, seed, database):
    from kefu.core.security import audit_checkpoint_key

    _activity(client)
    cp = _signed(database)
    with database.session() as s:
        keep = cp.seq - 3
        kept_hash = s.scalar(select(AuditEntry.hash).where(AuditEntry.seq == keep))
    tamper(database, "DELETE FROM audit_log WHERE seq > :k", {"k": keep})
    tamper(
        database,
        "UPDATE audit_head SET seq = :s, hash = :h WHERE id = 1",
        {"s": keep, "h": kept_hash},
    )
    with database.session() as s:
        assert verify(s).ok  # the chain alone cannot tell
        caught = verify(s, checkpoints=[cp], key=audit_checkpoint_key())
    assert not caught.ok and "deleted" in caught.reason and str(cp.seq) in caught.reason


def test_an_emptied_log_is_caught_by_the_checkpoint(client, seed, database, monkeypatch, tmp_path):
    """Deleting every entry and resetting the head leaves nothing for the chain to disagree
    with; the signed checkpoint still vouches for entries that are gone."""
    from kefu.cli import app
    from kefu.core.config import get_settings

    _activity(client)
    monkeypatch.setenv("KEFU_DATABASE_URL", database.url)
    monkeypatch.setenv("KEFU_AUDIT_CHECKPOINTS", str(tmp_path / "cp.jsonl"))
    get_settings.cache_clear()
    try:
        assert CliRunner().invoke(app, ["audit", "checkpoint"]).exit_code == 0
        tamper(database, "DELETE FROM audit_log")
        tamper(database, "UPDATE audit_head SET seq = 0, hash = :g WHERE id = 1", {"g": "0" * 64})
        with database.session() as s:
            assert verify(s).ok  # an empty chain is a valid chain
        bad = CliRunner().invoke(app, ["audit", "verify"])
        assert bad.exit_code == 1 and "deleted" in bad.output, bad.output
    finally:
        get_settings.cache_clear()


def test_a_re_hashed_tail_is_caught_by_the_checkpoint(client, seed, database):
    from kefu.core.security import audit_checkpoint_key

    _activity(client)
    cp = _signed(database)
    with database.session() as s:
        victim = s.scalar(select(AuditEntry).where(AuditEntry.action == "message.agent"))
        seq = victim.seq
    tamper(
        database,
        "UPDATE audit_log SET data = :d WHERE seq = :s",
        {"d": '{"body": "nothing happened"}', "s": seq},
    )
    _rehash_from(database, seq)
    with database.session() as s:
        assert verify(s).ok  # consistent again, as far as the database can say
        caught = verify(s, checkpoints=[cp], key=audit_checkpoint_key())
    assert not caught.ok and "rewritten" in caught.reason


def test_a_checkpoint_signed_with_another_key_is_refused(client, seed, database):
    from kefu.core.audit import make_checkpoint

    _activity(client)
    with database.session() as s:
        forged = make_checkpoint(s, b"not-the-key")
        assert not verify(s, checkpoints=[forged], key=b"the-real-key").ok


def test_the_log_refuses_update_and_delete(client, seed, database):
    from sqlalchemy.exc import DBAPIError

    _activity(client)
    refused = ["UPDATE audit_log SET action = 'x' WHERE seq = 1", "DELETE FROM audit_log"]
    if database.dialect == "postgresql":  # row triggers do not fire on TRUNCATE
        refused.append("TRUNCATE audit_log CASCADE")
    for sql in refused:
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
            conn.execute(text(sql))
    with database.session() as s:
        assert verify(s).ok and s.scalar(select(func.count()).select_from(AuditEntry)) > 0


def test_cli_checkpoint_then_verify(client, seed, database, monkeypatch, tmp_path):
    from kefu.cli import app
    from kefu.core.config import get_settings

    _activity(client)
    monkeypatch.setenv("KEFU_DATABASE_URL", database.url)
    monkeypatch.setenv("KEFU_AUDIT_CHECKPOINTS", str(tmp_path / "cp.jsonl"))
    get_settings.cache_clear()
    try:
        made = CliRunner().invoke(app, ["audit", "checkpoint"])
        assert made.exit_code == 0 and "checkpoint: seq" in made.output
        ok = CliRunner().invoke(app, ["audit", "verify"])
        assert ok.exit_code == 0 and "1 checkpoints matched" in ok.output
        tamper(database, "DELETE FROM audit_log WHERE seq > 2")
        with database.session() as s:
            h = s.scalar(select(AuditEntry.hash).where(AuditEntry.seq == 2))
        tamper(database, "UPDATE audit_head SET seq = 2, hash = :h WHERE id = 1", {"h": h})
        bad = CliRunner().invoke(app, ["audit", "verify"])
        assert bad.exit_code == 1 and "deleted" in bad.output
    finally:
        get_settings.cache_clear()
