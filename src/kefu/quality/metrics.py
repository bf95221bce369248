"""Service metrics, aggregated in SQL over the facts each evaluation stored when its case
finished (see docs/metrics.md for the definitions): QA score and pass rate, first-response and
full-resolution time in calendar and business hours, replies to resolution, reopen rate, SLA
attainment and CSAT — by period, agent, category, channel, product or problem."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import Float, and_, case, cast, func, literal, select
from sqlalchemy.orm import Session
from sqlalchemy.sql.elements import ColumnElement

from kefu.core.config import get_settings
from kefu.core.errors import ValidationFailed, refused_field
from kefu.core.security import User, require
from kefu.desk.models import Case, CsatSurvey
from kefu.quality.models import Evaluation

GROUPS = ("period", "agent", "category", "channel", "product", "problem")
PERIODS = ("day", "week", "month")
CHANNELS = ("chat", "web", "phone", "email")
#: CSAT on the desk's 1–5 survey: 4–5 is good, 1–3 is bad (good ÷ (good + bad))
CSAT_GOOD = 4


def _err(field: str, message: str, key: str, **params: Any) -> ValidationFailed:
    """A refused field said by key (``quality.errors.<key>``); ``message`` is its English."""
    return refused_field(
        field, message, key=f"quality.errors.{key}", names="quality.errors.fields", **params
    )


FIRST_DAY, LAST_DAY = date(2000, 1, 1), date(2100, 12, 31)


def check_day(field: str, day: date | None) -> None:
    """Days a report may name: 2000-01-01 to 2100-12-31 (no overflow at the calendar's ends)."""
    if day is not None and not (FIRST_DAY <= day <= LAST_DAY):
        first, last = FIRST_DAY.isoformat(), LAST_DAY.isoformat()
        raise _err(field, f"between {first} and {last}", "day_range", first=first, last=last)


@dataclass(frozen=True)
class Filters:
    """Which finished cases count: finished in [start, end) (local dates, inclusive end day),
    and optionally one agent, category, channel, product, problem; complaints only."""

    start: date | None = None
    end: date | None = None
    agent_id: int | None = None
    category: str | None = None
    channel: str | None = None
    product: str | None = None
    problem: str | None = None
    complaints: bool = False

    def check(self) -> Filters:
        check_day("start", self.start)
        check_day("end", self.end)
        if self.start and self.end and self.start > self.end:
            raise _err("start", "must not be after end", "start_after_end")
        if self.channel is not None and self.channel not in CHANNELS:
            raise _err(
                "channel", f"one of {', '.join(CHANNELS)}", "one_of", choices=", ".join(CHANNELS)
            )
        return self


def _zone() -> ZoneInfo:
    return ZoneInfo(get_settings().timezone)


def _bounds(f: Filters) -> tuple[datetime | None, datetime | None]:
    tz = _zone()
    lo = datetime.combine(f.start, time(0), tz).astimezone(UTC) if f.start else None
    hi = datetime.combine(f.end + timedelta(days=1), time(0), tz).astimezone(UTC) if f.end else None
    return lo, hi


def where_of(f: Filters) -> list[ColumnElement[bool]]:
    e = Evaluation
    cond: list[ColumnElement[bool]] = [e.current.is_(True)]
    lo, hi = _bounds(f)
    if lo is not None:
        cond.append(e.finished_at >= lo)
    if hi is not None:
        cond.append(e.finished_at < hi)
    if f.agent_id is not None:
        cond.append(e.agent_id == f.agent_id)
    if f.category:
        cond.append(e.category == f.category)
    if f.channel:
        cond.append(e.channel == f.channel)
    if f.product:
        cond.append(e.product_code == f.product)
    if f.problem:
        cond.append(e.problem_code == f.problem)
    if f.complaints:
        cond.append(e.complaint.is_(True))
    return cond


def _offset_hours() -> int:
    """The display zone's UTC offset (Asia/Shanghai: +8, no daylight saving)."""
    off = datetime.now(_zone()).utcoffset()
    return int(off.total_seconds() // 3600) if off else 0


def bucket(db: Session, period: str, *, as_text: bool = False) -> ColumnElement[Any]:
    """The local day, week (its Monday) or month (its 1st) a case finished in: a timestamp on
    PostgreSQL (formatted once per group by :func:`key_text`, not once per row), YYYY-MM-DD
    text on SQLite or with ``as_text``."""
    if period not in PERIODS:
        raise _err("period", f"one of {', '.join(PERIODS)}", "one_of", choices=", ".join(PERIODS))
    col = Evaluation.finished_at
    if db.get_bind().dialect.name == "postgresql":
        local = func.date_trunc(period, func.timezone(get_settings().timezone, col))
        return func.to_char(local, "YYYY-MM-DD") if as_text else local
    shift = f"{_offset_hours():+d} hours"
    if period == "day":
        return func.date(col, shift)
    if period == "week":
        return func.date(col, shift, "weekday 0", "-6 days")
    return func.strftime("%Y-%m-01", col, shift)


def key_text(value: Any) -> str:
    """A group key as the API shows it (a period bucket as YYYY-MM-DD)."""
    if value is None:
        return ""
    if isinstance(value, (datetime, date)):
        return value.isoformat()[:10]
    return str(value)


def _key(db: Session, group: str, period: str, *, as_text: bool = False) -> Any:
    e = Evaluation
    if group == "period":
        return bucket(db, period, as_text=as_text)
    cols: dict[str, Any] = {
        "agent": e.agent_id,
        "category": e.category,
        "channel": e.channel,
        "product": e.product_code,
        "problem": e.problem_code,
    }
    if group not in cols:
        raise _err("group", f"one of {', '.join(GROUPS)}", "one_of", choices=", ".join(GROUPS))
    return cols[group]


def _count(cond: Any) -> ColumnElement[int]:
    return func.sum(case((cond, 1), else_=0))


def _avg(col: Any) -> ColumnElement[float]:
    return func.avg(cast(col, Float))


def _columns() -> list[Any]:
    e, s = Evaluation, CsatSurvey
    final = func.coalesce(e.override_score, e.score)
    passed = func.coalesce(e.override_passed, e.passed)
    return [
        func.count(e.id).label("cases"),
        _avg(final).label("qa_avg"),
        _count(passed.is_(True)).label("qa_passed"),
        _count(e.auto_fail.is_(True)).label("auto_fails"),
        _avg(e.first_response_seconds).label("frt_seconds"),
        _avg(e.first_response_business_minutes).label("frt_business_minutes"),
        _avg(e.resolution_seconds).label("resolution_seconds"),
        _avg(e.resolution_business_minutes).label("resolution_business_minutes"),
        _avg(e.agent_replies).label("replies"),
        _count(e.reopened.is_(True)).label("reopened"),
        func.count(e.first_response_met).label("fr_sla_n"),
        _count(e.first_response_met.is_(True)).label("fr_sla_met"),
        func.count(e.resolution_met).label("res_sla_n"),
        _count(e.resolution_met.is_(True)).label("res_sla_met"),
        _count(s.score >= CSAT_GOOD).label("csat_good"),
        _count(and_(s.score.is_not(None), s.score < CSAT_GOOD)).label("csat_bad"),
        _count(e.complaint.is_(True)).label("complaints"),
        _count(e.compliance.is_(True)).label("compliance"),
    ]


def _ratio(a: int | None, b: int | None) -> float | None:
    return round((a or 0) / b, 4) if b else None


def _round(v: float | None, nd: int = 1) -> float | None:
    return None if v is None else round(float(v), nd)


def _row(r: Any) -> dict[str, Any]:
    m = r._mapping
    good, bad = int(m["csat_good"] or 0), int(m["csat_bad"] or 0)
    n = int(m["cases"])
    return {
        "cases": n,
        "qa_avg": _round(m["qa_avg"]),
        "qa_pass_rate": _ratio(m["qa_passed"], n),
        "auto_fails": int(m["auto_fails"] or 0),
        "frt_minutes": _round(m["frt_seconds"] / 60 if m["frt_seconds"] is not None else None),
        "frt_business_minutes": _round(m["frt_business_minutes"]),
        "resolution_hours": _round(
            m["resolution_seconds"] / 3600 if m["resolution_seconds"] is not None else None, 2
        ),
        "resolution_business_hours": _round(
            m["resolution_business_minutes"] / 60
            if m["resolution_business_minutes"] is not None
            else None,
            2,
        ),
        "replies_to_resolution": _round(m["replies"], 2),
        "reopen_rate": _ratio(m["reopened"], n),
        "fr_sla_rate": _ratio(m["fr_sla_met"], m["fr_sla_n"]),
        "resolution_sla_rate": _ratio(m["res_sla_met"], m["res_sla_n"]),
        "csat": _ratio(good, good + bad),
        "csat_responses": good + bad,
        "complaints": int(m["complaints"] or 0),
        "compliance": int(m["compliance"] or 0),
    }


def breakdown(
    db: Session, *, viewer: User, group: str = "period", period: str = "week", filters: Filters
) -> list[dict[str, Any]]:
    """Every metric per group (one SQL query, grouped in the database), ordered by key."""
    require(viewer, "quality.read")
    f = filters.check()
    key = _key(db, group, period).label("key")
    stmt = (
        select(key, *_columns())
        .select_from(Evaluation)
        .outerjoin(CsatSurvey, CsatSurvey.case_id == Evaluation.case_id)
        .where(*where_of(f))
        .group_by(key)
        .order_by(key)
    )
    out = []
    for r in db.execute(stmt):
        row = _row(r)
        row["key"] = key_text(r.key)
        out.append(row)
    return out


def totals(db: Session, *, viewer: User, filters: Filters) -> dict[str, Any]:
    """Every metric over all the finished cases the filters select (one SQL query)."""
    require(viewer, "quality.read")
    f = filters.check()
    stmt = (
        select(*_columns())
        .select_from(Evaluation)
        .outerjoin(CsatSurvey, CsatSurvey.case_id == Evaluation.case_id)
        .where(*where_of(f))
    )
    return _row(db.execute(stmt).one())


def drill(
    db: Session,
    *,
    viewer: User,
    group: str,
    key: str,
    period: str = "week",
    filters: Filters,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The cases behind one point of a chart: the group's key (a period start, an agent id …)
    within the filters, newest first."""
    require(viewer, "quality.read")
    f = filters.check()
    col = _key(db, group, period, as_text=True)
    value: Any = key
    if group == "agent":
        if not (key.isascii() and key.isdigit()) or not 1 <= int(key) <= 2**31 - 1:
            raise _err("key", "an agent id", "agent_id")
        value = int(key)
    e = Evaluation
    stmt = (
        select(
            e.case_id,
            e.id.label("evaluation_id"),
            Case.subject,
            e.agent_id,
            e.channel,
            e.category,
            func.coalesce(e.override_score, e.score).label("score"),
            func.coalesce(e.override_passed, e.passed).label("passed"),
            e.auto_fail,
            e.first_response_seconds,
            e.resolution_seconds,
            e.finished_at,
            e.product_code,
            e.problem_code,
            CsatSurvey.score.label("csat"),
        )
        .join(Case, Case.id == e.case_id)
        .outerjoin(CsatSurvey, CsatSurvey.case_id == e.case_id)
        .where(*where_of(f), col == literal(value) if group != "agent" else col == value)
        .order_by(e.finished_at.desc(), e.case_id.desc())
        .limit(limit)
    )
    return [dict(r._mapping) for r in db.execute(stmt)]
