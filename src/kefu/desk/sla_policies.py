"""SLA policies and business calendars: due times of a case, its live clock, and the
supervisor's edits. The clock arithmetic itself is the pure engine in desk/sla.py."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action
from kefu.core.db import utcnow
from kefu.core.errors import NotFound
from kefu.core.security import User, require
from kefu.desk import sla
from kefu.desk.audit import DeskAudit
from kefu.desk.models import BusinessCalendar, Case, SlaPolicy
from kefu.desk.validation import check_choice, field_error

PRIORITY_ORDER = ("urgent", "high", "normal", "low")


def calendar_of(row: BusinessCalendar) -> sla.Calendar:
    return sla.Calendar.from_dict(
        {
            "name": row.name,
            "timezone": row.timezone,
            "hours": row.hours,
            "holidays": row.holidays,
            "workdays": row.workdays,
        }
    )


@dataclass(frozen=True)
class Policy:
    priority: str
    first_response_minutes: int
    resolution_minutes: int
    calendar: sla.Calendar
    near_percent: int
    channel: str = "any"


#: every policy by (channel, priority), loaded once for a page or a list of cases
PolicyBook = dict[tuple[str, str], Policy]


def _policy(row: SlaPolicy) -> Policy:
    return Policy(
        row.priority,
        row.first_response_minutes,
        row.resolution_minutes,
        calendar_of(row.calendar),
        row.near_breach_percent,
        row.channel,
    )


def pick(book: PolicyBook, channel: str, priority: str) -> Policy | None:
    """The channel's own policy for the priority, else the "any" channel's."""
    return book.get((channel, priority)) or book.get(("any", priority))


def policy_for(db: Session, priority: str, channel: str = "any") -> Policy | None:
    rows = db.scalars(
        select(SlaPolicy).where(
            SlaPolicy.priority == priority, SlaPolicy.channel.in_((channel, "any"))
        )
    )
    return pick({(r.channel, r.priority): _policy(r) for r in rows}, channel, priority)


def load_policies(db: Session) -> PolicyBook:
    """Every policy, for a page or list of cases (see :func:`pick`)."""
    return {(r.channel, r.priority): _policy(r) for r in db.scalars(select(SlaPolicy))}


def list_policies(db: Session) -> list[SlaPolicy]:
    return list(db.scalars(select(SlaPolicy).order_by(SlaPolicy.channel, SlaPolicy.id)))


def list_calendars(db: Session) -> list[BusinessCalendar]:
    return list(db.scalars(select(BusinessCalendar).order_by(BusinessCalendar.id)))


def apply_sla(db: Session, case: Case) -> None:
    """(Re)computes the due times after creation or a priority change."""
    pol = policy_for(db, case.priority, case.channel)
    if pol is None:
        case.first_response_due = case.resolution_due = None
    else:
        if case.first_response_at is None:
            case.first_response_due = sla.add_business_minutes(
                pol.calendar, case.created_at, pol.first_response_minutes
            )
        case.resolution_due = sla.add_business_minutes(
            pol.calendar, case.created_at, pol.resolution_minutes
        )
    refresh_next_due(case)


def refresh_next_due(case: Case) -> None:
    """The queue's sort key: the earliest running deadline (none while paused or done)."""
    if case.status_category != "open" or case.sla_paused_at is not None:
        case.next_due_at = None
        return
    dues = [
        d
        for d in (
            case.first_response_due if case.first_response_at is None else None,
            case.resolution_due,
        )
        if d is not None
    ]
    case.next_due_at = min(dues) if dues else None


def pause_or_resume(db: Session, case: Case, *, new_category: str, now: datetime) -> None:
    """A case waiting on the customer stops its clock; leaving that state shifts the dues."""
    if new_category == "pending" and case.sla_paused_at is None:
        case.sla_paused_at = now
    elif new_category != "pending" and case.sla_paused_at is not None:
        pol = policy_for(db, case.priority, case.channel)
        if pol is not None:
            if case.resolution_due is not None:
                case.resolution_due = sla.resume_due(
                    pol.calendar,
                    due=case.resolution_due,
                    paused_at=case.sla_paused_at,
                    resumed_at=now,
                )
            if case.first_response_at is None and case.first_response_due is not None:
                case.first_response_due = sla.resume_due(
                    pol.calendar,
                    due=case.first_response_due,
                    paused_at=case.sla_paused_at,
                    resumed_at=now,
                )
        case.sla_paused_at = None


def sla_view(
    db: Session,
    case: Case,
    *,
    now: datetime | None = None,
    policies: PolicyBook | None = None,
) -> dict[str, Any]:
    now = now or utcnow()
    pol = (
        pick(policies, case.channel, case.priority)
        if policies is not None
        else policy_for(db, case.priority, case.channel)
    )
    if pol is None:
        return {"first_response": _clock_dict(None), "resolution": _clock_dict(None)}
    fr = sla.sla_state(
        pol.calendar,
        started=case.created_at,
        due=case.first_response_due,
        now=now,
        completed_at=case.first_response_at,
        paused_at=None,
        near_percent=pol.near_percent,
    )
    done = case.resolved_at if case.status_category in ("resolved", "closed") else None
    rs = sla.sla_state(
        pol.calendar,
        started=case.created_at,
        due=case.resolution_due,
        now=now,
        completed_at=done,
        paused_at=case.sla_paused_at,
        near_percent=pol.near_percent,
    )
    return {"first_response": _clock_dict(fr), "resolution": _clock_dict(rs)}


def _clock_dict(c: sla.SlaClock | None) -> dict[str, Any]:
    if c is None:
        return {"due": None, "state": "none", "remaining_minutes": None}
    return {
        "due": c.due.isoformat() if c.due else None,
        "state": c.state,
        "remaining_minutes": c.remaining_minutes,
    }


@action
def update_sla_policy(
    db: Session,
    *,
    actor: User,
    policy_id: int,
    first_response_minutes: int,
    resolution_minutes: int,
    calendar_id: int,
    near_breach_percent: int,
) -> SlaPolicy:
    require(actor, "sla.manage")
    row = db.get(SlaPolicy, policy_id)
    if row is None:
        raise NotFound(f"SLA policy {policy_id} does not exist")
    if db.get(BusinessCalendar, calendar_id) is None:
        raise field_error(
            "calendar_id",
            f"calendar {calendar_id} does not exist",
            key="calendar_missing",
            id=calendar_id,
        )
    if not (0 < first_response_minutes <= resolution_minutes):
        raise field_error(
            "first_response_minutes",
            "must be > 0 and not above the resolution target",
            key="first_response_range",
        )
    if not 1 <= near_breach_percent <= 99:
        raise field_error("near_breach_percent", "1–99", key="percent_range")
    old = {
        "first_response_minutes": row.first_response_minutes,
        "resolution_minutes": row.resolution_minutes,
        "calendar_id": row.calendar_id,
        "near_breach_percent": row.near_breach_percent,
    }
    row.first_response_minutes, row.resolution_minutes = first_response_minutes, resolution_minutes
    row.calendar_id, row.near_breach_percent = calendar_id, near_breach_percent
    new = {
        "first_response_minutes": first_response_minutes,
        "resolution_minutes": resolution_minutes,
        "calendar_id": calendar_id,
        "near_breach_percent": near_breach_percent,
    }
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.sla_update,
        entity="sla_policy",
        entity_id=row.id,
        data={"old": old, "new": new},
    )
    return row


@action
def set_calendar_day(
    db: Session, *, actor: User, calendar_id: int, day: date, kind: str
) -> BusinessCalendar:
    """Marks a date as a holiday, a make-up workday (调休), or back to normal ("remove")."""
    require(actor, "sla.manage")
    cal = db.get(BusinessCalendar, calendar_id)
    if cal is None:
        raise NotFound(f"calendar {calendar_id} does not exist")
    check_choice("kind", kind, ("holiday", "workday", "remove"))
    iso = day.isoformat()
    holidays = [d for d in cal.holidays if d != iso]
    workdays = [d for d in cal.workdays if d != iso]
    if kind == "holiday":
        holidays.append(iso)
    elif kind == "workday":
        workdays.append(iso)
    cal.holidays, cal.workdays = sorted(holidays), sorted(workdays)
    calendar_of(cal)  # still valid
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.calendar_day,
        entity="calendar",
        entity_id=cal.id,
        data={"day": iso, "kind": kind},
    )
    return cal
