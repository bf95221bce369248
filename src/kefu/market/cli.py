"""`kefu market …`: indicators over an OHLCV file, the replay of a binary-option trade, imports."""

from __future__ import annotations

import csv
import json
import math
import sys
from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

import typer
from rich.console import Console
from rich.table import Table

from kefu.core.config import get_settings
from kefu.market import indicators as ind
from kefu.market.series import SeriesError, parse_bars, parse_ticks, parse_time
from kefu.market.settlement import BinaryTrade, ReplayError, replay

app = typer.Typer(help="Market tools: indicators, the replay of disputed trades, price imports.")
_TABLE_ROWS = 30


def _read(path: str) -> str:
    """The text of ``path`` ("-" = stdin); a clear message and exit 2 when it cannot be read."""
    try:
        if path == "-":
            return sys.stdin.read()
        with open(path, encoding="utf-8-sig") as fh:
            return fh.read()
    except OSError as exc:
        typer.echo(err=True, message=f"cannot read {path}: {exc.strerror}")
        raise typer.Exit(2) from exc
    except UnicodeDecodeError as exc:
        typer.echo(err=True, message=f"{path} is not UTF-8 text (byte {exc.start})")
        raise typer.Exit(2) from exc


def _zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def _fail(message: str) -> typer.Exit:
    typer.echo(err=True, message=message)
    return typer.Exit(2)


def _params(raw: list[str]) -> dict[str, str]:
    out: dict[str, str] = {}
    for item in raw:
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise _fail(f"--param {item!r}: write it as key=value, e.g. n=20")
        out[key.strip()] = value.strip()
    return out


def _cell(v: float) -> float | None:
    return None if math.isnan(v) else float(v)


@app.command("indicators")
def indicators_command(
    input_path: str = typer.Option(
        ..., "--input", help="OHLCV CSV (ts,open,high,low,close,volume) or -"
    ),
    indicator: str = typer.Option(..., "--indicator", help=", ".join(ind.INDICATORS)),
    param: list[str] = typer.Option([], "--param", help="k=v, repeatable (n=5,10,20 for periods)"),
    style: str = typer.Option("tdx", "--style", help="talib | tdx"),
    json_out: bool = typer.Option(False, "--json", help="a JSON array, null where undefined"),
    csv_out: bool = typer.Option(False, "--csv", help="CSV, NaN where undefined"),
) -> None:
    """Computes one indicator over a bar series: ts plus the indicator's columns."""
    if json_out and csv_out:
        raise _fail("give --json or --csv, not both")
    text = _read(input_path)
    try:
        bars = parse_bars(text, _zone())
        out = ind.compute(indicator, bars.columns(), style=style, params=_params(param))
    except (SeriesError, ind.IndicatorError) as exc:
        raise _fail(f"{input_path}: {exc}" if isinstance(exc, SeriesError) else str(exc)) from exc
    names = list(out)
    if json_out:
        rows = [
            {"ts": label, **{n: _cell(out[n][i]) for n in names}}
            for i, label in enumerate(bars.labels)
        ]
        sys.stdout.write(json.dumps(rows) + "\n")
        return
    if csv_out:
        w = csv.writer(sys.stdout, lineterminator="\n")
        w.writerow(["ts", *names])
        cols = [out[n].tolist() for n in names]
        for i, label in enumerate(bars.labels):
            w.writerow([label, *(repr(c[i]) if not math.isnan(c[i]) else "NaN" for c in cols)])
        return
    table = Table("ts", *names, title=f"{indicator.upper()} ({style})")
    start = max(0, len(bars) - _TABLE_ROWS)
    for i in range(start, len(bars)):
        table.add_row(
            bars.labels[i], *("—" if math.isnan(out[n][i]) else f"{out[n][i]:.4f}" for n in names)
        )
    console = Console()
    console.print(table)
    if start:
        console.print(f"the last {_TABLE_ROWS} of {len(bars)} bars; --csv or --json for all")


def _decimal(obj: dict[str, Any], key: str) -> Decimal:
    raw = obj.get(key)
    if raw is None or isinstance(raw, bool):
        raise ReplayError(f"trade: {key} is missing")
    try:
        value = Decimal(str(raw))
    except InvalidOperation:
        raise ReplayError(f"trade: {key} {raw!r} is not a number") from None
    if not value.is_finite():
        raise ReplayError(f"trade: {key} {raw!r} is not a finite number")
    return value


def _time(obj: dict[str, Any], key: str) -> datetime:
    raw = obj.get(key)
    if not isinstance(raw, str):
        raise ReplayError(f"trade: {key} must be an ISO 8601 time")
    try:
        return parse_time(raw, _zone())
    except ValueError:
        raise ReplayError(f"trade: {key} {raw!r} is not an ISO 8601 time") from None


def trade_from_json(obj: Any) -> BinaryTrade:
    """The replay's trade from its JSON object (the CLI's --trade file)."""
    if not isinstance(obj, dict):
        raise ReplayError("trade: expected a JSON object")
    known = {"direction", "strike", "stake", "payout_rate", "open_ts", "expiry_ts", "tie_rule"}
    unknown = sorted(set(obj) - known)
    if unknown:
        raise ReplayError(f"trade: unknown field(s) {', '.join(unknown)}")
    if not isinstance(obj.get("direction"), str):
        raise ReplayError("trade: direction must be call or put")
    tie = obj.get("tie_rule", "refund")
    if not isinstance(tie, str):
        raise ReplayError("trade: tie_rule must be refund or loss")
    return BinaryTrade(
        direction=obj["direction"],
        strike=_decimal(obj, "strike"),
        stake=_decimal(obj, "stake"),
        payout_rate=_decimal(obj, "payout_rate"),
        open_ts=_time(obj, "open_ts"),
        expiry_ts=_time(obj, "expiry_ts"),
        tie_rule=tie,
    ).checked()


@app.command("replay")
def replay_command(
    trade_path: str = typer.Option(..., "--trade", help="TRADE.json (or - for stdin)"),
    ticks_path: str = typer.Option(..., "--ticks", help="TICKS.csv with ts,price (or -)"),
    json_out: bool = typer.Option(False, "--json", help="print the result as JSON"),
    around: int = typer.Option(5, "--around", min=0, max=500, help="evidence ticks each side"),
) -> None:
    """Replays a binary-option trade: the settlement tick is the last one at or before expiry."""
    if trade_path == "-" and ticks_path == "-":
        raise _fail("only one of --trade and --ticks can be stdin")
    try:
        obj = json.loads(_read(trade_path))
    except json.JSONDecodeError as exc:
        raise _fail(f"{trade_path}: malformed JSON at line {exc.lineno}: {exc.msg}") from exc
    try:
        trade = trade_from_json(obj)
    except ReplayError as exc:
        raise _fail(f"{trade_path}: {exc}") from exc
    try:
        ticks = parse_ticks(_read(ticks_path), _zone())
    except SeriesError as exc:
        raise _fail(f"{ticks_path}: {exc}") from exc
    try:
        result = replay(trade, ticks, around=around)
    except ReplayError as exc:
        raise _fail(f"cannot replay: {exc}") from exc
    data = result.as_dict()
    if json_out:
        sys.stdout.write(json.dumps(data) + "\n")
        return
    console = Console()
    colour = {"win": "green", "loss": "red", "tie": "yellow"}[result.outcome]
    console.print(f"[bold {colour}]{result.outcome.upper()}[/]  tie rule: {trade.tie_rule}")
    console.print(
        f"strike {trade.strike}  settlement {data['expiry_price']} at {data['expiry_tick_ts']}"
    )
    console.print(f"returned {data['returned']}  profit {data['profit']}")
    table = Table("ts", "price", "", title="ticks around expiry")
    for e in data["evidence"]:
        table.add_row(e["ts"], e["price"], "← settlement" if e["settlement"] else "")
    console.print(table)


@app.command("import")
def import_command(
    instrument: str = typer.Option(..., "--instrument", help="instrument code, e.g. 600519"),
    bars_path: str | None = typer.Option(None, "--bars", help="OHLCV CSV (or -)"),
    ticks_path: str | None = typer.Option(None, "--ticks", help="ts,price CSV (or -)"),
    interval: str = typer.Option("1d", "--interval", help="bar interval: 1d | 1m"),
    feed: str | None = typer.Option(None, "--feed", help="tick feed (default: the instrument's)"),
    kind: str = typer.Option("stock", "--kind", help="for a new instrument: stock|fx|metal|…"),
    currency: str = typer.Option("CNY", "--currency", help="for a new instrument"),
) -> None:
    """Stores bars or ticks for an instrument in one transaction (a new code is created)."""
    import kefu.models  # noqa: F401  (every mapper, before a session opens)
    from kefu.core.db import Database
    from kefu.core.errors import KefuError
    from kefu.market import prices

    if (bars_path is None) == (ticks_path is None):
        raise _fail("give exactly one of --bars FILE and --ticks FILE")
    path = bars_path or ticks_path or "-"
    text = _read(path)
    try:
        parsed_bars = parse_bars(text, _zone()) if bars_path else None
        parsed_ticks = parse_ticks(text, _zone()) if ticks_path else None
    except SeriesError as exc:
        raise _fail(f"{path}: {exc}") from exc
    database = Database(get_settings().database_url)
    try:
        with database.session() as db:
            inst = prices.find_instrument(db, instrument)
            if inst is None:
                inst = prices.add_instrument(
                    db, actor=None, code=instrument, kind=kind, currency=currency
                )
            if parsed_bars is not None:
                n = prices.import_bars(
                    db, actor=None, code=instrument, interval=interval, bars=parsed_bars
                )
                what = f"{n} {interval} bars"
            else:
                assert parsed_ticks is not None
                name = feed or inst.feed or "import"
                n = prices.import_ticks(
                    db, actor=None, code=instrument, feed=name, ticks=parsed_ticks
                )
                what = f"{n} ticks of feed {name}"
    except KefuError as exc:
        raise _fail(f"{path}: {exc.detail}") from exc
    finally:
        database.engine.dispose()
    typer.echo(f"imported {what} for {instrument}")
