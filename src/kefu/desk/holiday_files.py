"""Holiday files for the business calendars: an iCalendar (.ics) feed or a CSV of
``date,name[,kind]`` rows, read into dated entries, with errors that name the bad line; and the
check that a calendar still has entries for the weeks ahead.

Pure: text in, plain data out (no I/O, no ORM). The .ics reader is a small RFC 5545 subset
written here because no iCalendar library is installed: it unfolds continuation lines, reads
each VEVENT's DTSTART (a date or a date-time), DTEND (all-day ranges, end exclusive) and
SUMMARY (with its escapes), and refuses recurring events (RRULE) rather than import one day of
them. A make-up working day (调休上班 / 补班) is recognised from its name or a ``kind`` column."""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Literal

__all__ = ["MAX_DAYS", "HolidayEntry", "HolidayFileError", "needs_entries", "parse_holidays"]

Kind = Literal["holiday", "workday"]
#: one file's limit: years of holidays fit many times over; a longer file is a mistake
MAX_DAYS = 2000
#: one event's longest all-day range (the Spring Festival break is 8–9 days)
MAX_RANGE_DAYS = 31
#: names that mark a make-up working day rather than a day off
_WORKDAY_WORDS = ("补班", "调休上班", "上班", "workday", "working day", "make-up")


class HolidayFileError(ValueError):
    """A file that cannot be imported: the message names the line and what is wrong."""

    def __init__(self, line: int | None, message: str) -> None:
        self.line = line
        self.message = message
        super().__init__(f"line {line}: {message}" if line else message)


@dataclass(frozen=True)
class HolidayEntry:
    day: date
    name: str
    kind: Kind
    line: int


def _kind_of(name: str, column: str = "") -> Kind:
    col = column.strip().lower()
    if col in ("holiday", "休息", "假日", "节假日"):
        return "holiday"
    if col in ("workday", "上班", "补班", "调休上班", "工作日"):
        return "workday"
    low = name.lower()
    return "workday" if any(w in low for w in _WORKDAY_WORDS) else "holiday"


def parse_holidays(text: str, filename: str = "") -> list[HolidayEntry]:
    """The entries of an .ics or .csv file (told apart by the name, else by BEGIN:VCALENDAR)."""
    text = text.lstrip("\ufeff")
    if not text.strip():
        raise HolidayFileError(None, "the file is empty")
    is_ics = filename.lower().endswith((".ics", ".ical")) or text.lstrip().upper().startswith(
        "BEGIN:VCALENDAR"
    )
    entries = _parse_ics(text) if is_ics else _parse_csv(text)
    if not entries:
        raise HolidayFileError(None, "the file holds no dates")
    if len(entries) > MAX_DAYS:
        raise HolidayFileError(None, f"more than {MAX_DAYS} days in one file")
    seen: dict[date, HolidayEntry] = {}
    for e in entries:
        other = seen.get(e.day)
        if other is not None and other.kind != e.kind:
            raise HolidayFileError(
                e.line,
                f"{e.day.isoformat()} is a {e.kind} here but a {other.kind} on line {other.line}",
            )
        seen.setdefault(e.day, e)
    return sorted(seen.values(), key=lambda e: e.day)


# --- CSV -------------------------------------------------------------------------------------


def _parse_csv(text: str) -> list[HolidayEntry]:
    out: list[HolidayEntry] = []
    for n, row in enumerate(csv.reader(io.StringIO(text)), start=1):
        cells = [c.strip() for c in row]
        if not any(cells) or cells[0].startswith("#"):
            continue
        if n == 1 and cells[0].lower() in ("date", "日期"):
            continue  # the header
        if len(cells) < 2 or not cells[1]:
            raise HolidayFileError(n, "expected date,name (e.g. 2027-01-01,元旦)")
        if len(cells) > 3:
            raise HolidayFileError(n, "expected date,name or date,name,kind")
        try:
            day = date.fromisoformat(cells[0])
        except ValueError:
            raise HolidayFileError(n, f"{cells[0]!r} is not a date (YYYY-MM-DD)") from None
        kind_col = cells[2] if len(cells) == 3 else ""
        if kind_col and kind_col.lower() not in (
            "holiday",
            "workday",
            "休息",
            "假日",
            "节假日",
            "上班",
            "补班",
            "调休上班",
            "工作日",
        ):
            raise HolidayFileError(n, f"kind {kind_col!r} is neither holiday nor workday")
        name = cells[1][:100]
        out.append(HolidayEntry(day, name, _kind_of(name, kind_col), n))
    return out


# --- iCalendar (RFC 5545 subset) -------------------------------------------------------------


def _unfold(text: str) -> list[tuple[int, str]]:
    """Content lines with their first physical line number; a line starting with a space or a
    tab continues the previous one (RFC 5545 §3.1)."""
    out: list[tuple[int, str]] = []
    for n, raw in enumerate(text.replace("\r\n", "\n").replace("\r", "\n").split("\n"), 1):
        if raw[:1] in (" ", "\t") and out:
            start, prev = out[-1]
            out[-1] = (start, prev + raw[1:])
        elif raw.strip():
            out.append((n, raw))
    return out


_PROP = re.compile(r"^(?P<name>[A-Za-z0-9-]+)(?P<params>(?:;[^:]*)?):(?P<value>.*)$")


def _unescape(value: str) -> str:
    return re.sub(
        r"\\([\\;,nN])", lambda m: "\n" if m.group(1) in "nN" else m.group(1), value
    ).strip()


def _ics_date(value: str, line: int, prop: str) -> date:
    v = value.strip()
    m = re.fullmatch(r"(\d{4})(\d{2})(\d{2})(?:T\d{6}Z?)?", v)
    if not m:
        raise HolidayFileError(line, f"{prop} {v!r} is not an iCalendar date (YYYYMMDD)")
    try:
        return date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
    except ValueError:
        raise HolidayFileError(line, f"{prop} {v!r} is not a real date") from None


def _parse_ics(text: str) -> list[HolidayEntry]:
    lines = _unfold(text)
    if not lines or lines[0][1].strip().upper() != "BEGIN:VCALENDAR":
        raise HolidayFileError(
            lines[0][0] if lines else 1, "an .ics file starts with BEGIN:VCALENDAR"
        )
    out: list[HolidayEntry] = []
    event: dict[str, tuple[int, str]] | None = None
    begin_line = 0
    depth = 0  # components nested in a VEVENT (VALARM …)
    for n, line in lines:
        m = _PROP.match(line)
        if m is None:
            raise HolidayFileError(n, f"not an iCalendar line: {line[:60]!r}")
        name, value = m.group("name").upper(), m.group("value")
        if name == "BEGIN" and value.strip().upper() == "VEVENT":
            if event is not None:
                raise HolidayFileError(n, "BEGIN:VEVENT inside another VEVENT")
            event, begin_line, depth = {}, n, 0
        elif name == "BEGIN" and event is not None:
            depth += 1
        elif name == "END" and event is not None and depth:
            depth -= 1
        elif name == "END" and value.strip().upper() == "VEVENT":
            if event is None:
                raise HolidayFileError(n, "END:VEVENT without BEGIN:VEVENT")
            out.extend(_event_days(event, begin_line))
            event = None
        elif event is not None and not depth and name in ("DTSTART", "DTEND", "SUMMARY", "RRULE"):
            event[name] = (n, value)
    if event is not None:
        raise HolidayFileError(begin_line, "BEGIN:VEVENT is never closed by END:VEVENT")
    return out


def _event_days(event: dict[str, tuple[int, str]], begin: int) -> Iterable[HolidayEntry]:
    if "RRULE" in event:
        raise HolidayFileError(
            event["RRULE"][0], "recurring events (RRULE) are not supported: list each day"
        )
    if "DTSTART" not in event:
        raise HolidayFileError(begin, "the event has no DTSTART")
    start_line, start_value = event["DTSTART"]
    start = _ics_date(start_value, start_line, "DTSTART")
    name = _unescape(event["SUMMARY"][1])[:100] if "SUMMARY" in event else ""
    end = start + timedelta(days=1)
    if "DTEND" in event:
        end_line, end_value = event["DTEND"]
        end = max(_ics_date(end_value, end_line, "DTEND"), end)
        if (end - start).days > MAX_RANGE_DAYS:
            raise HolidayFileError(
                end_line, f"the event spans {(end - start).days} days (at most {MAX_RANGE_DAYS})"
            )
    kind = _kind_of(name)
    day = start
    while day < end:
        yield HolidayEntry(day, name, kind, start_line)
        day += timedelta(days=1)


# --- coverage --------------------------------------------------------------------------------


def needs_entries(
    holidays: Iterable[str],
    workdays: Iterable[str],
    hours: dict[str, list[str]],
    today: date,
    days: int = 60,
) -> bool:
    """Whether a calendar lacks holiday data for the next ``days`` days: none of its
    holidays or make-up workdays falls in [today, today + days]. A calendar open all day every
    day (24×7) has no use for holidays and never needs them."""
    always = all(
        hours.get(d) == ["00:00-24:00"] for d in ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
    )
    if always:
        return False
    first, last = today.isoformat(), (today + timedelta(days=days)).isoformat()
    return not any(first <= d <= last for d in (*holidays, *workdays))
