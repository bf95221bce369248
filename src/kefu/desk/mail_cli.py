"""`kefu mail …`: run the e-mail channel without the web app (the SMTP server and the sender),
send what is due once, and show a case's e-mail record."""

from __future__ import annotations

import json
import threading

import typer
from rich.console import Console
from rich.table import Table

from kefu.core.db import Database

mail_app = typer.Typer(help="The e-mail channel: SMTP in and out.", no_args_is_help=True)
_out = Console()
_err = Console(stderr=True)


def _database() -> Database:
    import kefu.models  # noqa: F401
    from kefu.core.config import get_settings

    return Database(get_settings().database_url)


@mail_app.command("serve")
def serve_command(
    listen: str = typer.Option("", help="host:port to receive on (default KEFU_SMTP_LISTEN)"),
) -> None:
    """Receives mail over SMTP and sends the desk's queued replies until interrupted."""
    from kefu.core.config import get_settings
    from kefu.desk import email_channel

    settings = get_settings()
    where = listen or settings.smtp_listen
    if not where:
        _err.print("[red]set KEFU_SMTP_LISTEN (host:port) or pass --listen[/red]")
        raise typer.Exit(2)
    database = _database()
    try:
        controller = email_channel.start_smtp_server(database, where)
    except (ValueError, OSError) as exc:
        _err.print(f"[red]cannot listen on {where}: {exc}[/red]")
        raise typer.Exit(2) from exc
    sending = settings.smtp_url or "nowhere (KEFU_SMTP_URL is unset)"
    _out.print(f"receiving mail on [bold]{where}[/bold]; sending via {sending}")
    stop = threading.Event()
    try:
        while not stop.wait(settings.mail_poll_seconds):
            for mail_id, status in email_channel.deliver_due(database):
                _out.print(f"mail {mail_id}: {status}")
    except KeyboardInterrupt:
        pass
    finally:
        controller.stop()


@mail_app.command("send")
def send_command(json_out: bool = typer.Option(False, "--json")) -> None:
    """Sends the queued mail that is due now (for a cron job when no server runs)."""
    from kefu.core.config import get_settings
    from kefu.desk import email_channel

    if not get_settings().smtp_url:
        _err.print("[red]KEFU_SMTP_URL is not set[/red]")
        raise typer.Exit(2)
    results = email_channel.deliver_due(_database())
    if json_out:
        print(json.dumps([{"mail_id": m, "status": s} for m, s in results]))
        return
    for mail_id, status in results:
        _out.print(f"mail {mail_id}: {status}")
    _out.print(f"{len(results)} tried")


@mail_app.command("log")
def log_command(case_id: int, json_out: bool = typer.Option(False, "--json")) -> None:
    """A case's e-mail record: every message in and out, with its delivery state."""
    from kefu.desk import email_channel

    with _database().session() as db:
        rows = [
            {
                "id": r.id,
                "direction": r.direction,
                "kind": r.kind,
                "status": r.status,
                "attempts": r.attempts,
                "detail": r.detail,
                "message_id": r.message_id,
                "created_at": r.created_at.isoformat(),
            }
            for r in email_channel.outbox_of(db, case_id)
        ]
    if json_out:
        print(json.dumps(rows, ensure_ascii=False))
        return
    table = Table("id", "dir", "kind", "status", "tries", "detail", "Message-ID")
    for r in rows:
        table.add_row(
            str(r["id"]),
            str(r["direction"]),
            str(r["kind"]),
            str(r["status"]),
            str(r["attempts"]),
            str(r["detail"]),
            str(r["message_id"]),
        )
    _out.print(table)
