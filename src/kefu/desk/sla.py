"""Business-time arithmetic for SLA targets: opening hours per weekday, holidays, make-up
workdays (调休), pauses. Pure: no I/O; times in, times out (timezone-aware)."""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, time, timedelta
from typing import Any, Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

DAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
DAY_SECONDS = 24 * 3600
_MAX_DAYS = 3660  # a calendar with no open hours within ten years is a configuration error

Interval = tuple[int, int]  # seconds from local midnight: [start, end)


def _parse_clock(text: str, what: str) -> int:
    try:
        hh, mm = text.strip().split(":")
        h, m = int(hh), int(mm)
    except ValueError as exc:
        raise ValueError(f"{what}: {text!r} is not HH:MM") from exc
    if not (0 <= m < 60 and (0 <= h < 24 or (h == 24 and m == 0))):
        raise ValueError(f"{what}: {text!r} is not a time of day (00:00–24:00)")
    return h * 3600 + m * 60


def _parse_day(value: object, what: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError as exc:
        raise ValueError(f"{what}: {value!r} is not a date (YYYY-MM-DD)") from exc


@dataclass(frozen=True)
class Calendar:
    """Open hours per weekday (0 = Monday) in a time zone, with closed and extra-open dates."""

    name: str
    timezone: str
    hours: Mapping[int, tuple[Interval, ...]]
    holidays: frozenset[date] = field(default_factory=frozenset)
    workdays: frozenset[date] = field(default_factory=frozenset)

    def __post_init__(self) -> None:
        try:
            ZoneInfo(self.timezone)
        except (ZoneInfoNotFoundError, ValueError) as exc:
            raise ValueError(f"timezone: unknown time zone {self.timezone!r}") from exc

    @property
    def tz(self) -> ZoneInfo:
        return ZoneInfo(self.timezone)

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> Calendar:
        """Builds a calendar from the content/policies/sla.yaml shape; names the bad field."""
        raw_hours = d.get("hours") or {}
        if not isinstance(raw_hours, Mapping):
            raise ValueError("hours: expected a mapping of weekday -> list of 'HH:MM-HH:MM'")
        hours: dict[int, tuple[Interval, ...]] = {}
        for key, spans in raw_hours.items():
            if key not in DAYS:
                raise ValueError(f"hours: unknown weekday {key!r} (use {', '.join(DAYS)})")
            parsed: list[Interval] = []
            for span in spans or []:
                what = f"hours.{key}"
                if "-" not in str(span):
                    raise ValueError(f"{what}: {span!r} is not 'HH:MM-HH:MM'")
                a, b = str(span).split("-", 1)
                start, end = _parse_clock(a, what), _parse_clock(b, what)
                if end <= start:
                    raise ValueError(f"{what}: {span!r} ends before it starts")
                parsed.append((start, end))
            parsed.sort()
            for (_, e1), (s2, _) in itertools.pairwise(parsed):
                if s2 < e1:
                    raise ValueError(f"hours.{key}: intervals overlap")
            hours[DAYS.index(key)] = tuple(parsed)
        return cls(
            name=str(d.get("name", "")),
            timezone=str(d.get("timezone", "UTC")),
            hours=hours,
            holidays=frozenset(_parse_day(x, "holidays") for x in d.get("holidays") or []),
            workdays=frozenset(_parse_day(x, "workdays") for x in d.get("workdays") or []),
        )

    def intervals(self, day: date) -> tuple[Interval, ...]:
        if day in self.holidays:
            return ()
        if day in self.workdays:
            return self.hours.get(0, ())  # a make-up workday keeps Monday's hours
        return self.hours.get(day.weekday(), ())


ALWAYS = Calendar(name="always", timezone="UTC", hours={i: ((0, DAY_SECONDS),) for i in range(7)})


def _aware(dt: datetime, what: str) -> None:
    if dt.tzinfo is None or dt.utcoffset() is None:
        raise ValueError(f"{what} must be timezone-aware")


def _at(cal: Calendar, day: date, seconds: int | float) -> datetime:
    local = datetime.combine(day, time(0), tzinfo=cal.tz) + timedelta(seconds=seconds)
    return local.astimezone(UTC)


def _local_seconds(dt: datetime) -> float:
    return dt.hour * 3600 + dt.minute * 60 + dt.second + dt.microsecond / 1e6


def add_business_minutes(cal: Calendar, start: datetime, minutes: int) -> datetime:
    """The moment ``minutes`` of open time after ``start`` (the clock starts at the next opening
    if ``start`` falls outside hours). Returned in UTC."""
    _aware(start, "start")
    if minutes < 0:
        raise ValueError("minutes must be >= 0")
    local = start.astimezone(cal.tz)
    day, cur = local.date(), _local_seconds(local)
    remaining = minutes * 60.0
    for _ in range(_MAX_DAYS):
        for s, e in cal.intervals(day):
            if e <= cur:
                continue
            begin = max(float(s), cur)
            avail = e - begin
            if remaining <= avail:
                return _at(cal, day, begin + remaining)
            remaining -= avail
        day, cur = day + timedelta(days=1), 0.0
    raise ValueError(f"calendar {cal.name!r} has no open hours within {_MAX_DAYS} days")


def business_minutes_between(cal: Calendar, start: datetime, end: datetime) -> int:
    """Whole minutes of open time in [start, end); 0 when end <= start."""
    _aware(start, "start")
    _aware(end, "end")
    if end <= start:
        return 0
    a, b = start.astimezone(cal.tz), end.astimezone(cal.tz)
    day, last = a.date(), b.date()
    total = 0.0
    while day <= last:
        lo = _local_seconds(a) if day == a.date() else 0.0
        hi = _local_seconds(b) if day == last else float(DAY_SECONDS)
        for s, e in cal.intervals(day):
            overlap = min(float(e), hi) - max(float(s), lo)
            if overlap > 0:
                total += overlap
        day += timedelta(days=1)
    return int(total // 60)


State = Literal["ok", "near", "breached", "met", "paused", "none"]


@dataclass(frozen=True)
class SlaClock:
    due: datetime | None
    state: State
    remaining_minutes: int | None  # negative when overdue


def _signed(cal: Calendar, a: datetime, b: datetime) -> int:
    """Business minutes from a to b, negative when b is before a."""
    if b >= a:
        return business_minutes_between(cal, a, b)
    return -business_minutes_between(cal, b, a)


def sla_state(
    cal: Calendar,
    *,
    started: datetime,
    due: datetime | None,
    now: datetime,
    completed_at: datetime | None = None,
    paused_at: datetime | None = None,
    near_percent: int = 80,
) -> SlaClock:
    """Where one SLA target stands: met/breached once completed, paused while waiting on the
    customer, else ok → near (``near_percent`` of the business time used) → breached."""
    if due is None:
        return SlaClock(None, "none", None)
    if completed_at is not None:
        left = _signed(cal, completed_at, due)
        return SlaClock(due, "met" if completed_at <= due else "breached", left)
    if paused_at is not None:
        return SlaClock(due, "paused", _signed(cal, paused_at, due))
    if now >= due:
        return SlaClock(due, "breached", _signed(cal, now, due))
    total = business_minutes_between(cal, started, due)
    used = business_minutes_between(cal, started, now)
    left = business_minutes_between(cal, now, due)
    near = total > 0 and used * 100 >= near_percent * total
    return SlaClock(due, "near" if near else "ok", left)


def resume_due(
    cal: Calendar, *, due: datetime, paused_at: datetime, resumed_at: datetime
) -> datetime:
    """The clock stood still while paused: what was left at the pause is added from the resume.
    A target already missed when the pause began stays missed (``due`` is returned)."""
    if paused_at >= due:
        return due
    remaining = business_minutes_between(cal, paused_at, due)
    return add_business_minutes(cal, resumed_at, remaining)
