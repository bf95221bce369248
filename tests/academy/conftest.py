"""Academy fixtures: the sample content under tests/academy/fixtures synced into a database of
the module's own, with a trainer, a trainee and a mentor; each test rolled back."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from kefu.core.db import Database
from kefu.core.security import User
from tests import dbshare

FIXTURES = Path(__file__).parent / "fixtures" / "academy"


@lru_cache(maxsize=1)
def _hash() -> str:
    from kefu.core.security import hash_password

    return hash_password("kefu-demo")


def make_user(s: Session, username: str, role: str, *, name: str, **kw: object) -> int:
    """A user with one password hash shared by all (Argon2 per user costs seconds)."""
    u = User(username=username, role=role, display_name=name, password_hash=_hash(), **kw)
    s.add(u)
    s.flush()
    return u.id


@dataclass
class People:
    trainer: User
    trainee: User
    mentor: User
    agent: User
    supervisor: User


# every academy test starts from the same state (the fixture content synced, five users): it is
# built once per module and each test runs in a transaction rolled back when it ends
# (tests/dbshare.py)
@pytest.fixture(scope="module")
def _academy_module(
    _template: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[Database, tuple[int, ...]]]:
    from kefu.academy import catalogue

    db = dbshare.module_database(_template, tmp_path_factory)
    try:
        s = db.sessions()
        try:
            ids = (
                make_user(s, "trainer", "trainer", name="周老师"),
                make_user(s, "trainee1", "agent", name="小新", is_trainee=True),
                make_user(s, "mentor1", "agent", name="老王"),
                make_user(s, "agent9", "agent", name="李四"),
                make_user(s, "sup", "supervisor", name="主管"),
            )
            catalogue.sync(s, folder=FIXTURES)
            s.commit()
        finally:
            s.close()
        yield db, ids
    finally:
        db.engine.dispose()


@pytest.fixture
def database(_academy_module: tuple[Database, tuple[int, ...]]) -> Iterator[Database]:
    with dbshare.rolled_back(_academy_module[0]) as db:
        yield db


@pytest.fixture
def academy(
    database: Database, _academy_module: tuple[Database, tuple[int, ...]]
) -> Iterator[tuple[Session, People]]:
    s = database.sessions()
    try:
        people = People(*(s.get(User, i) for i in _academy_module[1]))  # type: ignore[arg-type]
        yield s, people
    finally:
        s.rollback()
        s.close()
