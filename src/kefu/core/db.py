"""Database plumbing shared by every context: engine, typed base, column types, sessions."""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Iterator
from contextlib import AbstractContextManager, contextmanager, nullcontext
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path
from typing import Any

from sqlalchemy import DateTime, Engine, MetaData, Numeric, create_engine, event
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Session, sessionmaker
from sqlalchemy.types import TypeDecorator

NAMING = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING)


class UTCDateTime(TypeDecorator[datetime]):
    """Timezone-aware UTC in and out, on SQLite (which has no zones) and PostgreSQL alike."""

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime: Kefu stores timezone-aware UTC only")
        value = value.astimezone(UTC)
        return value.replace(tzinfo=None) if dialect.name == "sqlite" else value

    def process_result_value(self, value: datetime | None, dialect: Dialect) -> datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            return value.replace(tzinfo=UTC)
        return value.astimezone(UTC)


class Money(TypeDecorator[Decimal]):
    """NUMERIC(20, 4) that always hands back Decimal (SQLite would otherwise give floats)."""

    impl = Numeric(20, 4, asdecimal=True)
    cache_ok = True

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("money must be Decimal, not float")
        d = Decimal(value)
        return str(d) if dialect.name == "sqlite" else d

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(Decimal("0.0001"))


class Dec(TypeDecorator[Decimal]):
    """A Decimal column with a fixed scale (prices need 8 places; rates 6)."""

    impl = Numeric(24, 8, asdecimal=True)
    cache_ok = True

    def __init__(self, precision: int = 24, scale: int = 8) -> None:
        super().__init__()
        self.impl = Numeric(precision, scale, asdecimal=True)
        self._q = Decimal(1).scaleb(-scale)

    def process_bind_param(self, value: Any, dialect: Dialect) -> Any:
        if value is None:
            return None
        if isinstance(value, float):
            raise TypeError("prices and rates must be Decimal, not float")
        d = Decimal(value)
        return str(d) if dialect.name == "sqlite" else d

    def process_result_value(self, value: Any, dialect: Dialect) -> Decimal | None:
        if value is None:
            return None
        return Decimal(str(value)).quantize(self._q).normalize()


def utcnow() -> datetime:
    return datetime.now(UTC)


def _private_file(url: str) -> None:
    """An SQLite database holds personal data: its file is created readable by its owner only
    (like the key file beside it)."""
    path = url.removeprefix("sqlite:///")
    if not path or path.startswith(":memory:") or url.startswith("sqlite:///:memory:"):
        return
    target = Path(path)
    if not target.exists():
        target.parent.mkdir(parents=True, exist_ok=True)
        os.close(os.open(target, os.O_CREAT | os.O_WRONLY, 0o600))
    with contextlib.suppress(OSError):
        target.chmod(0o600)


def make_engine(url: str, **kwargs: Any) -> Engine:
    # SQL errors and logs never carry bound values (personal data, message bodies)
    kwargs.setdefault("hide_parameters", True)
    if url.startswith("sqlite"):
        if url.startswith("sqlite:///"):
            _private_file(url)
        kwargs.setdefault("connect_args", {"check_same_thread": False, "timeout": 30})
        engine = create_engine(url, **kwargs)

        @event.listens_for(engine, "connect")
        def _sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
            cur = dbapi_conn.cursor()
            if ":memory:" not in url:
                cur.execute("PRAGMA journal_mode=WAL")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA busy_timeout=30000")
            cur.execute("PRAGMA synchronous=NORMAL")
            cur.close()

        return engine
    kwargs.setdefault("pool_pre_ping", True)
    kwargs.setdefault("pool_size", 10)
    kwargs.setdefault("max_overflow", 20)
    return create_engine(url, **kwargs)


class Database:
    """An engine plus its session factory; one per app (tests make their own)."""

    def __init__(self, url: str, **kwargs: Any) -> None:
        self.url = url
        self.engine = make_engine(url, **kwargs)
        self.sessions = sessionmaker(self.engine, expire_on_commit=False)
        # SQLite has one writer at a time; taking turns in-process avoids its busy-wait sleeps
        # (which show up as 100 ms latency spikes). PostgreSQL needs no such lock.
        self.write_lock: AbstractContextManager[Any] = (
            threading.Lock() if self.engine.dialect.name == "sqlite" else nullcontext()
        )

    @property
    def dialect(self) -> str:
        return self.engine.dialect.name

    @contextmanager
    def session(self) -> Iterator[Session]:
        """A unit of work: commits on success, rolls back on any error."""
        s = self.sessions()
        try:
            yield s
            s.commit()
        except BaseException:
            s.rollback()
            raise
        finally:
            s.close()
