"""`kefu calc …` (the broker calculators, exit 2 on bad input), `kefu rules list` (the rules
registry) and `kefu kb …` (sync, ask, export, eval)."""

from __future__ import annotations

import json
import sys
from collections.abc import Callable
from datetime import date
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.table import Table

from kefu.knowledge import calculators as c
from kefu.knowledge.content import rules as load_rules
from kefu.knowledge.rules import Registry, RuleError

calc_app = typer.Typer(
    help="Price limits, fees, margin interest, maintenance ratio, payouts.", no_args_is_help=True
)
_err = Console(stderr=True)


def _registry() -> Registry:
    try:
        return load_rules()
    except RuleError as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _run(fn: Callable[[], Any], json_out: bool, title: str) -> None:
    try:
        result = fn()
    except c.CalcError as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    data = result.to_dict() if hasattr(result, "to_dict") else result
    if json_out:
        sys.stdout.write(json.dumps(data, ensure_ascii=False) + "\n")
        return
    table = Table(title=title, show_header=False)
    for k, v in data.items():
        table.add_row(k, "—" if v is None else str(v))
    Console().print(table)


def _day(value: str | None) -> date | None:
    if value is None:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError as exc:
        _err.print(f"[red]error:[/red] --date: {value!r} is not YYYY-MM-DD")
        raise typer.Exit(2) from exc


def _num(value: str, field: str) -> Any:
    try:
        return c.to_decimal(value, field)
    except c.CalcError as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _rate(value: str, field: str) -> Any:
    try:
        return c.percentage(value, field)
    except c.CalcError as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


@calc_app.command("price-limit")
def price_limit(
    prev_close: str = typer.Option(..., "--prev-close", help="previous close"),
    board: str = typer.Option(..., help="main | st | chinext | star | bse"),
    on: str | None = typer.Option(None, "--date", help="trading day, YYYY-MM-DD (default today)"),
    listing_day: int | None = typer.Option(None, "--listing-day", help="Nth trading day listed"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Limit-up and limit-down prices (half-up to 0.01)."""
    p, day, reg = _num(prev_close, "prev_close"), _day(on), _registry()
    _run(lambda: c.price_limit(p, board, day, listing_day, rules=reg), json_out, "price limit")


@calc_app.command("fees")
def fees(
    side: str = typer.Option(..., help="buy | sell"),
    price: str = typer.Option(...),
    qty: int = typer.Option(..., help="shares"),
    commission_rate: str | None = typer.Option(
        None, "--commission-rate", help="default: the demo broker's rate in the rules registry"
    ),
    min_commission: str | None = typer.Option(
        None, "--min-commission", help="default: the demo broker's minimum"
    ),
    on: str | None = typer.Option(None, "--date", help="trade date, YYYY-MM-DD (default today)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Commission, transfer fee and stamp duty of one order, at the rates of its date."""
    p = _num(price, "price")
    r = None if commission_rate is None else _num(commission_rate, "commission_rate")
    m = None if min_commission is None else _num(min_commission, "min_commission")
    day, reg = _day(on), _registry()
    _run(lambda: c.trading_fees(side, p, qty, r, m, day, rules=reg), json_out, "fees")


@calc_app.command("margin-interest")
def margin_interest(
    amount: str = typer.Option(...),
    annual_rate: str = typer.Option(..., "--annual-rate", help="percent: 6.5, 6.5% or 0.065"),
    days: int = typer.Option(...),
    basis: int | None = typer.Option(
        None, help="360 or 365, as the contract says (default: the demo broker's contract)"
    ),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Financing interest for the days used; the rate and the day basis are the contract's."""
    a, r = _num(amount, "amount"), _rate(annual_rate, "annual_rate")
    b = basis if basis is not None else int(_registry().decimal("demo_margin_rates.day_basis"))
    _run(lambda: {"interest": str(c.margin_interest(a, r, days, b))}, json_out, "interest")


@calc_app.command("maintenance-ratio")
def maintenance_ratio(
    cash: str = typer.Option(...),
    securities_value: str = typer.Option(..., "--securities-value"),
    debt: str = typer.Option(...),
    interest: str = typer.Option("0"),
    on: str | None = typer.Option(None, "--date", help="YYYY-MM-DD (default today)"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Maintenance guarantee ratio against the demo contract's warning and close-out lines."""
    vals = (
        _num(cash, "cash"),
        _num(securities_value, "securities_value"),
        _num(debt, "debt"),
        _num(interest, "interest"),
    )
    day, reg = _day(on), _registry()
    _run(lambda: c.maintenance_ratio(*vals, rules=reg, on=day), json_out, "maintenance ratio")


@calc_app.command("binary-payout")
def binary_payout(
    stake: str = typer.Option(...),
    payout_rate: str = typer.Option(..., "--payout-rate", help="percent: 85, 85% or 0.85"),
    outcome: str = typer.Option(..., help="win | loss | tie"),
    tie_rule: str = typer.Option("refund", "--tie-rule", help="refund | loss"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """What a binary-option contract settles to (to check a disputed settlement)."""
    s, r = _num(stake, "stake"), _rate(payout_rate, "payout_rate")
    _run(lambda: c.binary_payout(s, r, outcome, tie_rule), json_out, "payout")


rules_app = typer.Typer(
    help="The rules registry (content/policies/rules.yaml).", no_args_is_help=True
)


@rules_app.command("list")
def rules_list(
    as_of: str | None = typer.Option(None, "--as-of", help="YYYY-MM-DD (default today)"),
    history: bool = typer.Option(False, "--history", help="every dated entry, not one per rule"),
    lang: str = typer.Option("en", "--lang", help="en | zh: how values are written"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Each rule's value in force on a date, with its effective date, source and last check."""
    day = _day(as_of)
    rows = _registry().table(day, history=history)
    if json_out:
        sys.stdout.write(json.dumps(rows, ensure_ascii=False) + "\n")
        return
    zh = lang.startswith("zh")
    title = f"rules in force on {(day or date.today()).isoformat()}"
    table = Table("rule", "value", "since", "source", "checked", title=None if history else title)
    for row in rows:
        values = "; ".join(
            (f"{k}: " if len(row["values"]) > 1 else "") + v["zh" if zh else "en"]
            for k, v in row["values"].items()
        )
        table.add_row(row["rule"], values, row["effective"] or "—", row["source"], row["checked"])
    Console(width=200).print(table)


kb_app = typer.Typer(help="The knowledge base: sync, ask, export, history.", no_args_is_help=True)


def _kb_index() -> Any:
    """The index over the articles in the configured database (what the desk and portal
    search); before the first `kefu kb sync` that is the shipped content/kb."""
    from sqlalchemy.exc import OperationalError, ProgrammingError

    import kefu.models  # noqa: F401
    from kefu.core.config import get_settings
    from kefu.core.db import Database
    from kefu.knowledge.service import default_index, index_for

    database = Database(get_settings().database_url)
    try:
        with database.session() as db:
            index = index_for(db)
    except (OperationalError, ProgrammingError):
        index = None  # no schema yet
    finally:
        database.engine.dispose()
    if index is None or not index.articles:
        _err.print("[yellow]note:[/yellow] the database holds no articles; searching content/kb")
        return default_index()
    return index


@kb_app.command("sync")
def kb_sync(
    force: bool = typer.Option(False, "--force", help="overwrite articles edited in /admin/kb"),
    json_out: bool = typer.Option(False, "--json"),
) -> None:
    """Load content/kb/*.md into the database: new articles, and a new version of each one whose
    file changed. Articles edited in /admin/kb keep the edit unless --force."""
    import kefu.models  # noqa: F401
    from kefu.core.config import get_settings
    from kefu.core.db import Database
    from kefu.knowledge.service import ArticleError, sync

    database = Database(get_settings().database_url)
    try:
        with database.session() as db:
            report = sync(db, force=force)
    except (ArticleError, RuleError) as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    finally:
        database.engine.dispose()
    if json_out:
        sys.stdout.write(json.dumps(report.to_dict(), ensure_ascii=False) + "\n")
        return
    Console().print(
        f"[green]knowledge base synced[/green]: {len(report.created)} new, "
        f"{len(report.updated)} updated, {len(report.unchanged)} unchanged"
    )
    for slug in report.kept_admin_edits:
        _err.print(f"[yellow]kept the /admin/kb edit of {slug}[/yellow] (--force overwrites it)")


def _ask_one(index: Any, question: str, top: int) -> dict[str, Any]:
    return {"results": [h.to_dict() for h in index.search(question, top=top)]}


@kb_app.command("ask")
def kb_ask(
    question: str | None = typer.Argument(None),
    top: int = typer.Option(3, "--top", min=1, max=50),
    json_out: bool = typer.Option(False, "--json"),
    jsonl: str | None = typer.Option(None, "--jsonl", help='FILE or "-": one {"q"} per line'),
) -> None:
    """Find the articles that answer a question (Chinese or English)."""
    if jsonl is not None:
        try:
            source = sys.stdin.buffer if jsonl == "-" else open(jsonl, "rb")
        except OSError as exc:
            _err.print(f"[red]error:[/red] --jsonl: cannot read {jsonl}: {exc.strerror}")
            raise typer.Exit(2) from exc
        index = _kb_index()
        rejected = 0
        with source:
            for lineno, raw in enumerate(source, start=1):
                if not raw.strip():
                    continue
                try:
                    obj = json.loads(raw.decode("utf-8"))
                    q = obj["q"]
                    if not isinstance(q, str) or not q.strip():
                        raise ValueError("'q' must be a non-empty string")
                    out: dict[str, Any] = _ask_one(index, q, top)
                except (UnicodeDecodeError, ValueError, KeyError, TypeError) as exc:
                    rejected += 1
                    out = {"line": lineno, "error": f"{exc.__class__.__name__}: {exc}"}
                sys.stdout.write(json.dumps(out, ensure_ascii=False) + "\n")
        if rejected:
            raise typer.Exit(1)
        return
    if not question or not question.strip():
        _err.print("[red]error:[/red] give a QUESTION or --jsonl FILE")
        raise typer.Exit(2)
    res = _ask_one(_kb_index(), question, top)
    if json_out:
        sys.stdout.write(json.dumps(res, ensure_ascii=False) + "\n")
        return
    table = Table("slug", "title", "score", "snippet")
    for h in res["results"]:
        table.add_row(h["slug"], h["title"], f"{h['score']:.2f}", h["snippet"])
    Console().print(table if res["results"] else "no article matches")


@kb_app.command("export")
def kb_export(
    out: str | None = typer.Option(None, "--out", help="default: standard output"),
) -> None:
    """Write every article as JSON lines {"slug", "lang", "title", "body"}."""
    lines = []
    for a in _kb_index().articles:
        for lang in ("zh", "en"):
            lines.append(
                json.dumps(
                    {"slug": a.slug, "lang": lang, "title": a.title(lang), "body": a.body(lang)},
                    ensure_ascii=False,
                )
            )
    text = "\n".join(lines) + "\n"
    if out:
        Path(out).write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


@kb_app.command("eval")
def kb_eval(
    data: list[str] = typer.Option(
        [],
        "--data",
        help="YAML files of {q, slug, kind}; default the content's kb-eval/*.yaml",
    ),
    json_out: bool = typer.Option(False, "--json"),
    show_misses: bool = typer.Option(False, "--misses", help="list questions not ranked first"),
) -> None:
    """hit@1, hit@3 and MRR of the search over an evaluation set, overall and per kind."""
    from kefu.knowledge.content import eval_files
    from kefu.knowledge.evaluation import evaluate, load_questions

    try:
        questions = load_questions([Path(p) for p in data] if data else eval_files())
    except (OSError, ValueError) as exc:
        _err.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    if not questions:
        _err.print("[red]error:[/red] no evaluation questions: give --data FILE.yaml")
        raise typer.Exit(2)
    index = _kb_index()
    known = {a.slug for a in index.articles}
    unknown = sorted({q.slug for q in questions} - known)
    if unknown:
        _err.print(f"[red]error:[/red] questions name unknown articles: {', '.join(unknown)}")
        raise typer.Exit(2)
    result = evaluate(lambda q: [h.slug for h in index.search(q, top=10)], questions)
    if not show_misses:
        result.pop("misses")
    if json_out:
        sys.stdout.write(json.dumps(result, ensure_ascii=False) + "\n")
        return
    table = Table("questions", "n", "hit@1", "hit@3", "MRR")
    table.add_row("all", str(result["n"]), *(f"{result[k]:.3f}" for k in ("hit@1", "hit@3", "mrr")))
    for kind, s in result["by_kind"].items():
        table.add_row(kind, str(s["n"]), *(f"{s[k]:.3f}" for k in ("hit@1", "hit@3", "mrr")))
    Console().print(table)
    for m in result.get("misses", []):
        Console().print(f"rank {m['rank'] or '—'}: {m['q']} → want {m['want']}, got {m['got']}")
