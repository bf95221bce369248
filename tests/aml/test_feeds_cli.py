"""`kefu feeds import KIND FILE.csv`: every row checked first (file, line, field), the whole
file one transaction, the same monitoring as the API."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from typer.testing import CliRunner

from kefu.aml.models import AmlAlert
from kefu.cli import app
from kefu.core.config import get_settings
from kefu.customers.models import Customer, FundTransfer

runner = CliRunner()


@pytest.fixture
def cli_db(database, monkeypatch):
    monkeypatch.setenv("KEFU_DATABASE_URL", database.url)
    get_settings.cache_clear()
    yield database
    get_settings.cache_clear()


def test_import_checks_every_row_and_stores_all_or_nothing(cli_db, tmp_path: Path):
    people = tmp_path / "customers.csv"
    people.write_text(
        "customer_id,name,type,opened_at,risk_level\nK1,陈静,individual,2021-04-01,C3\n",
        encoding="utf-8",
    )
    r = runner.invoke(app, ["feeds", "import", "customers", str(people)])
    assert r.exit_code == 0, r.output
    moves = tmp_path / "transfers.csv"
    header = "transfer_id,customer_id,ts,kind,amount,method,counterparty_name\n"
    good = "K-1,K1,2026-12-04T09:00:00+08:00,deposit,50000,cash,陈静\n"
    moves.write_text(header + good + "K-2,K1,2026-12-04,deposit,-3,cash,\n", encoding="utf-8")
    r = runner.invoke(app, ["feeds", "import", "transfers", str(moves)])
    assert r.exit_code == 2
    assert "transfers.csv:3: ts:" in r.stderr and "transfers.csv:3: amount:" in r.stderr
    assert "nothing was imported" in r.stderr
    with cli_db.session() as s:
        assert s.scalar(select(FundTransfer).where(FundTransfer.ref == "K-1")) is None
    moves.write_text(header + good + "K-3,NOBODY,2026-12-04T10:00:00+08:00,deposit,1,cash,\n")
    r = runner.invoke(app, ["feeds", "import", "transfers", str(moves)])
    assert r.exit_code == 2
    assert "transfers.csv:3: customer_id: unknown customer 'NOBODY'" in r.stderr
    moves.write_text(header + good, encoding="utf-8")
    r = runner.invoke(app, ["feeds", "import", "transfers", str(moves), "--json"])
    assert r.exit_code == 0, r.output
    assert '"created": 1' in r.stdout and '"alerts_raised": 1' in r.stdout
    with cli_db.session() as s:
        assert s.scalar(select(Customer.name_zh).where(Customer.code == "K1")) == "陈静"
        assert s.scalars(select(AmlAlert.rule)).all() == ["large_cash"]
