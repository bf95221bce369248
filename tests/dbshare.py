"""One database per test module, each test rolled back: for modules whose tests all start from
the same seeded state (users, content, the app's start-up load), so the seed and the app are
built once per module instead of once per test.

:func:`module_database` gives a module its own migrated database (SQLite: a copy of the
session's template; PostgreSQL: the test database emptied, as the per-test fixture does).
Whatever the module commits before its first test is its seed. :func:`rolled_back` then runs one
test inside a single connection transaction: every session the test or the app opens from
``database.sessions`` joins that transaction through a SAVEPOINT of its own (its commit releases
the savepoint, its rollback rolls back to it), and the whole transaction is rolled back when the
test ends, so the next test finds the seed again and nothing else.

Not for tests that open the chat socket: the hub's tasks use the database from the app's
thread while the test goes on, and one connection cannot serve both (such a test keeps the
root fixtures: a fresh database and app of its own).
"""

from __future__ import annotations

import asyncio
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from fastapi.testclient import TestClient

from kefu.core.db import Database
from tests.conftest import PG_URL, Seed, empty_tables, make_seed


def module_database(template: str, tmp_path_factory: pytest.TempPathFactory) -> Database:
    if PG_URL:
        db = Database(PG_URL)
        empty_tables(db)
        return db
    path = tmp_path_factory.mktemp("module-db") / "kefu.db"
    shutil.copy(template, path)
    return Database(f"sqlite:///{path}")


@contextmanager
def rolled_back(db: Database) -> Iterator[Database]:
    """Every session made by ``db.sessions`` inside the block joins one transaction that is
    rolled back at the end."""
    conn = db.engine.connect()
    outer = conn.begin()
    if db.dialect == "sqlite":
        # pysqlite defers BEGIN to the first write; a SAVEPOINT opened outside a transaction
        # would commit everything when it is released
        conn.exec_driver_sql("BEGIN")
    saved: dict[str, Any] = dict(db.sessions.kw)
    db.sessions.configure(bind=conn, join_transaction_mode="create_savepoint")
    try:
        yield db
    finally:
        db.sessions.kw.clear()
        db.sessions.kw.update(saved)
        outer.rollback()
        conn.close()


@contextmanager
def seeded_app(
    template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Database, Seed, TestClient]]:
    """A module's database with the shared seed (tests/conftest.py) and the app started on it."""
    from kefu.web.app import create_app

    db = module_database(template, tmp_path_factory)
    try:
        seed = make_seed(db)
        with started_app(create_app(db)) as client:
            yield db, seed, client
    finally:
        db.engine.dispose()


@contextmanager
def started_app(app: Any) -> Iterator[TestClient]:
    """The app started for a whole module, without its periodic audit sealer: a pass of it (every
    KEFU_AUDIT_SEAL_SECONDS, which a module outlives) would use the test's one connection from
    another thread in the middle of a request. Tests seal when they mean to
    (``audit.seal_pending``), as tests/conftest.py intends; the pass at shutdown still runs."""

    async def idle(*_args: Any) -> None:
        await asyncio.Event().wait()

    with pytest.MonkeyPatch.context() as mp:
        mp.setattr("kefu.web.app._seal_audit", idle)
        with TestClient(app) as client:
            yield client


def seeded_module_fixtures() -> tuple[Any, Any, Any, Any]:
    """The fixtures ``_module``, ``database``, ``seed`` and ``client`` of a module whose tests all
    start from the shared seed: the database, the seed and the app are built once for the module
    (:func:`seeded_app`) and each test runs in a transaction rolled back when it ends
    (:func:`rolled_back`). A module takes them with
    ``_module, database, seed, client = dbshare.seeded_module_fixtures()``."""

    @pytest.fixture(scope="module")
    def _module(
        _template: str, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[tuple[Database, Seed, TestClient]]:
        with seeded_app(_template, tmp_path_factory) as module:
            yield module

    @pytest.fixture
    def database(_module: tuple[Database, Seed, TestClient]) -> Iterator[Database]:
        with rolled_back(_module[0]) as db:
            yield db

    @pytest.fixture
    def seed(_module: tuple[Database, Seed, TestClient], database: Database) -> Seed:
        return _module[1]

    @pytest.fixture
    def client(_module: tuple[Database, Seed, TestClient], database: Database) -> TestClient:
        c = _module[2]
        c.cookies.clear()
        return c

    return _module, database, seed, client
