"""Personal data and secrets stay out of logs and files other users could read."""

from __future__ import annotations

import contextlib
import logging
import stat

import pytest
from sqlalchemy.exc import IntegrityError

from kefu.core.db import Database
from kefu.core.security import User
from kefu.web.app import RedactAccessLog, install_log_redaction


def test_access_log_lines_lose_tokens_and_long_numbers(caplog):
    install_log_redaction()
    logger = logging.getLogger("uvicorn.access")
    assert any(isinstance(f, RedactAccessLog) for f in logger.filters)
    with caplog.at_level(logging.INFO, logger="uvicorn.access"):
        logger.info(
            '%s - "%s %s HTTP/%s" %d',
            "127.0.0.1:5000",
            "GET",
            "/api/v1/cases?q=13812345678&token=s3cr3t-t0ken&id=11010519491231002X",
            "1.1",
            200,
        )
    line = caplog.records[-1].getMessage()
    assert "s3cr3t" not in line and "token=[redacted]" in line
    assert "13812345678" not in line and "5678" in line
    assert "110105194912310" not in line


def test_a_running_server_logs_neither_a_token_nor_a_phone_number(database, seed):
    """Through uvicorn itself, with its own logging set up: a page's query string and the
    socket's handshake (which uvicorn logs on its error log) lose the token and the number."""
    import asyncio
    import threading
    import time

    import httpx
    import uvicorn
    from websockets.sync.client import connect

    from kefu.web.app import create_app

    seen: list[str] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            seen.append(record.getMessage())

    server = uvicorn.Server(uvicorn.Config(create_app(database), host="127.0.0.1", port=0))
    thread = threading.Thread(target=lambda: asyncio.run(server.serve()), daemon=True)
    thread.start()
    keep = Keep()
    try:
        deadline = time.monotonic() + 30
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.05)
        for name in ("uvicorn.access", "uvicorn.error"):  # after uvicorn configured its logging
            logging.getLogger(name).addHandler(keep)
        port = server.servers[0].sockets[0].getsockname()[1]
        query = "q=13812345678&token=s3cr3t-t0ken"
        httpx.get(f"http://127.0.0.1:{port}/help?{query}")
        with connect(f"ws://127.0.0.1:{port}/ws?{query}") as ws:
            ws.send('{"type": "ping"}')
            with contextlib.suppress(Exception):
                ws.recv(timeout=5)
    finally:
        server.should_exit = True
        thread.join(timeout=10)
        for name in ("uvicorn.access", "uvicorn.error"):
            logging.getLogger(name).removeHandler(keep)
    logged = "\n".join(seen)
    assert "GET /help?" in logged and '"WebSocket /ws?' in logged, logged
    assert "s3cr3t" not in logged and "13812345678" not in logged, logged
    assert "token=[redacted]" in logged


def test_sql_errors_do_not_carry_the_values(database, seed):
    with database.sessions() as s:
        s.add(User(username="admin", role="admin", password_hash="x-secret-hash-value"))
        with pytest.raises(IntegrityError) as exc:
            s.flush()
        s.rollback()
    assert "x-secret-hash-value" not in str(exc.value)


def test_a_new_sqlite_database_is_readable_by_its_owner_only(tmp_path):
    from sqlalchemy import text

    db = Database(f"sqlite:///{tmp_path / 'fresh.db'}")
    with db.engine.connect() as conn:
        conn.execute(text("CREATE TABLE t (x INTEGER)"))
        conn.commit()
        # the write-ahead log and its index hold recent rows too: SQLite gives them the mode of
        # the database file
        files = sorted(tmp_path.iterdir())
        modes = {p.name: oct(stat.S_IMODE(p.stat().st_mode)) for p in files}
    db.engine.dispose()
    assert set(modes) == {"fresh.db", "fresh.db-wal", "fresh.db-shm"}, modes
    assert set(modes.values()) == {"0o600"}, modes
