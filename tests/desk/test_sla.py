"""Business-time arithmetic across nights, lunch, weekends, holidays, 调休 and DST."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kefu.desk.sla import (
    ALWAYS,
    Calendar,
    add_business_minutes,
    business_minutes_between,
    resume_due,
    sla_state,
)

SH = ZoneInfo("Asia/Shanghai")
DAY = ["09:00-12:00", "13:00-18:00"]
CN = Calendar.from_dict(
    {
        "name": "cn",
        "timezone": "Asia/Shanghai",
        "hours": {d: DAY for d in ("mon", "tue", "wed", "thu", "fri")} | {"sat": [], "sun": []},
        "holidays": [f"2026-10-0{i}" for i in range(1, 8)],
        "workdays": ["2026-10-10"],
    }
)


def sh(text: str) -> datetime:
    return datetime.fromisoformat(text).replace(tzinfo=SH)


def test_overnight_skips_the_closed_hours():
    assert add_business_minutes(CN, sh("2026-11-24T17:30"), 60) == sh("2026-11-25T09:30")


def test_lunch_break_is_not_counted():
    assert add_business_minutes(CN, sh("2026-11-24T11:30"), 60) == sh("2026-11-24T13:30")


def test_weekend_is_skipped():
    assert add_business_minutes(CN, sh("2026-11-20T17:00"), 120) == sh("2026-11-23T10:00")


def test_national_day_break_and_make_up_saturday():
    # Wed 30 Sep 17:00 + 120: 60 that day; Oct 1-7 closed; Oct 8 opens 09:00 -> 10:00
    assert add_business_minutes(CN, sh("2026-09-30T17:00"), 120) == sh("2026-10-08T10:00")
    # Fri 9 Oct 17:00 + 120: 60 that day; Saturday 10 Oct is a make-up workday -> 10:00
    assert add_business_minutes(CN, sh("2026-10-09T17:00"), 120) == sh("2026-10-10T10:00")


def test_start_outside_hours_starts_at_next_opening():
    assert add_business_minutes(CN, sh("2026-11-21T10:00"), 0) == sh("2026-11-23T09:00")


def test_dst_zone_uses_wall_clock_hours():
    ny = Calendar.from_dict(
        {
            "name": "ny",
            "timezone": "America/New_York",
            "hours": {d: ["09:00-17:00"] for d in ("mon", "tue", "wed", "thu", "fri")},
        }
    )
    tz = ZoneInfo("America/New_York")
    # Friday 30 Oct 16:00 EDT + 120 -> Monday 2 Nov 10:00 EST (clocks went back on 1 Nov)
    got = add_business_minutes(ny, datetime(2026, 10, 30, 16, 0, tzinfo=tz), 120)
    assert got == datetime(2026, 11, 2, 10, 0, tzinfo=tz)
    assert got.astimezone(UTC).hour == 15


def test_between_counts_only_open_minutes():
    assert business_minutes_between(CN, sh("2026-11-20T17:00"), sh("2026-11-23T10:00")) == 120
    assert business_minutes_between(CN, sh("2026-11-23T10:00"), sh("2026-11-20T17:00")) == 0


@settings(max_examples=200, deadline=None)
@given(
    start=st.datetimes(min_value=datetime(2026, 1, 1), max_value=datetime(2026, 12, 31)),
    minutes=st.integers(min_value=0, max_value=20_000),
)
def test_round_trip(start, minutes):
    s = start.replace(second=0, microsecond=0, tzinfo=SH)
    opened = add_business_minutes(CN, s, 0)  # clock starts at the next opening
    assert (
        business_minutes_between(CN, opened, add_business_minutes(CN, opened, minutes)) == minutes
    )


def test_states_ok_near_breached_met_paused():
    start = sh("2026-11-23T09:00")
    due = add_business_minutes(CN, start, 100)
    assert sla_state(CN, started=start, due=due, now=sh("2026-11-23T09:30")).state == "ok"
    assert sla_state(CN, started=start, due=due, now=sh("2026-11-23T10:25")).state == "near"
    late = sla_state(CN, started=start, due=due, now=sh("2026-11-23T11:00"))
    assert late.state == "breached" and late.remaining_minutes == -20
    assert (
        sla_state(
            CN,
            started=start,
            due=due,
            now=sh("2026-11-23T12:00"),
            completed_at=sh("2026-11-23T09:10"),
        ).state
        == "met"
    )
    paused = sla_state(
        CN, started=start, due=due, now=sh("2026-11-24T12:00"), paused_at=sh("2026-11-23T10:00")
    )
    assert paused.state == "paused" and paused.remaining_minutes == 40


def test_resume_adds_back_the_paused_time():
    due = sh("2026-11-23T11:00")
    assert resume_due(
        CN, due=due, paused_at=sh("2026-11-23T10:00"), resumed_at=sh("2026-11-24T09:30")
    ) == sh("2026-11-24T10:30")
    # already breached when paused: stays breached
    assert (
        resume_due(CN, due=due, paused_at=sh("2026-11-23T11:30"), resumed_at=sh("2026-11-24T09:30"))
        == due
    )


def test_always_calendar_is_24x7():
    t = datetime(2026, 11, 22, 23, 50, tzinfo=UTC)  # a Sunday night
    assert add_business_minutes(ALWAYS, t, 15) == t + timedelta(minutes=15)


@pytest.mark.parametrize(
    "bad",
    [
        {"hours": {"mon": ["25:00-26:00"]}},
        {"hours": {"mon": ["18:00-09:00"]}},
        {"hours": {"funday": ["09:00-10:00"]}},
        {"timezone": "Mars/Olympus"},
        {"holidays": ["2026-02-30"]},
    ],
)
def test_bad_calendar_names_the_field(bad):
    with pytest.raises(ValueError):
        Calendar.from_dict({"name": "x", "timezone": "UTC", **bad})


def test_naive_datetimes_are_refused():
    with pytest.raises(ValueError):
        add_business_minutes(CN, datetime(2026, 11, 24, 9), 10)
