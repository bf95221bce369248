"""Runs the Alembic migrations (one history for SQLite and PostgreSQL)."""

from __future__ import annotations

from dataclasses import dataclass, field

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from sqlalchemy import create_engine, inspect

from kefu.core.config import REPO_ROOT


def alembic_config(url: str) -> Config:
    cfg = Config(str(REPO_ROOT / "alembic.ini"))
    cfg.set_main_option("script_location", str(REPO_ROOT / "alembic"))
    cfg.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return cfg


def upgrade(url: str, revision: str = "head") -> None:
    command.upgrade(alembic_config(url), revision)


@dataclass
class MigrationReport:
    """What ``kefu migrate`` did: the schema revision before and after, the tables it created."""

    before: str | None
    after: str | None
    created: list[str] = field(default_factory=list)

    @property
    def new_database(self) -> bool:
        return self.before is None


def _state(url: str) -> tuple[str | None, set[str]]:
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            revision = MigrationContext.configure(conn).get_current_revision()
            tables = set(inspect(conn).get_table_names())
    finally:
        engine.dispose()
    return revision, tables - {"alembic_version"}


def upgrade_with_report(url: str, revision: str = "head") -> MigrationReport:
    """Upgrades like :func:`upgrade` and says what changed."""
    before, old = _state(url)
    upgrade(url, revision)
    after, new = _state(url)
    return MigrationReport(before, after, sorted(new - old))
