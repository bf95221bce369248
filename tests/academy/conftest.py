"""Academy fixtures: the sample content under tests/academy/fixtures synced into a fresh
database, with a trainer, a trainee and a mentor."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pytest
from sqlalchemy.orm import Session

from kefu.core.db import Database
from kefu.core.security import User

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


@pytest.fixture
def academy(database: Database) -> Iterator[tuple[Session, People]]:
    from kefu.academy import catalogue

    s = database.sessions()
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
        people = People(*(s.get(User, i) for i in ids))  # type: ignore[arg-type]
        yield s, people
    finally:
        s.rollback()
        s.close()
