"""Writers append audit entries without waiting on one another; a sealer chains them shortly
after commit. The chain still proves order and completeness, two sealers can race, and the
database lets nobody but the sealer touch an entry — and the sealer only to chain it unchanged."""

from __future__ import annotations

import threading
import time

import pytest
from sqlalchemy import select, text
from sqlalchemy.exc import DBAPIError

from kefu.core import audit
from kefu.core.audit import AuditEntry, AuditHead, seal_pending, verify


def _record(database, n: int, action: str = "test.entry") -> None:
    with database.session() as s:
        for i in range(n):
            audit.record(s, actor_id=None, action=action, entity="test", entity_id=i)


def test_an_entry_is_recorded_unsealed_and_the_head_is_not_touched(database):
    _record(database, 3)
    with database.session() as s:
        assert s.get(AuditHead, 1) is None
        assert all(e.seq is None for e in s.scalars(select(AuditEntry)))
        result = verify(s)
    assert result.ok and result.checked == 0 and result.pending == 3
    assert seal_pending(database.sessions) == 3
    with database.session() as s:
        result = verify(s)
        assert [e.seq for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))] == [1, 2, 3]
    assert result.ok and result.checked == 3 and result.pending == 0


def test_entries_recorded_between_seals_extend_the_chain(database):
    _record(database, 2)
    seal_pending(database.sessions)
    _record(database, 2)
    assert seal_pending(database.sessions, limit=1) == 2  # batch by batch until none is left
    with database.session() as s:
        assert verify(s).checked == 4
        assert s.get(AuditHead, 1).seq == 4


def test_a_writer_does_not_wait_for_another_writers_commit(database):
    """With one locked head row every audited write queued behind the last one's commit; now an
    open transaction holding an entry blocks nobody (PostgreSQL: SQLite has one writer anyway)."""
    if database.dialect != "postgresql":
        pytest.skip("SQLite serialises writers by design")
    first = database.sessions()
    audit.record(first, actor_id=None, action="test.slow", entity="test", entity_id=1)
    try:
        with database.session() as second:
            second.execute(text("SET LOCAL lock_timeout = '2s'"))
            audit.record(second, actor_id=None, action="test.fast", entity="test", entity_id=2)
    finally:
        first.commit()
        first.close()
    seal_pending(database.sessions)
    with database.session() as s:
        assert verify(s).checked == 2


def test_two_sealers_racing_leave_one_valid_chain(database):
    _record(database, 300)
    errors: list[BaseException] = []

    def run() -> None:
        try:
            for _ in range(20):
                seal_pending(database.sessions, limit=25)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors
    seal_pending(database.sessions)
    with database.session() as s:
        result = verify(s)
    assert result.ok and result.checked == 300 and result.pending == 0


def test_the_database_refuses_to_edit_an_unsealed_entry(database):
    _record(database, 1)
    for sql in (
        "UPDATE audit_log SET action = 'x'",
        """UPDATE audit_log SET seq = 1, prev_hash = 'a', hash = 'b', data = '{"x": 1}'""",
        "DELETE FROM audit_log",
    ):
        with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
            conn.execute(text(sql))
    # the sealer's own update (chain fields only) is the one that passes
    assert seal_pending(database.sessions) == 1
    with pytest.raises(DBAPIError, match="append-only"), database.engine.begin() as conn:
        conn.execute(text("UPDATE audit_log SET hash = 'c'"))


def test_the_web_app_seals_by_itself(database, seed, monkeypatch):
    from fastapi.testclient import TestClient

    from kefu.core.config import get_settings
    from kefu.web.app import create_app

    monkeypatch.setenv("KEFU_AUDIT_SEAL_SECONDS", "0.2")
    get_settings.cache_clear()
    try:
        with TestClient(create_app(database)) as c:
            r = c.post("/api/v1/auth/login", json={"username": "alice", "password": "kefu-demo"})
            assert r.status_code == 200
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                with database.session() as s:
                    if audit.pending(s) == 0:
                        break
                time.sleep(0.05)
            with database.session() as s:
                result = verify(s)
        assert result.ok and result.pending == 0 and result.checked >= 1
    finally:
        get_settings.cache_clear()


def test_two_processes_on_one_sqlite_file_record_side_by_side(database):
    """Two workers on one SQLite file each have their own in-process lock; when every audited
    write read and bumped one head row, their concurrent writes failed (a unique seq or a stale
    snapshot, a 500 to the user). Appending needs no shared row, so both complete."""
    if database.dialect != "sqlite":
        pytest.skip("the two-process case of the embedded database")
    from kefu.core.db import Database

    workers = [Database(database.url), Database(database.url)]
    errors: list[BaseException] = []

    def write(db: Database, who: int) -> None:
        try:
            for i in range(40):
                with db.session() as s:
                    audit.record(s, actor_id=None, action="test.reveal", entity="w", entity_id=i)
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=write, args=(w, n)) for n, w in enumerate(workers)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert not errors, errors[:1]
    seal_pending(database.sessions)
    with database.session() as s:
        assert verify(s).checked == 80
