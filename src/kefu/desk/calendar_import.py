"""Importing holiday files into a business calendar (the admin console's upload and
`kefu calendar import`), and which calendars lack holidays for the weeks ahead."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.db import utcnow
from kefu.core.errors import NotFound, ValidationFailed
from kefu.core.security import User, require
from kefu.desk.audit import DeskAudit
from kefu.desk.holiday_files import HolidayFileError, needs_entries, parse_holidays
from kefu.desk.models import BusinessCalendar
from kefu.desk.sla_policies import calendar_of

__all__ = [
    "MAX_FILE_BYTES",
    "CalendarImport",
    "calendar_by_name",
    "calendar_import_limit",
    "calendars_needing_holidays",
    "import_calendar_file",
]

#: an upload larger than this is not a holiday list
MAX_FILE_BYTES = 512 * 1024


@dataclass
class CalendarImport:
    """What an import changed: the dates added as holidays and as make-up workdays, and how
    many of the file's dates the calendar already had."""

    calendar: str
    holidays: list[str] = field(default_factory=list)
    workdays: list[str] = field(default_factory=list)
    already: int = 0


def calendar_import_limit() -> int:
    """The largest holiday file accepted, in bytes."""
    return MAX_FILE_BYTES


def calendar_by_name(db: Session, name: str) -> BusinessCalendar:
    row = db.scalar(select(BusinessCalendar).where(BusinessCalendar.name == name))
    if row is None:
        raise NotFound(f"no business calendar named {name!r}")
    return row


@action
def import_calendar_file(
    db: Session, *, actor: User | None, calendar_id: int, content: bytes, filename: str
) -> CalendarImport:
    """Adds the days of an .ics or .csv file to a calendar (a day listed as a holiday stops
    being a make-up workday and the other way round); a bad file is refused whole, its error
    naming the line, and nothing is written. ``actor`` None is the operator at the CLI."""
    if actor is not None:
        require(actor, "sla.manage")
    cal = db.get(BusinessCalendar, calendar_id)
    if cal is None:
        raise NotFound(f"calendar {calendar_id} does not exist")
    if len(content) > MAX_FILE_BYTES:
        raise ValidationFailed(
            f"file: at most {MAX_FILE_BYTES // 1024} KB",
            fields=[{"field": "file", "message": "too large"}],
        )
    try:
        text = content.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise ValidationFailed(
            "file: not UTF-8 text", fields=[{"field": "file", "message": "not UTF-8"}]
        ) from exc
    try:
        entries = parse_holidays(text, filename)
    except HolidayFileError as exc:
        raise ValidationFailed(
            f"{filename or 'file'}: {exc}",
            fields=[{"field": "file", "line": exc.line, "message": exc.message}],
            line=exc.line,
            reason=exc.message,
        ) from exc
    report = CalendarImport(cal.name)
    holidays, workdays = set(cal.holidays), set(cal.workdays)
    for e in entries:
        iso = e.day.isoformat()
        if e.kind == "holiday":
            if iso in holidays:
                report.already += 1
                continue
            holidays.add(iso)
            workdays.discard(iso)
            report.holidays.append(iso)
        else:
            if iso in workdays:
                report.already += 1
                continue
            workdays.add(iso)
            holidays.discard(iso)
            report.workdays.append(iso)
    if not report.holidays and not report.workdays:
        unchanged(db)
        return report
    cal.holidays, cal.workdays = sorted(holidays), sorted(workdays)
    calendar_of(cal)  # still a valid calendar
    db.flush()
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=DeskAudit.calendar_import,
        entity="calendar",
        entity_id=cal.id,
        data={
            "file": filename[:200],
            "holidays": report.holidays,
            "workdays": report.workdays,
            "names": sorted({e.name for e in entries if e.name})[:50],
        },
    )
    return report


def calendars_needing_holidays(db: Session, today: date | None = None, days: int = 60) -> list[str]:
    """Names of the calendars with no holiday or make-up workday in the next ``days`` days
    from ``today`` (default: today in each calendar's own zone; 24×7 calendars excepted):
    their SLA clocks would count a coming holiday as a workday."""
    now = utcnow()
    return [
        c.name
        for c in db.scalars(select(BusinessCalendar).order_by(BusinessCalendar.name))
        if needs_entries(
            c.holidays,
            c.workdays,
            c.hours,
            today or now.astimezone(ZoneInfo(c.timezone)).date(),
            days,
        )
    ]
