"""`kefu aml scan` over CSV files: the contract's columns and output, malformed rows reported
with file, line and reason while the valid rows are still scanned, and the exit code."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from kefu.cli import app
from tests.aml import scenarios

runner = CliRunner()


def _args(c: Path, t: Path) -> list[str]:
    return ["aml", "scan", "--customers", str(c), "--transactions", str(t), "--json"]


def _files(tmp_path: Path, extra: str = "") -> tuple[Path, Path, scenarios.Scenario]:
    s = scenarios.build(n_background=10, weeks=2)
    c, t = tmp_path / "customers.csv", tmp_path / "transactions.csv"
    scenarios.write_csv(s, c, t)
    if extra:
        with t.open("a", encoding="utf-8") as f:
            f.write(extra)
    return c, t, s


def test_scan_prints_the_contract_and_finds_every_planted_pattern(tmp_path: Path):
    c, t, s = _files(tmp_path)
    r = runner.invoke(app, _args(c, t))
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout)
    assert set(out) == {"alerts"}
    keys = {"customer_id", "rule", "txn_ids", "amount", "window_start", "window_end", "explanation"}
    assert all(set(a) == keys for a in out["alerts"])
    found = {(a["rule"], a["customer_id"]) for a in out["alerts"]}
    assert {(e.rule, e.customer_id) for e in s.positives} <= found
    assert not {(e.rule, e.customer_id) for e in s.near_misses} & found
    cash = next(a for a in out["alerts"] if a["rule"] == "large_cash")
    assert cash["amount"] == "50000.00" and cash["window_start"].endswith("+08:00")
    assert "大额现金" in cash["explanation"]


def test_malformed_rows_are_named_and_the_rest_is_scanned(tmp_path: Path):
    bad = (
        "X1,P00010,2026-01-01T10:00:00,deposit,100,CNY,cash,\n"
        "X2,P00010,2026-01-01T10:00:00+08:00,deposite,100,CNY,cash,\n"
        "X3,P00010,2026-01-01T10:00:00+08:00,deposit,-5,CNY,cash,\n"
        "X4,P00010,2026-01-01T10:00:00+08:00,deposit,1e5,CNY,cash,\n"
        "X5,NOPE,2026-01-01T10:00:00+08:00,deposit,5,CNY,cash,\n"
        "X6,P00010\n"
        "X7,P00010,yesterday,deposit,5,CNY,cash,\n"
        "X8,P00010,2026-01-01T10:00:00+08:00,deposit,5,USD,cash,\n"
    )
    c, t, s = _files(tmp_path, bad)
    lines = t.read_text(encoding="utf-8").splitlines()
    first = len(lines) - 7  # the line number of X1
    r = runner.invoke(app, _args(c, t))
    assert r.exit_code == 2
    assert r.stderr.splitlines()[:8] == [
        f"transactions.csv:{first}: timestamp '2026-01-01T10:00:00' has no UTC offset",
        f"transactions.csv:{first + 1}: unknown kind 'deposite' (deposit, withdrawal, buy, sell)",
        f"transactions.csv:{first + 2}: negative amount -5",
        f"transactions.csv:{first + 3}: amount '1e5' is not a number with at most 4 decimals",
        f"transactions.csv:{first + 4}: unknown customer_id 'NOPE'",
        f"transactions.csv:{first + 5}: missing ts",
        f"transactions.csv:{first + 6}: bad timestamp 'yesterday' (ISO 8601 with offset)",
        f"transactions.csv:{first + 7}: currency 'USD' not supported: the thresholds are in CNY",
    ]
    found = {(a["rule"], a["customer_id"]) for a in json.loads(r.stdout)["alerts"]}
    assert {(e.rule, e.customer_id) for e in s.positives} <= found


def test_a_file_without_a_required_column_is_refused(tmp_path: Path):
    c = tmp_path / "c.csv"
    c.write_text("customer_id,name,opened_at,risk_level\nC1,张三,2020-01-01,C3\n", encoding="utf-8")
    t = tmp_path / "t.csv"
    t.write_text(",".join(["txn_id", "customer_id", "ts"]) + "\n", encoding="utf-8")
    r = runner.invoke(app, ["aml", "scan", "--customers", str(c), "--transactions", str(t)])
    assert r.exit_code == 1
    assert "c.csv: line 1: missing column(s) type" in r.stderr
