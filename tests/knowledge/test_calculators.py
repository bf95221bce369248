"""Calculators: exact Decimal results, the dated rules, and clear errors with exit code 2."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D

import pytest
from typer.testing import CliRunner

from kefu.knowledge.calculators import (
    CalcError,
    binary_payout,
    maintenance_ratio,
    margin_interest,
    price_limit,
    trading_fees,
)
from kefu.knowledge.cli import calc_app


def test_price_limits_by_board_and_date():
    assert price_limit(D("10.00"), "main").upper == D("11.00")
    st_before = price_limit(D("3.33"), "st", date(2025, 7, 4))
    st_after = price_limit(D("3.33"), "st", date(2025, 7, 7))
    assert (st_before.upper, st_before.lower) == (D("3.50"), D("3.16"))  # 3.4965 → 3.50 half-up
    assert (st_after.upper, st_after.lower) == (D("3.66"), D("3.00"))  # 3.663, 2.997
    assert price_limit(D("25.55"), "chinext", date(2026, 1, 5)).upper == D("30.66")
    assert price_limit(D("25.55"), "chinext", date(2020, 8, 21)).upper == D("28.11")
    assert price_limit(D("12.35"), "bse").lower == D("8.65")  # 8.645 → 8.65 half-up


def test_new_listings_have_no_limit():
    assert price_limit(D("20"), "star", listing_day=5).upper is None
    assert price_limit(D("20"), "star", listing_day=6).upper == D("24.00")
    assert price_limit(D("20"), "bse", listing_day=1).upper is None
    assert price_limit(D("20"), "bse", listing_day=2).upper == D("26.00")


def test_fees_on_a_10000_yuan_sell():
    f = trading_fees("sell", D("10.00"), 1000, on=date(2026, 11, 24))
    assert (f.commission, f.transfer_fee, f.stamp_duty, f.total) == (
        D("5.00"),
        D("0.10"),
        D("5.00"),
        D("10.10"),
    )
    assert trading_fees("buy", D("10.00"), 1000).stamp_duty == D("0.00")
    assert trading_fees("sell", D("10"), 1000, on=date(2023, 8, 25)).stamp_duty == D("10.00")
    big = trading_fees("buy", D("50.00"), 10000)
    assert big.commission == D("125.00") and big.transfer_fee == D("5.00")


def test_margin_interest_and_ratio():
    assert margin_interest(D("100000"), D("0.06"), 10) == D("166.67")
    assert margin_interest(D("100000"), D("0.06"), 10, 365) == D("164.38")
    m = maintenance_ratio(D("20000"), D("250000"), D("200000"), D("1000"))
    assert m.ratio == D("134.33") and m.status == "warning"
    assert maintenance_ratio(D("0"), D("250000"), D("200000"), D("0")).status == "call"


def test_binary_payouts():
    assert binary_payout(D("100"), D("0.8"), "win").returned == D("180.00")
    assert binary_payout(D("100"), D("0.8"), "loss").profit == D("-100.00")
    assert binary_payout(D("100"), D("0.8"), "tie").returned == D("100.00")
    assert binary_payout(D("100"), D("0.8"), "tie", "loss").returned == D("0.00")


@pytest.mark.parametrize(
    "call",
    [
        lambda: price_limit(D("-1"), "main"),
        lambda: price_limit(D("1"), "nasdaq"),
        lambda: trading_fees("hold", D("1"), 100),
        lambda: trading_fees("buy", D("1"), 0),
        lambda: margin_interest(D("1000"), D("6"), 10),
        lambda: binary_payout(D("1"), D("0"), "win"),
        lambda: maintenance_ratio(D("1"), D("1"), D("0"), D("0")),
    ],
)
def test_bad_input_raises(call):
    with pytest.raises(CalcError):
        call()


def test_cli_json_and_errors():
    r = CliRunner().invoke(
        calc_app,
        ["price-limit", "--prev-close", "10", "--board", "st", "--date", "2026-01-05", "--json"],
    )
    assert r.exit_code == 0 and json.loads(r.stdout)["upper"] == "11.00"
    r = CliRunner().invoke(
        calc_app, ["fees", "--side", "sell", "--price", "10", "--qty", "1000", "--json"]
    )
    assert json.loads(r.stdout) == {
        "commission": "5.00",
        "transfer_fee": "0.10",
        "stamp_duty": "5.00",
        "total": "10.10",
    }
    r = CliRunner().invoke(
        calc_app,
        ["binary-payout", "--stake", "100", "--payout-rate", "80%", "--outcome", "win", "--json"],
    )
    assert json.loads(r.stdout) == {"returned": "180.00", "profit": "80.00"}
    for bad in (
        ["price-limit", "--prev-close", "abc", "--board", "main"],
        ["price-limit", "--prev-close", "10", "--board", "nasdaq"],
        ["fees", "--side", "sell", "--price", "-3", "--qty", "100"],
    ):
        r = CliRunner().invoke(calc_app, bad)
        assert r.exit_code == 2, (bad, r.output)


def test_calculator_api_gives_the_cli_answers_and_names_bad_fields(client, seed):
    from tests.conftest import login

    h = login(client, "alice")  # customers may use the calculators too
    r = client.get("/api/v1/calc/fees?side=sell&price=10&qty=1000&date=2026-11-25", headers=h)
    assert r.status_code == 200, r.text
    assert r.json()["result"] == {
        "commission": "5.00",
        "transfer_fee": "0.10",
        "stamp_duty": "5.00",
        "total": "10.10",
    }
    r = client.get("/api/v1/calc/margin-interest?amount=100000&annual_rate=6%25&days=7", headers=h)
    assert r.json()["result"] == {"interest": "116.67"}
    r = client.get("/api/v1/calc/binary-payout?stake=100&payout_rate=0.8&outcome=win", headers=h)
    assert r.json()["result"] == {"returned": "180.00", "profit": "80.00"}
    bad = client.get("/api/v1/calc/price-limit?prev_close=-3&board=main", headers=h)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["field"] == "prev_close"
    missing = client.get("/api/v1/calc/maintenance-ratio?cash=1", headers=h)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "securities_value"
    assert client.get("/api/v1/calc/astrology?x=1", headers=h).status_code == 422
    client.cookies.clear()
    assert client.get("/api/v1/calc/fees?side=buy&price=10&qty=100").status_code == 401


def test_an_over_long_parameter_is_refused_not_cut():
    from kefu.knowledge.calculators import compute

    with pytest.raises(CalcError, match="price: at most 40 characters"):
        compute("fees", {"side": "buy", "price": "1" * 41, "qty": "100"})
