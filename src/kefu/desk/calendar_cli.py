"""`kefu calendar …`: the business calendars' holidays from the command line — import an .ics
or .csv file, and check which calendars lack holidays for the weeks ahead."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console

from kefu.core.db import Database
from kefu.core.errors import KefuError

calendar_app = typer.Typer(
    help="Business calendars: import holidays (.ics / .csv), check coverage.",
    no_args_is_help=True,
)
_out = Console()
_err = Console(stderr=True)


def _database() -> Database:
    import kefu.models  # noqa: F401
    from kefu.core.config import get_settings

    return Database(get_settings().database_url)


@calendar_app.command("import")
def import_command(
    calendar: str = typer.Argument(help="the calendar's name, e.g. cn-business"),
    file: str = typer.Argument(help="an .ics or .csv (date,name[,kind]) file; - for stdin"),
    fmt: str = typer.Option("", "--format", help="ics or csv when reading stdin"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
) -> None:
    """Adds the holidays and make-up workdays of a file to a calendar; a bad file is refused
    whole, naming the line (exit code 2)."""
    from kefu.desk import service as desk

    if file == "-":
        content, name = sys.stdin.buffer.read(), f"stdin.{fmt or 'csv'}"
    else:
        path = Path(file)
        if not path.is_file():
            _err.print(f"[red]error:[/red] {file}: no such file")
            raise typer.Exit(2)
        content, name = path.read_bytes(), path.name
    database = _database()
    try:
        with database.session() as db:
            cal = desk.calendar_by_name(db, calendar)
            report = desk.import_calendar_file(
                db, actor=None, calendar_id=cal.id, content=content, filename=name
            )
    except KefuError as exc:
        _err.print(f"[red]error:[/red] {exc.detail}")
        raise typer.Exit(2) from exc
    finally:
        database.engine.dispose()
    data = {
        "calendar": report.calendar,
        "holidays": report.holidays,
        "workdays": report.workdays,
        "already": report.already,
    }
    if json_out:
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        return
    _out.print(
        f"[green]{report.calendar}[/green]: {len(report.holidays)} new holidays, "
        f"{len(report.workdays)} new make-up workdays, {report.already} already there"
    )


@calendar_app.command("check")
def check_command(
    days: int = typer.Option(60, min=1, max=3660, help="how far ahead to look"),
) -> None:
    """Lists the calendars with no holiday or make-up workday in the next DAYS days (exit code
    1 when there is one, for a scheduled check)."""
    from kefu.desk import service as desk

    database = _database()
    try:
        with database.session() as db:
            lacking = desk.calendars_needing_holidays(db, days=days)
    finally:
        database.engine.dispose()
    if not lacking:
        _out.print(f"every calendar has holidays in the next {days} days")
        return
    for name in lacking:
        _out.print(
            f"[yellow]{name}[/yellow]: no holiday or make-up workday in the next {days} days"
        )
    raise typer.Exit(1)
