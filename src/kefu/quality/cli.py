"""`kefu qa …`: score a conversation file against a scorecard; score the closed cases that have
no evaluation yet."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from kefu.compliance.content import default_guard
from kefu.quality import content
from kefu.quality.scorer import (
    QualityError,
    card_for,
    contract_output,
    parse_conversation,
    score,
)

app = typer.Typer(help="Quality: QA scorecards, evaluations and metrics.", no_args_is_help=True)
_err = Console(stderr=True)


def _load(path: str) -> Any:
    try:
        raw = sys.stdin.buffer.read() if path == "-" else Path(path).read_bytes()
    except OSError as exc:
        _err.print(f"cannot read {path}: {exc.strerror}")
        raise typer.Exit(2) from exc
    try:
        return json.loads(raw.decode("utf-8"))
    except UnicodeDecodeError as exc:
        _err.print(f"{path}: invalid UTF-8 at byte {exc.start}")
        raise typer.Exit(2) from exc
    except json.JSONDecodeError as exc:
        _err.print(f"{path}: malformed JSON at line {exc.lineno} column {exc.colno}: {exc.msg}")
        raise typer.Exit(2) from exc


@app.command("score")
def score_command(
    path: str = typer.Argument(..., metavar="FILE.json", help='the conversation, or "-" for stdin'),
    scorecard: str | None = typer.Option(
        None, "--scorecard", help="scorecard name (default: the one for the channel)"
    ),
    json_out: bool = typer.Option(False, "--json", help="print the evaluation as JSON"),
) -> None:
    """Score one conversation: {"channel", "resolved", "messages": [{"role", "text", "at"}]}."""
    data = _load(path)
    try:
        cards = content.scorecards()
        channels = sorted({c for card in cards.values() for c in card.channels})
        conv = parse_conversation(data, channels)
        if scorecard is not None:
            if scorecard not in cards:
                _err.print(f"--scorecard: no scorecard {scorecard!r} ({', '.join(sorted(cards))})")
                raise typer.Exit(2)
            card = cards[scorecard]
        else:
            card = card_for(conv.channel, cards)
        ev = score(conv, card, policy=content.policy(), guard=default_guard())
    except QualityError as exc:
        _err.print(f"{path}: {exc}")
        raise typer.Exit(2) from exc
    out = contract_output(ev, conv.lang)
    if json_out:
        typer.echo(json.dumps(out, ensure_ascii=False))
        return
    console = Console()
    verdict = "AUTO-FAIL" if ev.auto_fail else "PASS" if ev.passed else "FAIL"
    colour = "green" if ev.passed else "red"
    console.print(f"[bold {colour}]{verdict}[/] {ev.score:g}/100 ({card.name} scorecard)")
    if ev.auto_fail:
        console.print(f"without the critical failure: {ev.raw_score:g}")
    sections = Table("section", "score")
    for name, value in ev.sections.items():
        sections.add_row(name, f"{value:g}")
    console.print(sections)
    findings = Table("message", "section", "points", "reason")
    for f in ev.findings:
        idx = "—" if f.message_index is None else str(f.message_index)
        pts = f"{float(f.points):+g}" if f.points else "0"
        findings.add_row(idx, f.section, pts, f.reason(conv.lang))
    console.print(findings)


@app.command("backfill")
def backfill_command(
    limit: int | None = typer.Option(None, "--limit", min=1, help="score at most this many"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Score every resolved or closed case that has no evaluation yet (idempotent)."""
    from kefu.core.config import get_settings
    from kefu.core.db import Database
    from kefu.quality import service as quality

    database = Database(get_settings().database_url)
    with database.session() as db:
        todo = len(quality.unscored_cases(db, limit))
        with Console(stderr=True).status(f"scoring {todo} case(s)…"):
            done = quality.backfill(db, actor=None, limit=limit)
    if json_out:
        typer.echo(json.dumps({"scored": done}))
    else:
        Console().print(f"[green]{done}[/green] case(s) scored")
