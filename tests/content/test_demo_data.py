"""The demo data is consistent: valid (fictional) personal numbers, references that resolve,
binary results that follow from the recorded prices, every channel × category covered."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal
from pathlib import Path

import yaml

from kefu.compliance.guard import luhn_ok, valid_resident_id
from kefu.desk.models import CATEGORIES, CHANNELS

DEMO = Path(__file__).resolve().parents[2] / "content" / "demo"
POLICIES = DEMO.parent / "policies"


def load(name: str) -> dict:
    return yaml.safe_load((DEMO / name).read_text(encoding="utf-8"))


def test_logins_are_exactly_the_documented_ones():
    staff = {s["username"] for s in load("users.yaml")["staff"]}
    assert staff == {"admin", "supervisor", "compliance", "trainer", "agent1", "agent2", "trainee1"}
    customers = [c["username"] for c in load("customers.yaml")["customers"]]
    assert customers == [f"customer{i}" for i in range(1, 21)]


def test_personal_numbers_are_valid_and_accounts_unique():
    numbers = set()
    for c in load("customers.yaml")["customers"]:
        assert re.fullmatch(r"1[3-9]\d{9}", c["phone"])
        if c["id_type"] == "resident_id":
            assert valid_resident_id(c["id_number"]), c["username"]
        else:
            assert re.fullmatch(r"[EG]\d{8}", c["id_number"])
        assert luhn_ok(c["bank"]["card"]) and len(c["bank"]["card"]) in (16, 19)
        own = {a["number"] for a in c["accounts"]}
        assert not own & numbers
        numbers |= own
        for rec in c["positions"] + c["trades"] + c["transfers"]:
            assert rec["account"] in own, (c["username"], rec)


def test_binary_results_follow_the_recorded_prices():
    for c in load("customers.yaml")["customers"]:
        for t in c["trades"]:
            if t["kind"] != "binary":
                continue
            entry, settle = Decimal(t["entry_price"]), Decimal(t["settle_price"])
            if entry == settle:
                expected = "tie"
            else:
                expected = "win" if (settle > entry) == (t["direction"] == "up") else "loss"
            assert t["result"] == expected, t["id"]


def test_cases_cover_every_channel_and_category_and_refer_to_real_people():
    cases = load("cases.yaml")["cases"]
    users = {c["username"] for c in load("customers.yaml")["customers"]}
    staff = {s["username"] for s in load("users.yaml")["staff"]}
    assert {(c["channel"]) for c in cases} == set(CHANNELS)
    assert {(c["category"]) for c in cases} == set(CATEGORIES)
    assert len({c["ref"] for c in cases}) == len(cases)
    for c in cases:
        assert c["customer"] in users
        assert c.get("assignee") in staff | {None}
        for m in c["messages"]:
            assert m["by"] in staff | {"customer", "system"}


def test_agent_lines_in_the_demo_pass_the_guard():
    from kefu.compliance.content import screen

    for c in load("cases.yaml")["cases"]:
        for m in c["messages"]:
            if m["by"] not in ("customer", "system") and m.get("kind") != "note":
                assert screen(m["body"]).verdict != "block", (c["ref"], m["body"])


def test_calendar_holidays_and_make_up_days():
    cal = yaml.safe_load((POLICIES / "sla.yaml").read_text(encoding="utf-8"))["calendars"][0]
    workdays = [d if isinstance(d, date) else date.fromisoformat(d) for d in cal["workdays"]]
    assert all(d.weekday() >= 5 and d.year == 2026 for d in workdays)
    holidays = [d if isinstance(d, date) else date.fromisoformat(d) for d in cal["holidays"]]
    assert date(2026, 10, 1) in holidays and not set(holidays) & set(workdays)


def test_canned_replies_use_known_variables_and_pass_the_guard():
    from kefu.compliance.content import screen

    allowed = {"customer_name", "agent_name", "case_ref", "account_number", "today"}
    for r in yaml.safe_load((POLICIES / "canned_replies.yaml").read_text("utf-8"))[
        "canned_replies"
    ]:
        for body in (r["body_zh"], r["body_en"]):
            assert set(re.findall(r"\{([a-z_]+)\}", body)) <= allowed, r["key"]
            assert screen(body).verdict != "block", (r["key"], screen(body).findings)
