"""Reads behind the desk's overview pages: the customer list and profile (search, their cases,
their open load) and the supervisor's live view (agents' presence and load, chats waiting for an
agent with their wait, the cases whose SLA is breached now). Reads never write."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.core.db import utcnow
from kefu.core.security import User, require
from kefu.customers import service as customers
from kefu.desk.assignment import agent_profiles, agent_slots
from kefu.desk.models import Case
from kefu.desk.search import list_cases
from kefu.desk.sla_policies import load_policies, sla_view
from kefu.identity import service as identity

__all__ = ["customer_cases", "customer_list", "live_view"]

_PRESENCE_ORDER = {"online": 0, "away": 1}


def customer_list(db: Session, *, viewer: User, q: str, lang: str) -> list[dict[str, Any]]:
    """Customers matching ``q`` (name, code, account number, or phone and ID number matched
    whole through their blind index), each with their open case count and last case; personal
    data only masked."""
    rows = customers.search_customers(db, viewer=viewer, q=q, limit=100)
    ids = [c.id for c in rows]
    open_counts: dict[int, int] = {}
    last: dict[int, datetime] = {}
    if ids:
        for cid, n in db.execute(
            select(Case.customer_id, func.count())
            .where(Case.customer_id.in_(ids), Case.status_category.in_(("open", "pending")))
            .group_by(Case.customer_id)
        ):
            open_counts[int(cid)] = int(n)
        for cid, at in db.execute(
            select(Case.customer_id, func.max(Case.updated_at))
            .where(Case.customer_id.in_(ids))
            .group_by(Case.customer_id)
        ):
            if at is not None:
                last[int(cid)] = at
    return [
        {
            "id": c.id,
            "code": c.code,
            "name": c.name_for(lang),
            "phone": c.phone_masked,
            "kyc_status": c.kyc_status,
            "risk_level": c.risk_level,
            "open_cases": open_counts.get(c.id, 0),
            "last_case_at": last.get(c.id),
        }
        for c in rows
    ]


def customer_cases(db: Session, *, viewer: User, customer_id: int) -> list[Case]:
    """Every case of one customer, newest first (up to 200)."""
    cases = list_cases(db, viewer=viewer, customer_id=customer_id, limit=200)
    return sorted(cases, key=lambda c: c.created_at, reverse=True)


def live_view(
    db: Session, *, viewer: User, lang: str, now: datetime | None = None
) -> dict[str, Any]:
    """What a supervisor watches: every agent's presence and load, the live chats nobody has
    taken yet (longest wait first), and the open cases whose SLA clock is past due now."""
    require(viewer, "case.assign")
    now = now or utcnow()
    slots = {s.agent_id: s for s in agent_slots(db)}
    profiles = {p.user_id: p for p in agent_profiles(db)}
    users = identity.users_by_id(db, set(slots))
    agents = sorted(
        (
            {
                "user_id": a,
                "name": users[a].name_for(lang),
                "presence": s.presence,
                "since": profiles[a].presence_at if a in profiles else None,
                "open_cases": s.open_cases,
                "capacity": s.capacity,
                "load_percent": round(100 * s.open_cases / s.capacity) if s.capacity else 100,
                "trainee": users[a].is_trainee,
            }
            for a, s in slots.items()
            if a in users
        ),
        key=lambda x: (_PRESENCE_ORDER.get(str(x["presence"]), 2), str(x["name"])),
    )
    waiting = db.scalars(
        select(Case)
        .where(
            Case.channel == "chat",
            Case.status_category == "open",
            Case.assignee_id.is_(None),
        )
        .order_by(Case.created_at, Case.id)
        .limit(100)
    ).all()
    breached = db.scalars(
        select(Case)
        .where(Case.status_category == "open", Case.next_due_at < now)
        .order_by(Case.next_due_at, Case.id)
        .limit(100)
    ).all()
    cases = {c.id: c for c in [*waiting, *breached]}
    names = customers.customers_by_id(db, {c.customer_id for c in cases.values()})
    assignees = identity.users_by_id(db, [c.assignee_id for c in cases.values()])
    policies = load_policies(db)

    def row(c: Case) -> dict[str, Any]:
        cust = names.get(c.customer_id)
        who = assignees.get(c.assignee_id) if c.assignee_id else None
        return {
            "id": c.id,
            "subject": c.subject,
            "channel": c.channel,
            "priority": c.priority,
            "customer": cust.name_for(lang) if cust else "",
            "assignee_id": c.assignee_id,
            "assignee": who.name_for(lang) if who else None,
            "created_at": c.created_at,
            "wait_seconds": int((now - c.created_at).total_seconds()),
            "overdue_seconds": int((now - c.next_due_at).total_seconds()) if c.next_due_at else 0,
            "sla": sla_view(db, c, now=now, policies=policies),
        }

    return {
        "now": now,
        "agents": agents,
        "online": sum(1 for a in agents if a["presence"] == "online"),
        "waiting": [row(c) for c in waiting],
        "breached": [row(c) for c in breached],
    }
