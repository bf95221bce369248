"""Settlement replay and the series parser: hand-worked trades, and bad input named by line."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from typer.testing import CliRunner

from kefu.cli import app
from kefu.market.series import SeriesError, Ticks, parse_bars, parse_ticks, to_us
from kefu.market.settlement import BinaryTrade, ReplayError, replay

T0 = datetime(2026, 11, 16, 10, 0, tzinfo=UTC)
TICKS = "ts,price\n" + "\n".join(
    f"{(T0 + timedelta(seconds=s)).isoformat()},{p}"
    for s, p in ((0, "1.1000"), (1, "1.1002"), (2, "1.1001"), (3, "1.0999"), (4, "1.1004"))
)


def trade(direction: str = "call", expiry: float = 2.5, tie_rule: str = "refund") -> BinaryTrade:
    return BinaryTrade(
        direction=direction,
        strike=Decimal("1.1001"),
        stake=Decimal("100.00"),
        payout_rate=Decimal("0.82"),
        open_ts=T0 - timedelta(minutes=5),
        expiry_ts=T0 + timedelta(seconds=expiry),
        tie_rule=tie_rule,
    )


def test_settles_on_the_last_tick_at_or_before_expiry() -> None:
    ticks = parse_ticks(TICKS)
    # 10:00:02.5 -> the 10:00:02 tick (1.1001) equals the strike: a tie, refunded
    r = replay(trade(expiry=2.5), ticks, around=1)
    assert (r.outcome, r.expiry_price, r.expiry_tick_ts) == (
        "tie",
        Decimal("1.1001"),
        T0 + timedelta(seconds=2),
    )
    assert (r.returned, r.profit) == (Decimal("100.00"), Decimal("0.00"))
    assert [p for _, p in r.evidence] == [Decimal("1.1002"), Decimal("1.1001"), Decimal("1.0999")]
    assert r.settlement_index == 1
    # the same tie under the loss rule keeps the stake
    r = replay(trade(expiry=2.5, tie_rule="loss"), ticks)
    assert (r.outcome, r.returned, r.profit) == ("tie", Decimal("0.00"), Decimal("-100.00"))
    # exactly on a tick: that tick (1.0999 < strike): the call loses, the put (down) wins 82 %
    assert replay(trade(expiry=3), ticks).outcome == "loss"
    r = replay(trade("down", expiry=3), ticks)
    assert (r.outcome, r.returned, r.profit) == ("win", Decimal("182.00"), Decimal("82.00"))
    # a microsecond before 10:00:02 still settles on 10:00:01 (1.1002 > strike)
    assert replay(trade(expiry=1.999999), ticks).expiry_price == Decimal("1.1002")


def test_expiry_outside_the_feed_is_refused() -> None:
    ticks = parse_ticks(TICKS)
    with pytest.raises(ReplayError, match="before the first tick"):
        replay(trade(expiry=-1), ticks)
    with pytest.raises(ReplayError, match="after the last tick"):
        replay(trade(expiry=4.5), ticks)
    with pytest.raises(ReplayError, match="call or put"):
        replay(trade("sideways"), ticks)
    with pytest.raises(ReplayError, match="tie_rule"):
        replay(trade(tie_rule="coin"), ticks)


def test_bad_series_name_the_line() -> None:
    with pytest.raises(SeriesError, match=r"line 3: ts .* repeats the timestamp of line 2"):
        parse_ticks("ts,price\n2026-01-01T00:00:00Z,1\n2026-01-01T00:00:00Z,2\n")
    with pytest.raises(SeriesError, match=r"line 3: .* is earlier than line 2"):
        parse_ticks("ts,price\n2026-01-01T00:00:01Z,1\n2026-01-01T00:00:00Z,2\n")
    with pytest.raises(SeriesError, match="line 2: price 'abc' is not a number"):
        parse_ticks("ts,price\n2026-01-01T00:00:00Z,abc\n")
    with pytest.raises(SeriesError, match=r"line 1: missing column.*price"):
        parse_ticks("ts,px\n2026-01-01T00:00:00Z,1\n")
    with pytest.raises(SeriesError, match="line 2: ts 'yesterday' is not an ISO 8601"):
        parse_bars("ts,open,high,low,close,volume\nyesterday,1,1,1,1,1\n")
    with pytest.raises(SeriesError, match="line 2: high is below"):
        parse_bars("ts,open,high,low,close,volume\n2026-01-02,10,9,8,10,1\n")
    with pytest.raises(SeriesError, match="line 3: volume is missing"):
        parse_bars("ts,open,high,low,close,volume\n2026-01-02,1,1,1,1,1\n2026-01-03,1,1,1,1,\n")


def test_times_without_offset_are_read_in_the_market_zone() -> None:
    bars = parse_bars(
        "ts,open,high,low,close,volume\n2026-11-16 09:31,1,1,1,1,1\n", ZoneInfo("Asia/Shanghai")
    )
    assert bars.ts[0] == to_us(datetime(2026, 11, 16, 1, 31, tzinfo=UTC))
    assert bars.labels == ("2026-11-16 09:31",)


def test_cli_replay_contract_and_errors(tmp_path: Path) -> None:
    trade_json = {
        "direction": "put",
        "strike": "1.1001",
        "stake": "100",
        "payout_rate": "0.82",
        "open_ts": "2026-11-16T09:55:00Z",
        "expiry_ts": "2026-11-16T10:00:03.5Z",
        "tie_rule": "refund",
    }
    (tmp_path / "t.json").write_text(json.dumps(trade_json))
    (tmp_path / "ticks.csv").write_text(TICKS)
    runner = CliRunner()
    res = runner.invoke(
        app,
        [
            "market",
            "replay",
            "--trade",
            str(tmp_path / "t.json"),
            "--ticks",
            str(tmp_path / "ticks.csv"),
            "--json",
        ],
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert set(out) == {
        "outcome",
        "expiry_price",
        "expiry_tick_ts",
        "returned",
        "profit",
        "evidence",
    }
    assert out["outcome"] == "win" and out["expiry_price"] == "1.0999"
    assert out["expiry_tick_ts"] == "2026-11-16T10:00:03+00:00"
    assert (out["returned"], out["profit"]) == ("182.00", "82.00")
    assert [e["settlement"] for e in out["evidence"]].index(True) == 3
    (tmp_path / "bad.csv").write_text(TICKS.replace("1.1001", "x"))
    res = runner.invoke(
        app,
        [
            "market",
            "replay",
            "--trade",
            str(tmp_path / "t.json"),
            "--ticks",
            str(tmp_path / "bad.csv"),
        ],
    )
    assert res.exit_code == 2 and "line 4: price 'x' is not a number" in res.stderr
    trade_json["expiry_ts"] = "2026-11-16T11:00:00Z"
    (tmp_path / "t.json").write_text(json.dumps(trade_json))
    res = runner.invoke(
        app,
        [
            "market",
            "replay",
            "--trade",
            str(tmp_path / "t.json"),
            "--ticks",
            str(tmp_path / "ticks.csv"),
        ],
    )
    assert res.exit_code == 2 and "after the last tick" in res.stderr


def test_cli_indicators_from_stdin() -> None:
    csv_in = (
        "ts,open,high,low,close,volume\n2026-01-01,10,11,9,10,100\n2026-01-02,11,12,10,12,200\n"
        "2026-01-03,12,13,11,11,300\n2026-01-04,11,12,10,10,400\n"
    )
    runner = CliRunner()
    res = runner.invoke(
        app,
        ["market", "indicators", "--input", "-", "--indicator", "kdj", "--param", "n=3", "--json"],
        input=csv_in,
    )
    assert res.exit_code == 0, res.output
    rows = json.loads(res.stdout)
    assert rows[1]["ts"] == "2026-01-02" and rows[1]["k"] == pytest.approx(200 / 3)
    res = runner.invoke(
        app,
        [
            "market",
            "indicators",
            "--input",
            "-",
            "--indicator",
            "MA",
            "--param",
            "n=3",
            "--style",
            "talib",
            "--csv",
        ],
        input=csv_in,
    )
    assert res.stdout.splitlines()[:3] == ["ts,ma3", "2026-01-01,NaN", "2026-01-02,NaN"]
    res = runner.invoke(
        app,
        ["market", "indicators", "--input", "-", "--indicator", "MA"],
        input=csv_in.replace("2026-01-03", "2026-01-01"),
    )
    assert res.exit_code == 2 and "line 4" in res.stderr and "earlier than line 3" in res.stderr


def test_ticks_of_checks_order() -> None:
    with pytest.raises(SeriesError, match="line 4"):
        Ticks.of([1, 2, 2], [1.0, 1.0, 1.0])
