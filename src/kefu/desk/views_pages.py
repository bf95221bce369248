"""The desk page's saved views (the queue's sidebar with live counts; save, rename, delete) and
the merge form of a case: plain form posts that answer with a redirect, so they work without
script (templates/desk/_saved_views.html and _merge.html)."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Form, Request
from fastapi.responses import RedirectResponse, Response
from sqlalchemy.orm import Session

from kefu.core.http import (
    DbSession,
    Id,
    OptionalCaller,
    admin_form,
    check_form_csrf,
    desk_page_caller,
    language,
)
from kefu.core.i18n import t
from kefu.core.security import User, can
from kefu.customers.service import customers_by_id
from kefu.desk import agent_profiles, queries, saved_views
from kefu.desk import service as desk
from kefu.desk.merge import merge_cases
from kefu.desk.models import Case

pages = APIRouter(include_in_schema=False)

#: the queue-bar fields a saved view keeps (and the page's own fields it does not)
_PAGE_FIELDS = (
    "view",
    "q",
    "category",
    "priority",
    "tag",
    "assignee",
    "channel",
    "status",
    "customer",
    "created_from",
    "created_to",
)


def desk_context(
    db: Session, user: User, lang: str, filters: dict[str, Any], case: Case | None
) -> dict[str, Any]:
    """What the desk page shows of saved views and merging, beside the queue."""
    page = saved_views.page_filters(
        db,
        viewer=user,
        lang=lang,
        **{k: filters.get(k, "") for k in (*_PAGE_FIELDS[5:], "sort", "saved")},
    )
    active = saved_views.view_out(page.view, viewer=user) if page.view else None
    dropped = ", ".join(t(f"views.f_{d}", lang) for d in (active or {}).get("dropped", []))
    ctx: dict[str, Any] = {
        "saved_views": saved_views.views_with_counts(db, viewer=user),
        "active_view": active,
        "view_dropped": dropped,
        "may_share": can(user, "canned.manage"),
        "filter_agents": queries.agents_with_presence(db, lang=lang),
        "filter_statuses": desk.list_statuses(db),
        "filter_customer": page.customer_name,
        "merge_targets": [],
        # an agent made in /admin sets their presence before they have a profile (the first
        # change creates it)
        "can_presence": can(user, "presence.set"),
    }
    if page.view is not None:
        # the bar shows the view's filters (a change there leaves the view: desk-work.js)
        ctx["filters"] = _bar_of_view(db, page.view.filters, saved=page.view.view.id)
        ctx["filters"]["sort"] = page.sort
    if case is not None and case.merged_into_id is None and can(user, "case.update"):
        ctx["merge_targets"] = [
            c
            for c in desk.list_cases(
                db, viewer=user, customer_id=case.customer_id, sort="newest", limit=50
            )
            if c.id != case.id and c.merged_into_id is None
        ]
    return ctx


def _bar_of_view(db: Session, f: saved_views.ViewFilters, *, saved: int) -> dict[str, Any]:
    """A saved view's filters as the queue bar's fields (the status groups as the nearest of
    the bar's presets, "all" when none matches)."""
    cats = sorted(f.status_category)
    preset = {
        ("open",): "open",
        ("pending",): "pending",
        ("closed", "resolved"): "resolved",
        ("open", "pending"): "mine" if f.assignee == "me" else "all",
    }.get(tuple(cats), "all")
    if preset == "open" and f.assignee == "none":
        preset = "unassigned"
    code = ""
    if f.customer_id is not None:
        found = customers_by_id(db, [f.customer_id]).get(f.customer_id)
        code = found.code if found else ""
    bar: dict[str, Any] = {
        "view": preset,
        "q": f.q,
        "category": f.category or "",
        "priority": f.priority or "",
        "tag": f.tag or "",
        "assignee": f.assignee or "",
        "channel": f.channel or "",
        "status": f.status or "",
        "customer": code,
        "created_from": f.created_from.isoformat() if f.created_from else "",
        "created_to": f.created_to.isoformat() if f.created_to else "",
        "saved": str(saved),
    }
    return {k: v for k, v in bar.items() if v or k == "view"}


def _redirect(url: str) -> Response:
    return RedirectResponse(url, status_code=303)


@pages.post("/desk/views")
def save_view(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    name: str = Form(max_length=80),
    shared: bool = Form(False),
    csrf: str = Form(""),
    view: str = Form("open", max_length=16),
    q: str = Form("", max_length=200),
    category: str = Form("", max_length=16),
    priority: str = Form("", max_length=8),
    tag: str = Form("", max_length=64),
    assignee: str = Form("", max_length=20),
    channel: str = Form("", max_length=8),
    status: str = Form("", max_length=32),
    customer: str = Form("", max_length=100),
    created_from: str = Form("", max_length=10),
    created_to: str = Form("", max_length=10),
    sort: str = Form("", max_length=8),
) -> Response:
    """Saves the queue bar's current filters (the fields of its form) under a name and opens
    the new view."""
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    bar = {
        "view": view,
        "q": q,
        "category": category,
        "priority": priority,
        "tag": tag,
        "assignee": assignee,
        "channel": channel,
        "status": status,
        "created_from": created_from,
        "created_to": created_to,
    }
    filters = saved_views.filters_of_page(bar)
    if customer.strip():
        page = saved_views.page_filters(db, viewer=c.user, customer=customer)
        filters["customer_id"] = page.args["customer_id"]
    v = saved_views.create_view(
        db, actor=c.user, name=name, filters=filters, sort=sort or "due", shared=shared
    )
    return _redirect(f"/desk?saved={v.id}")


@pages.post("/desk/views/{view_id}/rename")
def rename_view(
    request: Request,
    view_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    name: str = Form(max_length=80),
    csrf: str = Form(""),
) -> Response:
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    saved_views.update_view(db, actor=c.user, view_id=view_id, name=name)
    return _redirect(f"/desk?saved={view_id}")


@pages.post("/desk/views/{view_id}/delete")
def delete_view(
    request: Request, view_id: Id, caller: OptionalCaller, db: DbSession, csrf: str = Form("")
) -> Response:
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    saved_views.delete_view(db, actor=c.user, view_id=view_id)
    return _redirect("/desk")


@pages.post("/desk/cases/{case_id}/merge")
def merge_form(
    request: Request,
    case_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    target_id: int = Form(ge=1, le=2**31 - 1),
    csrf: str = Form(""),
) -> Response:
    """Merges the case into ``target_id`` and opens the target."""
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    target = merge_cases(db, actor=c.user, source_id=case_id, target_id=target_id)
    return _redirect(f"/desk/cases/{target.id}")


def admin_agent_profiles(db: Session, user: User) -> list[dict[str, Any]]:
    """The agents' profiles the admin console shows (to who may change them)."""
    return agent_profiles.staff_profiles(db) if can(user, "case.assign") else []


@pages.post("/admin/agents/{user_id}/profile")
def admin_agent_profile(
    request: Request,
    user_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    capacity: int = Form(ge=1, le=50),
    languages: list[str] = Form(default_factory=list),
    categories: list[str] = Form(default_factory=list),
    csrf: str = Form(""),
) -> Response:
    def save(actor: User) -> str:
        agent_profiles.update_agent_profile(
            db,
            actor=actor,
            user_id=user_id,
            capacity=capacity,
            languages=languages,
            categories=categories,
        )
        return t("views.profile_saved", language(request))

    return admin_form(request, caller, csrf, save)
