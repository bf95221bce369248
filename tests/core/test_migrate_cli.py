"""`kefu migrate` says what it did: a new database, an upgrade, or nothing to do."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefu.cli import app
from kefu.core.config import get_settings


def test_migrate_on_a_new_database_says_what_it_created(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("KEFU_DATABASE_URL", f"sqlite:///{tmp_path / 'fresh.db'}")
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        first = runner.invoke(app, ["migrate"], env={"COLUMNS": "400"})
        assert first.exit_code == 0, first.output
        out = " ".join(first.output.split())
        assert "created a new database" in out
        assert "schema revision" in out
        # the tables it made are named, e.g. the cases and the users
        assert "cases," in out and "users" in out
        again = runner.invoke(app, ["migrate"], env={"COLUMNS": "400"})
        assert again.exit_code == 0, again.output
        out = " ".join(again.output.split())
        assert "database is up to date" in out and "created" not in out
    finally:
        get_settings.cache_clear()
