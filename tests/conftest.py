"""Shared fixtures: a migrated database (SQLite by default, PostgreSQL when
KEFU_TEST_DATABASE_URL is set), an API client, and a small realistic seed."""

from __future__ import annotations

import functools
import os
import shutil
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

os.environ.setdefault("KEFU_SECRET_KEY", "test-secret-key-not-for-production")
os.environ.setdefault("KEFU_LOGIN_ATTEMPTS_PER_15MIN", "1000")
# tests seal the audit log when they mean to (audit.seal_pending); the app's own sealer stays idle
os.environ.setdefault("KEFU_AUDIT_SEAL_SECONDS", "60")

from sqlalchemy import text
from sqlalchemy.orm import Session

import kefu.models  # noqa: F401
from kefu.core.config import get_settings
from kefu.core.db import Base, Database
from kefu.core.migrate import upgrade

PG_URL = os.environ.get("KEFU_TEST_DATABASE_URL")
get_settings.cache_clear()


@pytest.fixture(scope="session")
def _template(tmp_path_factory: pytest.TempPathFactory) -> str:
    """Runs the real migrations once per session."""
    if PG_URL:
        db = Database(PG_URL)
        with db.engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        db.engine.dispose()
        upgrade(PG_URL)
        return PG_URL
    path = tmp_path_factory.mktemp("tmpl") / "template.db"
    upgrade(f"sqlite:///{path}")
    return str(path)


def empty_tables(db: Database) -> None:
    """Empties every PostgreSQL table between tests. The audit log refuses TRUNCATE (migration
    0024), so its triggers are off for this one transaction, as a superuser's restore has them."""
    tables = ", ".join(t.name for t in reversed(Base.metadata.sorted_tables))
    with db.engine.begin() as conn:
        conn.execute(text("SET LOCAL session_replication_role = replica"))
        conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))


@pytest.fixture
def database(_template: str, tmp_path: Path) -> Iterator[Database]:
    if PG_URL:
        db = Database(PG_URL)
        empty_tables(db)
    else:
        path = tmp_path / "kefu.db"
        shutil.copy(_template, path)
        db = Database(f"sqlite:///{path}")
    try:
        yield db
    finally:
        db.engine.dispose()


@pytest.fixture
def session(database: Database) -> Iterator[Session]:
    s = database.sessions()
    try:
        yield s
    finally:
        s.rollback()
        s.close()


WEEKDAY = ["09:00-12:00", "13:00-18:00"]
CN_CALENDAR = {
    "name": "cn-business",
    "timezone": "Asia/Shanghai",
    "hours": {
        "mon": WEEKDAY,
        "tue": WEEKDAY,
        "wed": WEEKDAY,
        "thu": WEEKDAY,
        "fri": WEEKDAY,
        "sat": [],
        "sun": [],
    },
    # 2026 National Day break and its make-up days (State Council holiday notice for 2026)
    "holidays": [f"2026-10-0{d}" for d in range(1, 8)],
    "workdays": ["2026-09-20", "2026-10-10"],
}


@dataclass
class Seed:
    admin: int
    supervisor: int
    agent1: int
    agent2: int
    compliance: int
    alice_user: int
    bob_user: int
    alice: int
    bob: int


@functools.cache
def demo_password_hash() -> str:
    """One real argon2 hash of the demo password, made once per test run: every seeded user
    logs in with it as before, without paying the hash's deliberate cost for each user of each
    test (about 0.17 s a hash, seven users a seed)."""
    from kefu.core.security import hash_password

    return hash_password("kefu-demo")


def make_user(s: Session, username: str, role: str, **kw: object) -> int:
    from kefu.core.security import User

    u = User(
        username=username,
        role=role,
        display_name=kw.pop("name", username),  # type: ignore[arg-type]
        password_hash=demo_password_hash(),
        **kw,
    )
    s.add(u)
    s.flush()
    return u.id


@pytest.fixture
def seed(database: Database) -> Seed:
    """Two customers with accounts and PII, four staff, SLA policies on a business calendar."""
    return make_seed(database)


def make_seed(database: Database) -> Seed:
    """The seed of :func:`seed`, for a fixture that builds it once per module."""
    from kefu.customers import service as customers
    from kefu.desk import service as desk
    from kefu.desk.models import AgentProfile, BusinessCalendar, SlaPolicy

    with database.session() as s:
        desk.ensure_builtin_statuses(s)
        cal = BusinessCalendar(**CN_CALENDAR)
        s.add(cal)
        s.flush()
        for pr, fr, res in (
            ("urgent", 15, 240),
            ("high", 60, 960),
            ("normal", 240, 2400),
            ("low", 480, 4800),
        ):
            s.add(
                SlaPolicy(
                    priority=pr,
                    first_response_minutes=fr,
                    resolution_minutes=res,
                    calendar_id=cal.id,
                    near_breach_percent=80,
                )
            )
        admin = make_user(s, "admin", "admin")
        sup = make_user(s, "supervisor", "supervisor")
        a1 = make_user(s, "agent1", "agent", name="李娜")
        a2 = make_user(s, "agent2", "agent", name="张伟")
        comp = make_user(s, "compliance", "compliance")
        for uid, langs in ((a1, ["zh", "en"]), (a2, ["zh"])):
            s.add(
                AgentProfile(
                    user_id=uid,
                    presence="offline",
                    capacity=3,
                    languages=langs,
                    categories=["account", "funds", "trading", "technical"],
                )
            )
        au = make_user(s, "alice", "customer")
        bu = make_user(s, "bob", "customer", language="en")
        from kefu.core.security import User

        admin_user = s.get(User, admin)
        alice = customers.create_customer(
            s,
            actor=admin_user,
            code="C01",
            name_zh="王建国",
            name_en="Wang Jianguo",
            user_id=au,
            phone="13812345678",
            email="wang.jianguo@example.com",
            id_number="11010519491231002X",
            kyc_status="verified",
            risk_level="C3",
        )
        customers.add_bank_card(
            s,
            customer=alice,
            bank_name_zh="中国工商银行",
            bank_name_en="ICBC",
            card="6222021234567890128",
        )
        customers.add_account(
            s,
            customer=alice,
            number="A310000001",
            kind="a_share",
            currency="CNY",
            cash=__import__("decimal").Decimal("52340.18"),
        )
        bob = customers.create_customer(
            s,
            actor=admin_user,
            code="C02",
            name_zh="鲍勃",
            name_en="Bob Lee",
            user_id=bu,
            phone="13900001111",
            kyc_status="verified",
            risk_level="C4",
            language="en",
        )
        return Seed(admin, sup, a1, a2, comp, au, bu, alice.id, bob.id)


@pytest.fixture
def client(database: Database) -> Iterator[object]:
    from fastapi.testclient import TestClient

    from kefu.web.app import create_app

    with TestClient(create_app(database)) as c:
        yield c


def login(client: object, username: str) -> dict[str, str]:
    """Bearer headers for a user (the integration path)."""
    r = client.post("/api/v1/auth/login", json={"username": username, "password": "kefu-demo"})  # type: ignore[attr-defined]
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}
