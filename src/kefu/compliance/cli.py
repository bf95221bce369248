"""`kefu screen`: screen one text, or a JSON-lines stream, with the compliance guard;
`kefu guard train`: rebuild the guard's learned model from the labelled corpus."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, BinaryIO

import typer
from rich.console import Console
from rich.table import Table

from kefu.compliance.content import MODEL_PATH, corpus_digest, default_guard, read_corpus
from kefu.compliance.guard import GuardInputError
from kefu.compliance.model import ModelDataError, train

app = typer.Typer(help="The compliance guard.")
guard_app = typer.Typer(help="The compliance guard's learned second opinion.", no_args_is_help=True)
_err = Console(stderr=True)


def _line_result(raw: bytes, lineno: int) -> tuple[dict[str, Any], bool]:
    """One JSON-lines input → (output object, ok)."""
    try:
        text_line = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        return {"line": lineno, "error": f"invalid UTF-8 at byte {exc.start}"}, False
    try:
        obj = json.loads(text_line)
    except json.JSONDecodeError as exc:
        return {"line": lineno, "error": f"malformed JSON: {exc.msg}"}, False
    if not isinstance(obj, dict) or not isinstance(obj.get("text"), str):
        return {"line": lineno, "error": "expected an object with a string 'text'"}, False
    role = obj.get("role", "agent")
    if role not in ("agent", "customer"):
        return {"line": lineno, "error": f"role must be agent or customer, not {role!r}"}, False
    try:
        result = default_guard().screen(obj["text"], role)
    except GuardInputError as exc:
        return {"line": lineno, "error": str(exc)}, False
    out = result.to_dict()
    out["findings"] = [
        {k: f[k] for k in ("category", "rule", "start", "end", "match", "explanation")}
        for f in out["findings"]
    ]
    return out, True


def _stream(source: BinaryIO) -> int:
    rejected = 0
    for lineno, raw in enumerate(source, start=1):
        raw = raw.rstrip(b"\r\n")
        if not raw.strip():
            continue
        out, ok = _line_result(raw, lineno)
        if not ok:
            rejected += 1
            _err.print(f"line {lineno}: {out['error']}")
        sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
    sys.stdout.flush()
    return rejected


def screen_command(
    text: str | None = typer.Argument(None, help="the message to screen"),
    role: str = typer.Option("agent", "--role", help="agent | customer"),
    json_out: bool = typer.Option(False, "--json", help="print one JSON object"),
    jsonl: str | None = typer.Option(
        None, "--jsonl", help='FILE or "-" for stdin: {"text","role"} per line'
    ),
) -> None:
    """Screen a message before it is sent: verdict, findings, redacted text."""
    if jsonl is not None:
        if text is not None:
            _err.print("give either TEXT or --jsonl, not both")
            raise typer.Exit(2)
        if jsonl == "-":
            rejected = _stream(sys.stdin.buffer)
        else:
            try:
                with open(jsonl, "rb") as fh:
                    rejected = _stream(fh)
            except OSError as exc:
                _err.print(f"cannot read {jsonl}: {exc.strerror}")
                raise typer.Exit(2) from exc
        if rejected:
            _err.print(f"{rejected} line(s) rejected")
            raise typer.Exit(1)
        return
    if text is None:
        _err.print("nothing to screen: give TEXT or --jsonl FILE")
        raise typer.Exit(2)
    if role not in ("agent", "customer"):
        _err.print(f"--role must be agent or customer, not {role!r}")
        raise typer.Exit(2)
    try:
        result = default_guard().screen(text, role)  # type: ignore[arg-type]
    except GuardInputError as exc:
        _err.print(f"cannot screen: {exc}")
        raise typer.Exit(2) from exc
    if json_out:
        typer.echo(json.dumps(result.to_dict(), ensure_ascii=False))
    else:
        colour = {"block": "red", "warn": "yellow", "allow": "green"}[result.verdict]
        console = Console()
        console.print(f"[bold {colour}]{result.verdict.upper()}[/]")
        if result.findings:
            table = Table("category", "rule", "span", "match", "why")
            for f in result.findings:
                table.add_row(f.category, f.rule, f"{f.start}-{f.end}", f.match, f.explanation_en)
            console.print(table)
        if result.redacted != text:
            console.print(f"redacted: {result.redacted}")
        if result.report:
            console.print(
                "[bold]compliance report raised[/]: the customer reports staff misconduct"
            )
    if result.verdict == "block":
        raise typer.Exit(3)


app.command("screen")(screen_command)


@guard_app.command("train")
def guard_train(
    corpus: str | None = typer.Option(
        None, "--corpus", help="folder of *.jsonl (default: content/policies/guard-corpus)"
    ),
    out: str | None = typer.Option(
        None, "--out", help="where to write the model (default: the one the package ships)"
    ),
    max_df: float = typer.Option(
        0.02, "--max-df", min=0.0, max=1.0, help="leave out n-grams in more of the messages"
    ),
) -> None:
    """Train the guard's model on the labelled corpus (deterministic: the same corpus gives the
    same file); thresholds are chosen by cross-validation on the corpus alone."""
    try:
        rows = read_corpus(corpus)
        data = train(rows, max_df=max_df)
    except ModelDataError as exc:
        _err.print(f"cannot train: {exc}")
        raise typer.Exit(2) from exc
    data["corpus"] = {"messages": len(rows), "sha256": corpus_digest(rows)}
    target = Path(out) if out else MODEL_PATH
    target.write_text(
        json.dumps(data, ensure_ascii=False, sort_keys=True, indent=1) + "\n", encoding="utf-8"
    )
    cv = data["cv"]
    Console().print(
        f"[green]guard model[/green] {target}: {len(data['weights'])} n-grams from "
        f"{cv['messages']} of the {len(rows)} messages (those blocked for personal data alone "
        f"are the validators'); cross-validated AUC {cv['auc']}, block at "
        f"{data['thresholds']['block']:.2f} (blocks {cv['block_recall_at_block']:.0%} of "
        f"violations, {cv['allowed_blocked']:.1%} of allowed), review at "
        f"{data['thresholds']['review']:.2f} ({cv['block_recall_at_review']:.0%}, "
        f"{cv['allowed_reviewed']:.1%}), alone (no blocking rule half-made: warns only) at "
        f"{data['thresholds']['alone']:.2f} ({cv['block_recall_at_alone']:.0%}, "
        f"{cv['allowed_alone']:.2%})"
    )
