"""`kefu aml scan` (CSV files or the database) and `kefu feeds import KIND FILE.csv`.

Exit codes: 0 — all rows used; 2 — some rows were rejected (each reported on stderr with file,
line and reason; a scan still runs over the valid rows, an import stores nothing); 1 — the input
could not be used at all (missing file, missing columns, a bad policy).
"""

from __future__ import annotations

import csv
import json
import sys
from pathlib import Path
from typing import Any

import typer
from pydantic import ValidationError
from rich.console import Console
from rich.table import Table

from kefu.aml import service as aml
from kefu.aml.content import load_policy
from kefu.aml.csvinput import InputError, read_customers, read_transactions
from kefu.aml.monitor import Policy, PolicyError
from kefu.core.config import get_settings
from kefu.core.db import Database
from kefu.core.errors import ValidationFailed

app = typer.Typer(help="Transaction monitoring (AML).", no_args_is_help=True)
feeds_app = typer.Typer(help="Feeds from the back office.", no_args_is_help=True)
_out = Console()
_err = Console(stderr=True)


def _database() -> Database:
    import kefu.models  # noqa: F401  (every table registered)

    return Database(get_settings().database_url)


def _print_alerts(rows: list[dict[str, Any]], as_json: bool) -> None:
    if as_json:
        sys.stdout.write(json.dumps({"alerts": rows}, ensure_ascii=False, indent=1) + "\n")
        return
    table = Table("customer", "rule", "amount", "window", "transactions", "explanation")
    for a in rows:
        ids = a["txn_ids"]
        shown = ", ".join(ids[:3]) + (f" … (+{len(ids) - 3})" if len(ids) > 3 else "")
        window = f"{a['window_start'][:16]} → {a['window_end'][:16]}"
        table.add_row(a["customer_id"], a["rule"], a["amount"], window, shown, a["explanation"])
    _out.print(table)
    _out.print(f"{len(rows)} alert(s)")


@app.command("scan")
def scan(
    customers: Path | None = typer.Option(None, "--customers", help="customers.csv"),
    transactions: Path | None = typer.Option(None, "--transactions", help="transactions.csv"),
    policy_file: Path | None = typer.Option(None, "--policy", help="a policy YAML file"),
    as_json: bool = typer.Option(False, "--json", help='print {"alerts": [...]} as JSON'),
    lang: str = typer.Option("zh", "--lang", help="explanations in zh or en"),
) -> None:
    """Run every rule over two CSV files, or over the database (no files: alerts are recorded
    into AML cases, as the streaming check does)."""
    try:
        policy: Policy = load_policy(policy_file) if policy_file else aml.current_policy()
    except (PolicyError, OSError) as exc:
        _err.print(f"[red]policy:[/red] {exc}")
        raise typer.Exit(1) from None
    if customers is None and transactions is None:
        database = _database()
        with database.session() as db:
            found, outcome = aml.scan_database(db, actor=None)
            ids = sorted({int(a.customer_id) for a in found})
            codes = aml.customer_codes(db, ids)
        rows = [
            {**a.as_json(lang, policy.timezone), "customer_id": codes.get(int(a.customer_id), "")}
            for a in found
        ]
        _print_alerts(rows, as_json)
        _err.print(
            f"database: {len(found)} alert(s); {len(outcome.raised)} new, "
            f"{len(outcome.updated)} grown, {outcome.snoozed} snoozed"
        )
        return
    if customers is None or transactions is None:
        _err.print("[red]give both --customers and --transactions (or neither: the database)[/red]")
        raise typer.Exit(1)
    try:
        cust, rejected = read_customers(customers)
        txns, rejected_t = read_transactions(transactions, cust["customer_id"])
    except InputError as exc:
        _err.print(f"[red]{exc}[/red]", soft_wrap=True)
        raise typer.Exit(1) from None
    rejected += rejected_t
    for r in rejected:
        _err.print(str(r), markup=False, highlight=False)
    found = aml.scan_frames(cust, txns, policy)
    _print_alerts([a.as_json(lang, policy.timezone) for a in found], as_json)
    if rejected:
        _err.print(f"{len(rejected)} row(s) rejected; the other rows were scanned")
        raise typer.Exit(2)


@feeds_app.command("import")
def import_feed(
    kind: str = typer.Argument(..., help="customers, trades or transfers"),
    file: Path = typer.Argument(..., help="a CSV file whose columns are the record's fields"),
    as_json: bool = typer.Option(False, "--json"),
) -> None:
    """Import a CSV file as one transaction: every row valid, or nothing stored."""
    if kind not in aml.FEED_KINDS:
        _err.print(f"[red]unknown feed {kind!r}: customers, trades or transfers[/red]")
        raise typer.Exit(1)
    model = aml.record_model(kind)
    records: list[Any] = []
    where: list[str] = []
    problems: list[str] = []
    try:
        with file.open(newline="", encoding="utf-8-sig") as f:
            reader = csv.DictReader(f)
            unknown = [c for c in reader.fieldnames or [] if c not in model.model_fields]
            if unknown or not reader.fieldnames:
                _err.print(f"[red]{file.name}:1: unknown column(s) {', '.join(unknown)}[/red]")
                raise typer.Exit(1)
            for row in reader:
                label = f"{file.name}:{reader.line_num}"
                if None in row:
                    problems.append(f"{label}: more fields than columns")
                    continue
                data = {k: v for k, v in row.items() if v is not None and v.strip() != ""}
                try:
                    records.append(model.model_validate(data))
                    where.append(label)
                except ValidationError as exc:
                    for e in exc.errors():
                        field = ".".join(str(p) for p in e["loc"]) or "row"
                        problems.append(f"{label}: {field}: {e['msg']}")
    except (OSError, UnicodeDecodeError) as exc:
        _err.print(f"[red]{file}: cannot be read ({exc})[/red]")
        raise typer.Exit(1) from None
    if problems:
        for p in problems:
            _err.print(p, markup=False, highlight=False)
        _err.print(f"{len(problems)} problem(s); nothing was imported")
        raise typer.Exit(2)
    database = _database()
    try:
        with database.session() as db:
            results = aml.import_records(db, kind=kind, records=records, where=where)
    except ValidationFailed as exc:
        for fld in exc.fields:
            _err.print(f"{fld['field']}: {fld.get('message', '')}", markup=False, highlight=False)
        _err.print("nothing was imported")
        raise typer.Exit(2) from None
    total = {
        k: sum(getattr(r, k) for r in results)
        for k in ("received", "created", "existing", "alerts_raised", "alerts_updated")
    }
    if as_json:
        sys.stdout.write(json.dumps({"kind": kind, **total}) + "\n")
    else:
        _out.print(
            f"{kind}: {total['received']} row(s), {total['created']} stored, "
            f"{total['existing']} already there; {total['alerts_raised']} alert(s) raised"
        )
