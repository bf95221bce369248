"""The admin console's desk part (/admin): the page itself, SLA targets, calendar days and
canned replies (the user forms of /admin are identity's, the calendar import is
``calendar_pages``')."""

from __future__ import annotations

from datetime import date

from fastapi import APIRouter, Form, Path, Query, Request
from fastapi.responses import HTMLResponse, Response

from kefu.core.http import (
    DbSession,
    Flash,
    Id,
    OptionalCaller,
    admin_form,
    admin_page_caller,
    render,
)
from kefu.core.security import User, can
from kefu.desk import service as desk
from kefu.desk import views_pages
from kefu.desk.pages import CHOICES
from kefu.identity import service as identity

router = APIRouter(include_in_schema=False)

#: a year of minutes: an SLA target beyond it is a typo, refused before it reaches the database
SLA_MAX_MINUTES = 366 * 24 * 60


# --- admin console --------------------------------------------------------------------------


@router.get("/admin", response_class=HTMLResponse)
def admin(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    flash: str = Query("", max_length=200),
    kind: str = Query("ok", max_length=8),
    canned_q: str = Query("", max_length=100),
) -> Response:
    c = admin_page_caller(request, caller)
    if isinstance(c, Response):
        return c
    return render(
        request,
        "admin/admin.html",
        c,
        area="admin",
        users=identity.list_users(db),
        roles=list(identity.ROLES),
        can_users=can(c.user, "users.manage"),
        policies=desk.list_policies(db),
        calendars=desk.list_calendars(db),
        calendars_needing=desk.calendars_needing_holidays(db),
        canned=desk.list_canned(db, by_category=False, q=canned_q),
        canned_q=canned_q,
        agent_profiles=views_pages.admin_agent_profiles(db, c.user),
        flash=flash,
        flash_kind="error" if kind == "error" else "ok",
        **CHOICES,
    )


@router.post("/admin/sla/{policy_id}")
def admin_sla(
    request: Request,
    policy_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    first_response_minutes: int = Form(ge=1, le=SLA_MAX_MINUTES),
    resolution_minutes: int = Form(ge=1, le=SLA_MAX_MINUTES),
    calendar_id: int = Form(ge=1, le=2**31 - 1),
    near_breach_percent: int = Form(80, ge=1, le=99),
    csrf: str = Form(""),
) -> Response:
    def save(actor: User) -> Flash:
        desk.update_sla_policy(
            db,
            actor=actor,
            policy_id=policy_id,
            first_response_minutes=first_response_minutes,
            resolution_minutes=resolution_minutes,
            calendar_id=calendar_id,
            near_breach_percent=near_breach_percent,
        )
        return ("polish.flash_sla_saved", {})

    return admin_form(request, caller, csrf, save)


@router.post("/admin/calendars/{calendar_id}/days")
def admin_calendar_day(
    request: Request,
    calendar_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    day: date = Form(),
    kind: str = Form(max_length=8),
    csrf: str = Form(""),
) -> Response:
    def mark(actor: User) -> Flash:
        desk.set_calendar_day(db, actor=actor, calendar_id=calendar_id, day=day, kind=kind)
        return ("polish.flash_day_" + kind, {"day": day.isoformat()})

    return admin_form(request, caller, csrf, mark)


@router.post("/admin/canned")
def admin_canned(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    key: str = Form(max_length=64),
    category: str = Form(max_length=16),
    title_zh: str = Form(max_length=128),
    title_en: str = Form(max_length=128),
    body_zh: str = Form(max_length=5000),
    body_en: str = Form(max_length=5000),
    csrf: str = Form(""),
) -> Response:
    def add(actor: User) -> Flash:
        desk.add_canned(
            db,
            actor=actor,
            key=key,
            category=category,
            title_zh=title_zh,
            title_en=title_en,
            body_zh=body_zh,
            body_en=body_en,
        )
        return ("polish.flash_canned_added", {"name": key})

    return admin_form(request, caller, csrf, add)


@router.post("/admin/canned/{key}")
def admin_canned_edit(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    key: str = Path(max_length=64),
    category: str = Form(max_length=16),
    title_zh: str = Form(max_length=128),
    title_en: str = Form(max_length=128),
    body_zh: str = Form(max_length=5000),
    body_en: str = Form(max_length=5000),
    csrf: str = Form(""),
) -> Response:
    def edit(actor: User) -> Flash:
        desk.update_canned(
            db,
            actor=actor,
            key=key,
            category=category,
            title_zh=title_zh,
            title_en=title_en,
            body_zh=body_zh,
            body_en=body_en,
        )
        return ("polish.flash_canned_saved", {"name": key})

    return admin_form(request, caller, csrf, edit)


@router.post("/admin/canned/{key}/delete")
def admin_canned_delete(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    key: str = Path(max_length=64),
    csrf: str = Form(""),
) -> Response:
    def delete(actor: User) -> Flash:
        desk.delete_canned(db, actor=actor, key=key)
        return ("polish.flash_canned_deleted", {"name": key})

    return admin_form(request, caller, csrf, delete)
