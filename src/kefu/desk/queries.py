"""Reads of the desk's consoles (portal, desk, admin): what a page shows, gathered in one
place so pages run no queries of their own. Reads never write."""

from __future__ import annotations

from typing import Any

from sqlalchemy.orm import Session

from kefu.core.security import User
from kefu.customers import service as customers
from kefu.desk import saved_views
from kefu.desk import service as desk
from kefu.desk.models import (
    AgentProfile,
    Case,
)
from kefu.identity import service as identity

__all__ = [
    "QUEUE_VIEWS",
    "agent_profile",
    "agents_with_presence",
    "case_or_none",
    "queue",
]

#: the desk's saved views: name -> filters of :func:`kefu.desk.service.list_cases`
QUEUE_VIEWS: dict[str, dict[str, str]] = {
    "open": {"status_category": "open"},
    "mine": {"status_category": "open,pending", "assignee": "me"},
    "unassigned": {"status_category": "open", "assignee": "none"},
    "chats": {"status_category": "open", "channel": "chat"},
    "pending": {"status_category": "pending"},
    "resolved": {"status_category": "resolved,closed"},
    "all": {},
}


def queue(
    db: Session,
    *,
    viewer: User,
    lang: str,
    view: str = "open",
    q: str = "",
    category: str = "",
    priority: str = "",
    tag: str = "",
    **more: str,
) -> list[Case]:
    """The desk's queue (one of :data:`QUEUE_VIEWS`, unknown names read as ``open``): up to
    100 cases, each with ``sla_first``, ``sla_resolution``, ``customer_name`` and
    ``assignee_name`` set for the page. ``more`` are the filters of
    :func:`kefu.desk.saved_views.page_filters` (a saved view replaces all the others)."""
    args: dict[str, Any] = dict(QUEUE_VIEWS.get(view, QUEUE_VIEWS["open"]))
    filters: dict[str, Any] = {
        "q": q or None,
        "category": category or None,
        "priority": priority or None,
        "tag": tag or None,
    }
    page = saved_views.page_filters(db, viewer=viewer, lang=lang, **more)
    if page.view is not None:
        args, filters = dict(page.args), {}
    else:
        args.update(page.args)
    sort = page.sort
    cases = desk.list_cases(db, viewer=viewer, limit=100, sort=sort, **filters, **args)
    if sort == "due" and args.get("status_category") == "open" and "channel" not in args:
        # a customer waiting in a live chat comes before the ticket backlog, however overdue
        chats = desk.list_cases(db, viewer=viewer, limit=100, channel="chat", **filters, **args)
        lead = {c.id for c in chats}
        cases = (chats + [c for c in cases if c.id not in lead])[:100]
    policies = desk.load_policies(db)
    names = {
        cid: c.name_for(lang)
        for cid, c in customers.customers_by_id(db, {c.customer_id for c in cases}).items()
    }
    agents = {
        u.id: u.name_for(lang)
        for u in identity.users_by_id(db, {c.assignee_id for c in cases if c.assignee_id}).values()
    }
    for c in cases:
        clock = desk.sla_view(db, c, policies=policies)
        c.sla_first = clock["first_response"]  # type: ignore[attr-defined]
        c.sla_resolution = clock["resolution"]  # type: ignore[attr-defined]
        c.customer_name = names.get(c.customer_id, "")  # type: ignore[attr-defined]
        c.assignee_name = agents.get(c.assignee_id or 0)  # type: ignore[attr-defined]
    return cases


def case_or_none(db: Session, case_id: int) -> Case | None:
    """A case by id without a visibility check: only for marking the open one in a list the
    viewer already sees."""
    return db.get(Case, case_id)


def agent_profile(db: Session, user_id: int) -> AgentProfile | None:
    """A staff member's desk profile (presence, capacity); None for who has none."""
    return db.get(AgentProfile, user_id)


def agents_with_presence(db: Session, *, lang: str) -> list[dict[str, Any]]:
    """The agents a case can be handed to: name, presence and current load."""
    slots = {s.agent_id: s for s in desk.agent_slots(db)}
    users = identity.users_by_id(db, set(slots))
    return [
        {
            "user_id": a,
            "name": users[a].name_for(lang),
            "presence": s.presence,
            "open_cases": s.open_cases,
            "capacity": s.capacity,
        }
        for a, s in slots.items()
        if a in users
    ]
