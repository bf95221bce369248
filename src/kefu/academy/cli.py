"""`kefu academy …`: GIFT import and export, Moodle XML, the installed courses and personas,
role-play from the terminal or a replies file, and the daily re-assessment of expired
certificates. Bad input exits 2 with a message naming the file, line or field."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table
from sqlalchemy.exc import OperationalError, ProgrammingError
from sqlalchemy.orm import Session

from kefu.core.errors import KefuError

academy_app = typer.Typer(
    help="The academy: question banks (GIFT, Moodle XML), courses, personas, role-play.",
    no_args_is_help=True,
)
_out = Console()
_err = Console(stderr=True)


def _fail(message: str) -> typer.Exit:
    _err.print(f"[red]error:[/red] {message}")
    return typer.Exit(2)


@contextmanager
def _session() -> Iterator[Session]:
    import kefu.models  # noqa: F401  (every table registered)
    from kefu.core.config import get_settings
    from kefu.core.db import Database

    database = Database(get_settings().database_url)
    try:
        with database.session() as db:
            yield db
    except (OperationalError, ProgrammingError) as exc:
        raise _fail(f"the database is not ready ({exc.orig}); run `kefu migrate`") from exc
    finally:
        database.engine.dispose()


def _read(path: str) -> str:
    if path == "-":
        return sys.stdin.read()
    p = Path(path)
    if not p.is_file():
        raise _fail(f"{path}: no such file")
    try:
        return p.read_text(encoding="utf-8")
    except UnicodeDecodeError as exc:
        raise _fail(f"{path}: not UTF-8 text") from exc


def _run(fn: Callable[[Session], Any]) -> Any:
    try:
        with _session() as db:
            return fn(db)
    except KefuError as exc:
        raise _fail(exc.detail) from exc


@academy_app.command("import-gift")
def import_gift(
    file: str = typer.Argument(..., help="a GIFT file, or - for standard input"),
    bank: str = typer.Option("", help="the bank (default: the file name before its first dot)"),
    en: str = typer.Option(
        "", help="the English file (default: <name>.en.gift beside <name>.zh.gift)"
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Import GIFT questions into a bank; a changed question gets a new version."""
    from kefu.academy import catalogue

    name = bank or (Path(file).name.split(".")[0] if file != "-" else "")
    if not name:
        raise _fail("--bank is required when reading standard input")
    text = _read(file)
    en_path = en
    if not en_path and file.endswith(".zh.gift"):
        sibling = Path(file[: -len(".zh.gift")] + ".en.gift")
        en_path = str(sibling) if sibling.is_file() else ""
    text_en = _read(en_path) if en_path else None
    report = _run(
        lambda db: catalogue.import_gift(db, actor=None, text=text, bank=name, text_en=text_en)
    )
    if json_out:
        typer.echo(json.dumps({"bank": name, **report.to_dict()}, ensure_ascii=False))
        return
    _out.print(
        f"[green]bank {name}[/green]: {len(report.created)} new, {len(report.updated)} updated, "
        f"{report.unchanged} unchanged"
    )


@academy_app.command("export-gift")
def export_gift(
    bank: str = typer.Option(..., help="the bank to export"),
    lang: str = typer.Option("zh", help="zh | en"),
) -> None:
    """Print a bank as GIFT on standard output."""
    from kefu.academy import catalogue

    sys.stdout.write(_run(lambda db: catalogue.export_gift(db, bank, _lang(lang))))


@academy_app.command("export-moodle")
def export_moodle(
    bank: str = typer.Option(..., help="the bank to export"),
    lang: str = typer.Option("zh", help="zh | en"),
) -> None:
    """Print a bank as Moodle XML on standard output."""
    from kefu.academy import catalogue

    sys.stdout.write(_run(lambda db: catalogue.export_moodle(db, bank, _lang(lang))))


def _lang(lang: str) -> str:
    if lang not in ("zh", "en"):
        raise _fail(f"--lang: zh or en (got {lang!r})")
    return lang


@academy_app.command("courses")
def courses(json_out: bool = typer.Option(False, "--json")) -> None:
    """The installed courses with their lessons and quiz settings."""
    from kefu.academy import catalogue

    def read(db: Session) -> list[dict[str, Any]]:
        banks = {b["name"]: b["questions"] for b in catalogue.list_banks(db)}
        out = []
        for c in catalogue.courses(db):
            bank_name = catalogue.bank_name(db, c.bank_id) if c.bank_id else None
            out.append(
                {
                    "slug": c.slug,
                    "version": c.version,
                    "title": c.data["title"],
                    "bank": bank_name,
                    "questions": banks.get(bank_name or "", 0),
                    "pass_mark": c.data["pass_mark"],
                    "quiz": c.data["quiz"],
                    "lessons": [
                        {"slug": x.slug, "version": x.version, "title": x.data["title"]}
                        for x in catalogue.lessons_of(db, c.id)
                    ],
                }
            )
        return out

    data = _run(read)
    if json_out:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    table = Table("slug", "title", "lessons", "bank", "questions", "pass mark")
    for c in data:
        table.add_row(
            c["slug"],
            c["title"]["zh"],
            str(len(c["lessons"])),
            c["bank"] or "—",
            str(c["questions"]),
            f"{c['pass_mark']} %",
        )
    _out.print(table)


@academy_app.command("personas")
def personas(json_out: bool = typer.Option(False, "--json")) -> None:
    """The installed role-play personas."""
    from kefu.academy import catalogue

    def read(db: Session) -> list[dict[str, Any]]:
        return [
            {
                "slug": p.slug,
                "version": p.version,
                "title": {"zh": p.title.zh, "en": p.title.en},
                "skills": list(p.skills),
                "mood": {"start": p.mood_start, "escalate_at": p.escalate_at},
                "max_turns": p.max_turns,
                "states": len(p.states),
            }
            for _, p in catalogue.personas(db)
        ]

    data = _run(read)
    if json_out:
        typer.echo(json.dumps(data, ensure_ascii=False))
        return
    table = Table("slug", "title", "skills", "states")
    for p in data:
        table.add_row(p["slug"], p["title"]["zh"], ", ".join(p["skills"]), str(p["states"]))
    _out.print(table)


def _persona(slug: str) -> Any:
    """The persona installed in the database, else the content folder's file."""
    import kefu.models  # noqa: F401
    from kefu.academy import catalogue, content
    from kefu.core.config import get_settings
    from kefu.core.db import Database

    url = get_settings().database_url
    if not url.startswith("sqlite:///") or Path(url.removeprefix("sqlite:///")).is_file():
        database = Database(url)
        try:
            with database.session() as db:
                return catalogue.get_persona(db, slug)[2]
        except (KefuError, OperationalError, ProgrammingError):
            pass  # not installed (or no database yet): the content folder's file
        finally:
            database.engine.dispose()
    path = content.academy_dir() / "personas" / f"{slug}.yaml"
    if not path.is_file():
        raise _fail(f"no persona {slug!r} (installed or in {path.parent})")
    try:
        return content.read_persona(path)[0]
    except content.ContentError as exc:
        raise _fail(str(exc)) from exc


@academy_app.command("roleplay")
def roleplay(
    persona: str = typer.Option(..., help="the persona's slug"),
    replies: str = typer.Option("", help="a file of trainee replies, one per line (- for stdin)"),
    lang: str = typer.Option("zh", help="zh | en"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Play a simulated customer: interactively, or from a file of replies. Prints the outcome,
    the QA score, pass/fail, every finding and the transcript with the model answers."""
    from kefu.academy import roleplay as engine
    from kefu.academy import roleplays
    from kefu.academy.judge import default_judge

    p = _persona(persona)
    lg = _lang(lang)
    judge = default_judge()
    if replies:
        lines = [line.strip() for line in _read(replies).splitlines() if line.strip()]
        if not lines:
            raise _fail(f"{replies}: no replies (one per line)")
        run = roleplays.replay(p, lines, lg, judge)
    else:
        run = engine.begin(p, lg)
        _err.print(f"[bold]{p.title(lg)}[/bold]\n{p.brief(lg)}\n")
        given: list[str] = []
        while not run.finished:
            _err.print(f"[cyan]customer[/cyan] (mood {run.mood}/{p.escalate_at}): {run.customer}")
            try:
                line = input("you> ").strip()
            except EOFError:
                break
            if line:
                given.append(line)
                run = roleplays.replay(p, given, lg, judge)
                last = run.turns[-1]
                if last.why:
                    _err.print(f"[dim]  {last.why}[/dim]")
        if run.finished:
            _err.print(f"[cyan]customer[/cyan]: {run.customer}")
    result = roleplays.debrief(p, run, judge)
    out = {
        k: result[k] for k in ("persona", "outcome", "score", "passed", "findings", "transcript")
    }
    out |= {"scorecard": result["scorecard"], "hidden_goal": result["hidden_goal"]}
    if json_out or replies:
        typer.echo(json.dumps(out, ensure_ascii=False, default=str))
    else:
        _out.print(json.dumps(out, ensure_ascii=False, indent=2, default=str))
    if not run.finished:
        raise typer.Exit(1)


@academy_app.command("reassess")
def reassess() -> None:
    """Enrol again every holder of an expired certificate (run daily)."""
    from kefu.academy import programmes

    rows = _run(lambda db: len(programmes.reassess_expired(db)))
    _out.print(f"[green]re-assessment[/green]: {rows} new enrolments")
