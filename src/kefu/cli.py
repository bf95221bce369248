"""`kefu …`: serve, demo, migrate, users, audit — and the sub-commands of each context."""

from __future__ import annotations

import getpass
import json
import sys

import typer
from rich.console import Console
from rich.table import Table

from kefu.academy.cli import academy_app
from kefu.aml.cli import app as aml_app
from kefu.aml.cli import feeds_app
from kefu.compliance.cli import guard_app, screen_command
from kefu.core.config import get_settings
from kefu.core.db import Database
from kefu.customers.cli import app as kyc_app
from kefu.desk.calendar_cli import calendar_app
from kefu.desk.cli import intent_app
from kefu.desk.mail_cli import mail_app
from kefu.knowledge.cli import calc_app, kb_app, rules_app
from kefu.market.cli import app as market_app
from kefu.quality.cli import app as quality_app

app = typer.Typer(help="Kefu (客服): customer service for brokerages.", no_args_is_help=True)
user_app = typer.Typer(help="Users and roles.", no_args_is_help=True)
audit_app = typer.Typer(help="The hash-chained audit log.", no_args_is_help=True)
app.add_typer(user_app, name="user")
content_app = typer.Typer(help="The content folder (KEFU_CONTENT_DIR).", no_args_is_help=True)
app.add_typer(audit_app, name="audit")
app.add_typer(content_app, name="content")
app.add_typer(aml_app, name="aml")
app.add_typer(feeds_app, name="feeds")
console = Console()
err = Console(stderr=True)

DEMO_LOGINS = (
    "admin",
    "supervisor",
    "compliance",
    "trainer",
    "agent1",
    "agent2",
    "trainee1",
    "customer1 … customer20",
)


def _database() -> Database:
    import kefu.models  # noqa: F401  (every table registered)

    return Database(get_settings().database_url)


@app.command()
def migrate() -> None:
    """Create or upgrade the database schema."""
    from kefu.core.migrate import upgrade_with_report

    url = get_settings().database_url
    where = url.split("@")[-1]
    report = upgrade_with_report(url)
    if report.new_database:
        console.print(
            f"[green]created a new database[/green] ({where}): {len(report.created)} tables, "
            f"schema revision {report.after}"
        )
    elif report.before != report.after:
        console.print(
            f"[green]upgraded the database[/green] ({where}) from revision {report.before} "
            f"to {report.after}; new tables: {', '.join(report.created) or 'none'}"
        )
    else:
        console.print(
            f"[green]database is up to date[/green] ({where}), schema revision {report.after}"
        )
        return
    if report.created:
        console.print("tables: " + ", ".join(report.created), soft_wrap=True)
    if report.new_database:
        console.print(
            "next: [bold]kefu demo[/bold] loads the demo data, or [bold]kefu user[/bold] adds users"
        )


@app.command()
def demo() -> None:
    """Load the demo data (idempotent: run it as often as you like)."""
    from kefu.demo import DEMO_PASSWORD, load_demo

    database = _database()
    with database.session() as db:
        counts = load_demo(db, get_settings().content_dir / "demo")
    console.print(
        f"[green]demo data ready[/green]: {counts['users']} staff, "
        f"{counts['customers']} new customers, {counts['cases']} new cases"
    )
    console.print(f"logins (password [bold]{DEMO_PASSWORD}[/bold]): " + ", ".join(DEMO_LOGINS))


@app.command()
def serve(
    host: str = typer.Option("127.0.0.1", help="interface to listen on"),
    port: int = typer.Option(8000, min=1, max=65535),
    demo_data: bool = typer.Option(False, "--demo", help="migrate and load the demo data first"),
    workers: int = typer.Option(1, min=1, max=64),
) -> None:
    """Serve the API and the consoles."""
    import uvicorn

    if demo_data:
        migrate()
        demo()
    console.print(f"Kefu on [bold]http://{host}:{port}/[/bold]  (desk: /desk, admin: /admin)")
    smtp = None
    if get_settings().smtp_listen:  # one SMTP server for the whole process, whatever the workers
        from kefu.desk.email_channel import start_smtp_server

        try:
            smtp = start_smtp_server(_database(), get_settings().smtp_listen)
        except (ValueError, OSError) as exc:
            err.print(f"[red]cannot receive e-mail on {get_settings().smtp_listen}: {exc}[/red]")
            raise typer.Exit(2) from exc
        console.print(f"receiving e-mail on [bold]{get_settings().smtp_listen}[/bold]")
    try:
        uvicorn.run(
            "kefu.web.app:create_app",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_level="info",
            # chat frames are a few hundred bytes: compressing each one per socket costs more
            # CPU than it saves on the wire
            ws_per_message_deflate=False,
        )
    finally:
        if smtp is not None:
            smtp.stop()


@user_app.command("add")
def user_add(
    username: str,
    role: str = typer.Option(
        ..., help="customer | agent | supervisor | compliance | trainer | admin"
    ),
    name: str = typer.Option("", help="display name"),
) -> None:
    """Add a user with an Argon2-hashed password, asked for at a prompt (twice) or read from
    the first line of standard input — never from the command line, where `ps` and the shell
    history would keep it."""
    from kefu.core.errors import KefuError
    from kefu.identity import service as identity

    if sys.stdin.isatty():
        password = getpass.getpass("password: ")
        if getpass.getpass("again: ") != password:
            err.print("[red]the two passwords differ[/red]")
            raise typer.Exit(2)
    else:
        password = sys.stdin.readline().rstrip("\r\n")
    database = _database()
    try:
        with database.session() as db:
            identity.create_user(
                db,
                actor=None,
                username=username,
                role=role,
                password=password,
                display_name=name,
            )
    except KefuError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(2 if exc.status == 422 else 1) from exc
    console.print(f"[green]added {role} {username}[/green]")


@user_app.command("list")
def user_list() -> None:
    """List users and their roles."""
    from kefu.identity import service as identity

    table = Table("id", "username", "role", "name", "active")
    with _database().session() as db:
        for u in identity.list_users(db):
            table.add_row(
                str(u.id), u.username, u.role, u.display_name, "yes" if u.is_active else "no"
            )
    console.print(table)


@audit_app.command("seal")
def audit_seal() -> None:
    """Chain every committed entry not yet sealed (the web app does this every
    KEFU_AUDIT_SEAL_SECONDS; run it after command-line work when no server is running)."""
    from kefu.core.audit import seal_pending

    database = _database()
    n = seal_pending(database.sessions, lock=database.write_lock)
    console.print(f"sealed {n} entries")


@audit_app.command("checkpoint")
def audit_checkpoint() -> None:
    """Seal what is pending, sign the chain's head and append it to the checkpoint file (run it
    from cron, e.g. every five minutes): `kefu audit verify` then proves nothing was cut from the
    end or re-hashed."""
    from kefu.core.audit import append_checkpoint, make_checkpoint, seal_pending
    from kefu.core.security import audit_checkpoint_key

    path = get_settings().checkpoint_path()
    database = _database()
    seal_pending(database.sessions, lock=database.write_lock)
    with database.session() as db:
        cp = make_checkpoint(db, audit_checkpoint_key())
    if cp is None:
        console.print("the audit log is empty; nothing to sign")
        return
    append_checkpoint(path, cp)
    console.print(f"checkpoint: seq {cp.seq} at {cp.at} → {path}")


@audit_app.command("verify")
def audit_verify(json_out: bool = typer.Option(False, "--json")) -> None:
    """Check the hash chain; name the first entry that was altered or removed."""
    from kefu.core.audit import read_checkpoints, verify
    from kefu.core.security import audit_checkpoint_key

    checkpoints = read_checkpoints(get_settings().checkpoint_path())
    with _database().session() as db:
        result = verify(db, checkpoints=checkpoints, key=audit_checkpoint_key())
    if json_out:
        typer.echo(
            json.dumps(
                {
                    "ok": result.ok,
                    "checked": result.checked,
                    "broken_seq": result.broken_seq,
                    "broken_id": result.broken_id,
                    "reason": result.reason,
                    "pending": result.pending,
                }
            )
        )
    elif result.ok:
        anchored = f", {len(checkpoints)} checkpoints matched" if checkpoints else ""
        waiting = f"; {result.pending} recorded but not yet sealed" if result.pending else ""
        console.print(
            f"[green]audit log intact[/green]: {result.checked} entries verified{anchored}{waiting}"
        )
    else:
        console.print(
            f"[red]audit log BROKEN[/red] after {result.checked} good entries: {result.reason}"
        )
    if not result.ok:
        raise typer.Exit(1)


@content_app.command("sync")
def content_sync(
    force: bool = typer.Option(False, "--force", help="overwrite articles edited in /admin/kb"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Load every context's part of the content folder (KEFU_CONTENT_DIR) into the database:
    the guard policy is checked, KB articles synced (new versions of changed files), calendars,
    SLA policies and canned replies the database lacks created. Idempotent; run `kefu migrate`
    first."""
    from kefu.academy import service as academy
    from kefu.compliance.content import default_guard, policy_path
    from kefu.desk import content as desk_content
    from kefu.knowledge import service as knowledge

    try:
        guard = default_guard()
    except (OSError, ValueError) as exc:
        err.print(f"[red]error:[/red] {policy_path()}: {exc}")
        raise typer.Exit(2) from exc
    database = _database()
    try:
        with database.session() as db:
            kb = knowledge.sync(db, force=force)
            desk = desk_content.sync(db)
            academy_report = academy.sync_content(db, force=force)
    except (knowledge.ArticleError, OSError, ValueError, KeyError, academy.KefuError) as exc:
        err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    finally:
        database.engine.dispose()
    if json_out:
        out = {
            "compliance": {"guard_rules": len(guard.rules)},
            "knowledge": kb.to_dict(),
            "desk": desk.to_dict(),
            "academy": academy_report,
        }
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    console.print(f"[green]guard policy[/green]: {len(guard.rules)} rules")
    console.print(
        f"[green]knowledge base[/green]: {len(kb.created)} new, {len(kb.updated)} updated, "
        f"{len(kb.unchanged)} unchanged"
    )
    for slug in kb.kept_admin_edits:
        err.print(f"[yellow]kept the /admin/kb edit of {slug}[/yellow] (--force overwrites it)")
    console.print(
        f"[green]desk[/green]: {len(desk.calendars)} new calendars, "
        f"{len(desk.sla_policies)} new SLA policies, {len(desk.canned_replies)} new canned "
        f"replies, {len(desk.teams)} new teams (existing ones are kept as edited in /admin)"
    )
    console.print(
        f"[green]academy[/green]: {len(academy_report['created'])} new, "
        f"{len(academy_report['updated'])} updated, {academy_report['unchanged']} unchanged; "
        f"{academy_report['updates']['created']} new product-knowledge updates"
    )
    for name in academy_report["kept_console_edits"]:
        err.print(f"[yellow]kept the /academy edit of {name}[/yellow] (--force overwrites it)")


app.command("screen")(screen_command)
app.add_typer(guard_app, name="guard")
app.add_typer(kb_app, name="kb")
app.add_typer(calc_app, name="calc")
app.add_typer(rules_app, name="rules")
app.add_typer(intent_app, name="intent")
app.add_typer(quality_app, name="qa")
app.add_typer(market_app, name="market")
app.add_typer(academy_app, name="academy")
app.add_typer(calendar_app, name="calendar")
app.add_typer(kyc_app, name="kyc")
app.add_typer(mail_app, name="mail")


if __name__ == "__main__":
    app()
