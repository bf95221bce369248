"""`kefu kyc …`: the daily KYC scan (run it from cron once a day)."""

from __future__ import annotations

import json
from datetime import date

import typer

app = typer.Typer(help="KYC: the daily scan of identity documents and risk assessments.")


@app.command("scan")
def scan_command(
    today: str = typer.Option("", help="scan as of this day (YYYY-MM-DD); default: today"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Expire lapsed identity documents and raise tasks for documents expiring within the
    registry's notice and for assessments due for renewal (each task once per due date)."""
    import kefu.models  # noqa: F401  (every table registered)
    from kefu.core.config import get_settings
    from kefu.core.db import Database
    from kefu.customers import kyc

    try:
        day = date.fromisoformat(today) if today else None
    except ValueError:
        typer.echo(f"--today: {today!r} is not a date (YYYY-MM-DD)", err=True)
        raise typer.Exit(2) from None
    with Database(get_settings().database_url).session() as db:
        counts = kyc.scan(db, actor=None, today=day)
        db.commit()
    if json_out:
        typer.echo(json.dumps(counts))
    else:
        typer.echo(
            f"documents expired: {counts['expired']}, expiring soon: {counts['expiring']}, "
            f"assessments due: {counts['reassessment']}"
        )
