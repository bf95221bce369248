"""Calculators: exact Decimal results, the dated rules of the registry, and clear errors with
exit code 2."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D

import pytest
from typer.testing import CliRunner

from kefu.knowledge.calculators import (
    CalcError,
    binary_payout,
    compute,
    maintenance_ratio,
    margin_interest,
    price_limit,
    trading_fees,
)
from kefu.knowledge.cli import calc_app
from kefu.knowledge.content import rules

R = rules()


def test_price_limits_by_board_and_date():
    assert price_limit(D("10.00"), "main", rules=R).upper == D("11.00")
    st_before = price_limit(D("3.33"), "st", date(2025, 7, 4), rules=R)
    st_after = price_limit(D("3.33"), "st", date(2025, 7, 7), rules=R)
    assert (st_before.upper, st_before.lower) == (D("3.50"), D("3.16"))  # 3.4965 → 3.50 half-up
    assert (st_after.upper, st_after.lower) == (D("3.66"), D("3.00"))  # 3.663, 2.997
    assert price_limit(D("25.55"), "chinext", date(2026, 1, 5), rules=R).upper == D("30.66")
    assert price_limit(D("25.55"), "chinext", date(2020, 8, 21), rules=R).upper == D("28.11")
    assert price_limit(D("12.35"), "bse", rules=R).lower == D("8.65")  # 8.645 → 8.65 half-up


def test_st_means_main_board_st_and_the_explanation_prints_plain_percentages():
    """Board "st" is a main-board risk-warning share; ChiNext and STAR ST shares follow their board
    (±20%), so they are asked for as "chinext" / "star"."""
    st = price_limit(D("10"), "st", date(2025, 1, 2), rules=R)
    assert st.upper == D("10.50")
    assert st.message_en == (
        "Main-board ST / *ST shares: the daily price limit is ±5% of the previous close "
        "(rules in force on 2025-01-02)."
    )
    main = price_limit(D("10"), "main", date(2026, 11, 24), rules=R)
    assert main.message_zh == "主板的涨跌幅限制为前收盘价的 ±10%（按 2026-11-24 适用的规则）。"
    assert "±10%" in main.message_en  # not "±1E+1%"
    assert "E+" not in price_limit(D("10"), "bse", date(2026, 1, 5), rules=R).message
    star = price_limit(D("10"), "star", date(2026, 1, 5), rules=R)
    assert star.upper == D("12.00") and star.message_en.startswith("STAR Market: ")
    assert "±20%" in star.message_en


def test_new_listings_have_no_limit_under_the_registration_system():
    assert price_limit(D("20"), "star", date(2026, 1, 5), listing_day=5, rules=R).upper is None
    assert price_limit(D("20"), "star", date(2026, 1, 5), listing_day=6, rules=R).upper == D(
        "24.00"
    )
    assert price_limit(D("20"), "bse", date(2026, 1, 5), listing_day=1, rules=R).upper is None
    assert price_limit(D("20"), "bse", date(2026, 1, 5), listing_day=2, rules=R).upper == D("26.00")
    assert price_limit(D("20"), "main", date(2023, 4, 10), listing_day=3, rules=R).upper is None


def test_historical_first_day_band_on_the_issue_price():
    """Before the registration reforms a new listing's first day was bounded at +44% / −36% of
    the issue price, and from the second day the board's normal limit applied."""
    first = price_limit(D("10.00"), "chinext", date(2019, 6, 3), listing_day=1, rules=R)
    assert (first.upper, first.lower, first.ratio) == (D("14.40"), D("6.40"), None)
    assert "from −36% to +44% of the issue price" in first.message_en
    second = price_limit(D("14.40"), "chinext", date(2019, 6, 4), listing_day=2, rules=R)
    assert second.upper == D("15.84")  # ChiNext was ±10% then
    main = price_limit(D("8.88"), "main", date(2023, 3, 1), listing_day=1, rules=R)
    assert (main.upper, main.lower) == (D("12.79"), D("5.68"))
    assert price_limit(D("8.88"), "main", date(2023, 4, 10), listing_day=1, rules=R).upper is None


def test_fees_on_a_10000_yuan_sell():
    f = trading_fees("sell", D("10.00"), 1000, on=date(2026, 11, 24), rules=R)
    assert (f.commission, f.transfer_fee, f.stamp_duty, f.total) == (
        D("5.00"),
        D("0.10"),
        D("5.00"),
        D("10.10"),
    )
    assert trading_fees("buy", D("10.00"), 1000, rules=R).stamp_duty == D("0.00")
    big = trading_fees("buy", D("50.00"), 10000, on=date(2026, 11, 24), rules=R)
    assert big.commission == D("125.00") and big.transfer_fee == D("5.00")


@pytest.mark.parametrize(
    ("day", "transfer", "stamp"),
    [
        (date(2021, 6, 1), "2.00", "100.00"),  # transfer fee 0.002%, stamp duty 0.1%
        (date(2022, 4, 28), "2.00", "100.00"),
        (date(2022, 4, 29), "1.00", "100.00"),  # transfer fee 0.001% from 2022-04-29
        (date(2023, 8, 27), "1.00", "100.00"),
        (date(2023, 8, 28), "1.00", "50.00"),  # stamp duty 0.05% from 2023-08-28
    ],
)
def test_every_fee_honours_the_trade_date(day, transfer, stamp):
    f = trading_fees("sell", D("100"), 1000, on=day, rules=R)  # a ¥100,000 sell
    assert (f.transfer_fee, f.stamp_duty) == (D(transfer), D(stamp))


def test_a_date_the_registry_does_not_cover_is_refused_naming_it():
    with pytest.raises(CalcError, match="no entry in force on 2001-01-01"):
        trading_fees("sell", D("10"), 100, on=date(2001, 1, 1), rules=R)
    with pytest.raises(CalcError, match="price_limit_star"):
        price_limit(D("10"), "star", date(2018, 1, 2), rules=R)


def test_commission_above_the_regulatory_ceiling_is_refused():
    with pytest.raises(CalcError, match=r"above the 0\.3% regulatory cap"):
        trading_fees("buy", D("10"), 100, D("0.0031"), rules=R)


def test_margin_interest_and_ratio():
    assert margin_interest(D("100000"), D("0.06"), 10) == D("166.67")
    assert margin_interest(D("100000"), D("0.06"), 10, 365) == D("164.38")
    m = maintenance_ratio(D("20000"), D("250000"), D("200000"), D("1000"), rules=R)
    assert m.ratio == D("134.33") and m.status == "warning"
    assert m.message_zh.startswith("低于140%警戒线")
    assert m.message_en.startswith("Below the 140% warning line")
    call = maintenance_ratio(D("0"), D("250000"), D("200000"), D("0"), rules=R)
    assert call.status == "call"
    # worded as the margin-ratio article words it: "within 2 trading days", not "T+2"
    assert "须在2个交易日内" in call.message and "within 2 trading days" in call.message


def test_binary_payouts():
    assert binary_payout(D("100"), D("0.8"), "win").returned == D("180.00")
    assert binary_payout(D("100"), D("0.8"), "loss").profit == D("-100.00")
    assert binary_payout(D("100"), D("0.8"), "tie").returned == D("100.00")
    assert binary_payout(D("100"), D("0.8"), "tie", "loss").returned == D("0.00")


@pytest.mark.parametrize(
    "call",
    [
        lambda: price_limit(D("-1"), "main", rules=R),
        lambda: price_limit(D("1"), "nasdaq", rules=R),
        lambda: trading_fees("hold", D("1"), 100, rules=R),
        lambda: trading_fees("buy", D("1"), 0, rules=R),
        lambda: margin_interest(D("1000"), D("6"), 10),
        lambda: binary_payout(D("1"), D("0"), "win"),
        lambda: maintenance_ratio(D("1"), D("1"), D("0"), D("0"), rules=R),
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
        [
            "fees",
            "--side",
            "sell",
            "--price",
            "10",
            "--qty",
            "10000",
            "--date",
            "2022-04-28",
            "--json",
        ],
    )
    assert json.loads(r.stdout)["transfer_fee"] == "2.00"  # 0.002% before 2022-04-29
    r = CliRunner().invoke(
        calc_app,
        ["binary-payout", "--stake", "100", "--payout-rate", "80%", "--outcome", "win", "--json"],
    )
    assert json.loads(r.stdout) == {"returned": "180.00", "profit": "80.00"}
    r = CliRunner().invoke(calc_app, ["price-limit", "--prev-close", "10", "--board", "main"])
    assert "±10%" in r.stdout and "E+" not in r.stdout
    for bad in (
        ["price-limit", "--prev-close", "abc", "--board", "main"],
        ["price-limit", "--prev-close", "10", "--board", "nasdaq"],
        ["fees", "--side", "sell", "--price", "-3", "--qty", "100"],
        ["fees", "--side", "sell", "--price", "3", "--qty", "100", "--date", "1999-01-04"],
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
    r = client.get("/api/v1/calc/fees?side=sell&price=10&qty=1000&date=2023-08-25", headers=h)
    assert r.json()["result"]["stamp_duty"] == "10.00"
    r = client.get("/api/v1/calc/margin-interest?amount=100000&annual_rate=6%25&days=7", headers=h)
    assert r.json()["result"] == {"interest": "116.67"}
    r = client.get("/api/v1/calc/binary-payout?stake=100&payout_rate=0.8&outcome=win", headers=h)
    assert r.json()["result"] == {"returned": "180.00", "profit": "80.00"}
    bad = client.get("/api/v1/calc/price-limit?prev_close=-3&board=main", headers=h)
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert bad.json()["errors"][0]["field"] == "prev_close"
    old = client.get("/api/v1/calc/price-limit?prev_close=3&board=star&date=2018-01-02", headers=h)
    assert old.status_code == 422 and old.json()["errors"][0]["field"] == "date"
    missing = client.get("/api/v1/calc/maintenance-ratio?cash=1", headers=h)
    assert missing.status_code == 422 and missing.json()["errors"][0]["field"] == "securities_value"
    assert client.get("/api/v1/calc/astrology?x=1", headers=h).status_code == 422
    client.cookies.clear()
    assert client.get("/api/v1/calc/fees?side=buy&price=10&qty=100").status_code == 401


def test_an_over_long_parameter_is_refused_not_cut():
    with pytest.raises(CalcError, match="price: at most 40 characters"):
        compute("fees", {"side": "buy", "price": "1" * 41, "qty": "100"}, R)
