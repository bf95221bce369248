"""Holiday files for the business calendars: .ics and .csv read into days, errors that name the
bad line, the admin upload and `kefu calendar import`, and the warning for a calendar with no
holidays in the next 60 days."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import date, timedelta
from pathlib import Path

import pytest
from fastapi.testclient import TestClient
from typer.testing import CliRunner

from kefu.core.config import get_settings
from kefu.core.db import Database
from kefu.desk.holiday_files import HolidayFileError, needs_entries, parse_holidays

ICS = (
    "BEGIN:VCALENDAR\r\n"
    "VERSION:2.0\r\n"
    "PRODID:-//example//holidays//CN\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:1@example\r\n"
    "DTSTART;VALUE=DATE:20270101\r\n"
    "DTEND;VALUE=DATE:20270102\r\n"
    "SUMMARY:元旦\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:2@example\r\n"
    "DTSTART;VALUE=DATE:20270206\r\n"
    "DTEND;VALUE=DATE:20270210\r\n"
    "SUMMARY:春节\\, 休\r\n"
    " 息\r\n"  # a folded line continues the summary
    "BEGIN:VALARM\r\n"
    "TRIGGER:-PT15M\r\n"
    "END:VALARM\r\n"
    "END:VEVENT\r\n"
    "BEGIN:VEVENT\r\n"
    "UID:3@example\r\n"
    "DTSTART:20270214T000000Z\r\n"
    "SUMMARY:春节补班\r\n"
    "END:VEVENT\r\n"
    "END:VCALENDAR\r\n"
)


def test_an_ics_feed_becomes_days_off_and_make_up_workdays() -> None:
    entries = parse_holidays(ICS, "cn-2027.ics")
    days = [(e.day.isoformat(), e.kind) for e in entries]
    assert days == [
        ("2027-01-01", "holiday"),
        ("2027-02-06", "holiday"),  # DTEND is exclusive: 6, 7, 8, 9 February
        ("2027-02-07", "holiday"),
        ("2027-02-08", "holiday"),
        ("2027-02-09", "holiday"),
        ("2027-02-14", "workday"),  # 补班 is a make-up working day
    ]
    assert entries[1].name == "春节, 休息"


@pytest.mark.parametrize(
    ("text", "name", "line", "says"),
    [
        (ICS.replace("DTSTART:20270214T000000Z", "DTSTART:2027-02-14"), "x.ics", 22, "DTSTART"),
        (ICS.replace("UID:3@example", "RRULE:FREQ=YEARLY"), "x.ics", 21, "RRULE"),
        (
            ICS.replace("END:VCALENDAR\r\n", "BEGIN:VEVENT\r\nDTSTART:20270301\r\n"),
            "x.ics",
            25,
            "never closed",
        ),
        ("date,name\n2027-01-01,元旦\n2027-02-30,春节\n", "x.csv", 3, "not a date"),
        ("date,name\n2027-01-01\n", "x.csv", 2, "date,name"),
        ("2027-01-01,元旦,vacation\n", "x.csv", 1, "neither holiday nor workday"),
        (
            "2027-01-01,元旦\n2027-01-01,元旦补班,workday\n",
            "x.csv",
            2,
            "a workday here but a holiday on line 1",
        ),
    ],
)
def test_a_bad_file_is_refused_naming_the_line(text: str, name: str, line: int, says: str) -> None:
    with pytest.raises(HolidayFileError) as caught:
        parse_holidays(text, name)
    assert caught.value.line == line and says in caught.value.message, str(caught.value)


def test_coverage_of_the_next_60_days() -> None:
    week = {d: ["09:00-18:00"] for d in ("mon", "tue", "wed", "thu", "fri")}
    today = date(2026, 12, 7)
    assert needs_entries(["2026-10-01"], [], week, today)  # only this year's holidays
    assert not needs_entries(["2026-10-01", "2027-01-01"], [], week, today)
    always = {d: ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")}
    assert not needs_entries([], [], always, today)  # 24×7 needs no holidays


@pytest.fixture
def admin_client(database: Database, seed: object) -> Iterator[TestClient]:
    from kefu.web.app import create_app

    with TestClient(create_app(database), follow_redirects=False) as c:
        r = c.post("/login", data={"username": "admin", "password": "kefu-demo"})
        assert r.status_code == 303
        yield c


def _admin(client: TestClient, lang: str = "zh-CN") -> tuple[str, str, str]:
    page = client.get("/admin", params={"lang": lang}).text
    csrf = re.search(r'name="csrf" value="([^"]+)"', page)
    cal = re.search(r'action="/admin/calendars/(\d+)/import"', page)
    assert csrf and cal
    return page, csrf.group(1), cal.group(1)


def _flash(client: TestClient, location: str) -> str:
    page = client.get(location.split("#")[0]).text
    found = re.search(r'<div class="flash[^"]*" role="status">(.*?)</div>', page, re.S)
    assert found, page[:500]
    return found.group(1)


def test_the_admin_imports_a_file_and_the_warning_goes(admin_client: TestClient) -> None:
    page, csrf, cal = _admin(admin_client)
    # the seed's calendar holds only 2026's National Day: nothing for the next 60 days
    assert 'data-testid="calendar-warning-cn-business"' in page
    soon = date.today() + timedelta(days=3)
    ics = ICS.replace("20270101", soon.strftime("%Y%m%d")).replace(
        "20270102", (soon + timedelta(days=1)).strftime("%Y%m%d")
    )
    r = admin_client.post(
        f"/admin/calendars/{cal}/import",
        data={"csrf": csrf},
        files={"file": ("holidays.ics", ics.encode(), "text/calendar")},
    )
    assert r.status_code == 303
    assert "新增节假日 5 天、调休工作日 1 天" in _flash(admin_client, r.headers["location"])
    page, csrf, cal = _admin(admin_client)
    assert "calendar-warning-cn-business" not in page
    assert "2027-02-14" in page


def test_the_admin_upload_names_the_bad_line_and_writes_nothing(admin_client: TestClient) -> None:
    _, csrf, cal = _admin(admin_client)
    bad = "date,name\n2027-01-01,元旦\n2027-02-30,春节\n"
    r = admin_client.post(
        f"/admin/calendars/{cal}/import?lang=en",
        data={"csrf": csrf},
        files={"file": ("cn.csv", bad.encode(), "text/csv")},
    )
    assert r.status_code == 303 and "kind=error" in r.headers["location"]
    said = _flash(admin_client, r.headers["location"])
    assert "Not imported: cn.csv line 3:" in said and "2027-02-30" in said
    page, _, _ = _admin(admin_client)
    holidays = re.search(r"节假日:</span>(.*?)</div>", page, re.S)
    assert holidays and "2027-01-01" not in holidays.group(1)


def test_the_cli_imports_and_checks(
    database: Database, seed: object, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from kefu.cli import app

    monkeypatch.setenv("KEFU_DATABASE_URL", str(database.engine.url.render_as_string(False)))
    get_settings.cache_clear()
    try:
        runner = CliRunner()
        lacking = runner.invoke(app, ["calendar", "check"])
        assert lacking.exit_code == 1 and "cn-business" in lacking.output
        bad = tmp_path / "bad.csv"
        bad.write_text("2027-01-01,元旦\nnot-a-date,x\n", encoding="utf-8")
        r = runner.invoke(app, ["calendar", "import", "cn-business", str(bad)])
        assert r.exit_code == 2 and "line 2" in r.output, r.output
        good = tmp_path / "good.csv"
        soon = (date.today() + timedelta(days=3)).isoformat()
        good.write_text(f"date,name\n{soon},测试假日\n", encoding="utf-8")
        r = runner.invoke(app, ["calendar", "import", "cn-business", str(good), "--json"])
        assert r.exit_code == 0, r.output
        assert f'"holidays": ["{soon}"]' in r.output
        assert runner.invoke(app, ["calendar", "check"]).exit_code == 0
    finally:
        get_settings.cache_clear()
