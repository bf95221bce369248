"""Saved views of the desk's queue: a named set of filters and a sort that an agent keeps for
themself or a supervisor shares with the team, shown in the queue's sidebar with its live count.

The filters are stored as JSON validated by :class:`ViewFilters` (on the way in and again on the
way out, so a row edited by hand cannot break the desk). What a filter names can disappear after
the view was saved — a tag no case carries any more, a user who left, a retired status, a deleted
customer: such a view still loads, without that filter, and says which ones it dropped."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from enum import StrEnum
from typing import Any, Literal
from zoneinfo import ZoneInfo

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.config import get_settings
from kefu.core.db import utcnow
from kefu.core.errors import Conflict, Forbidden, KefuError, NotFound
from kefu.core.security import User, require
from kefu.customers.service import customers_by_id, search_customers
from kefu.desk.models import CaseStatus, CaseTag
from kefu.desk.search import SORTS, count_cases, list_cases
from kefu.desk.validation import field_error, normalise_tags
from kefu.desk.views_models import SavedView
from kefu.identity import service as identity

__all__ = [
    "ResolvedView",
    "SavedViewAudit",
    "ViewFilters",
    "create_view",
    "day_bounds",
    "delete_view",
    "list_views",
    "resolve_view",
    "update_view",
    "view_cases",
    "view_out",
    "views_with_counts",
]

MAX_VIEWS = 50


class SavedViewAudit(StrEnum):
    create = "view.create"
    update = "view.update"
    delete = "view.delete"


Sort = Literal["due", "newest", "oldest", "updated"]


#: the days a date filter may name (beyond them a bound would overflow on conversion)
FIRST_DAY, LAST_DAY = date(1990, 1, 1), date(2199, 12, 31)


class ViewFilters(BaseModel):
    """The queue's filters as a view stores them; every field is optional (empty = all)."""

    model_config = ConfigDict(extra="forbid")

    status_category: list[Literal["open", "pending", "resolved", "closed"]] = Field(
        default_factory=list, max_length=4
    )
    status: str | None = Field(default=None, min_length=1, max_length=32)
    assignee: str | None = Field(
        default=None, pattern=r"^(me|none|[0-9]{1,18})$", description="me, none or a user id"
    )
    channel: Literal["chat", "web", "phone", "email"] | None = None
    category: (
        Literal["account", "funds", "trading", "technical", "complaint", "compliance"] | None
    ) = None
    priority: Literal["urgent", "high", "normal", "low"] | None = None
    tag: str | None = Field(default=None, min_length=1, max_length=64)
    customer_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    created_from: date | None = Field(default=None, ge=FIRST_DAY, le=LAST_DAY)
    created_to: date | None = Field(
        default=None, ge=FIRST_DAY, le=LAST_DAY, description="inclusive"
    )
    q: str = Field(default="", max_length=200)

    @model_validator(mode="after")
    def _check(self) -> ViewFilters:
        if self.tag is not None:
            try:
                (self.tag,) = normalise_tags([self.tag.lstrip("#")], field="tag")
            except KefuError as exc:
                raise ValueError(exc.detail) from exc
        if self.created_from and self.created_to and self.created_from > self.created_to:
            raise ValueError("created_from is after created_to")
        self.status_category = list(dict.fromkeys(self.status_category))
        return self


def day_bounds(
    created_from: date | None, created_to: date | None, tz: str | None = None
) -> tuple[datetime | None, datetime | None]:
    """Whole days in the desk's time zone as UTC bounds: [start of from, start of the day after
    to)."""
    for name, d in (("created_from", created_from), ("created_to", created_to)):
        if d is not None and not FIRST_DAY <= d <= LAST_DAY:
            raise field_error(name, f"a day between {FIRST_DAY} and {LAST_DAY}")
    zone = ZoneInfo(tz or get_settings().timezone)
    lo = datetime.combine(created_from, time(), zone) if created_from else None
    hi = datetime.combine(created_to + timedelta(days=1), time(), zone) if created_to else None
    return lo, hi


@dataclass
class ResolvedView:
    """A view ready to run: the arguments of the queue and the filters that had to go."""

    view: SavedView
    filters: ViewFilters
    args: dict[str, Any]
    dropped: list[str] = field(default_factory=list)


def _parse(raw: dict[str, Any]) -> tuple[ViewFilters, list[str]]:
    """A stored filter set; fields that no longer validate are dropped (and named)."""
    try:
        return ViewFilters.model_validate(raw), []
    except ValidationError as exc:
        bad = sorted({str(e["loc"][0]) for e in exc.errors() if e["loc"]})
        kept = {k: v for k, v in raw.items() if k not in bad}
        try:
            return ViewFilters.model_validate(kept), bad
        except ValidationError:
            return ViewFilters(), sorted(raw)


def resolve(db: Session, filters: ViewFilters) -> tuple[dict[str, Any], list[str]]:
    """The queue arguments of ``filters``, without the ones that name what no longer exists."""
    dropped: list[str] = []
    args: dict[str, Any] = {}
    if filters.status_category:
        args["status_category"] = ",".join(filters.status_category)
    for name in ("channel", "category", "priority"):
        if getattr(filters, name):
            args[name] = getattr(filters, name)
    if filters.status:
        if db.scalar(select(CaseStatus.id).where(CaseStatus.key == filters.status)) is None:
            dropped.append("status")
        else:
            args["status"] = filters.status
    if filters.assignee:
        if filters.assignee.isascii() and filters.assignee.isdigit():
            uid = int(filters.assignee)
            user = identity.get_user(db, uid) if uid < 2**31 else None
            if user is None or not user.is_active:
                dropped.append("assignee")
            else:
                args["assignee"] = filters.assignee
        else:
            args["assignee"] = filters.assignee
    if filters.tag:
        if db.scalar(select(CaseTag.case_id).where(CaseTag.tag == filters.tag).limit(1)) is None:
            dropped.append("tag")
        else:
            args["tag"] = filters.tag
    if filters.customer_id is not None:
        if not customers_by_id(db, [filters.customer_id]):
            dropped.append("customer_id")
        else:
            args["customer_id"] = filters.customer_id
    if filters.q.strip():
        args["q"] = filters.q
    lo, hi = day_bounds(filters.created_from, filters.created_to)
    if lo is not None:
        args["created_from"] = lo
    if hi is not None:
        args["created_to"] = hi
    return args, dropped


def _visible(db: Session, viewer: User, view_id: int) -> SavedView:
    v = db.get(SavedView, view_id)
    if v is None or (not v.shared and v.owner_id != viewer.id):
        raise NotFound(f"saved view {view_id} does not exist")
    return v


def _own(db: Session, actor: User, view_id: int) -> SavedView:
    require(actor, "case.read_all")
    v = _visible(db, actor, view_id)
    if v.owner_id != actor.id:
        raise Forbidden("only the owner of a saved view may rename, change or delete it")
    return v


def resolve_view(db: Session, *, viewer: User, view_id: int) -> ResolvedView:
    """A view the viewer may use (a shared one or their own), ready to run."""
    require(viewer, "case.read_all")
    v = _visible(db, viewer, view_id)
    filters, bad = _parse(v.filters)
    args, dropped = resolve(db, filters)
    return ResolvedView(v, filters, args, bad + dropped)


def view_out(r: ResolvedView, *, viewer: User, count: int | None = None) -> dict[str, Any]:
    v = r.view
    return {
        "id": v.id,
        "name": v.name,
        "shared": v.shared,
        "owner_id": v.owner_id,
        "mine": v.owner_id == viewer.id,
        "filters": r.filters.model_dump(mode="json", exclude_defaults=True),
        "sort": v.sort if v.sort in SORTS else "due",
        "dropped": r.dropped,
        "count": count,
    }


def list_views(db: Session, *, viewer: User) -> list[SavedView]:
    """The shared views and the viewer's own: shared first, then by name."""
    require(viewer, "case.read_all")
    stmt = select(SavedView).where(or_(SavedView.shared, SavedView.owner_id == viewer.id))
    return list(db.scalars(stmt.order_by(SavedView.shared.desc(), SavedView.name, SavedView.id)))


def views_with_counts(db: Session, *, viewer: User) -> list[dict[str, Any]]:
    """What the queue's sidebar shows: each view with how many cases it holds right now."""
    out = []
    for v in list_views(db, viewer=viewer):
        filters, bad = _parse(v.filters)
        args, dropped = resolve(db, filters)
        r = ResolvedView(v, filters, args, bad + dropped)
        out.append(view_out(r, viewer=viewer, count=count_cases(db, viewer=viewer, **args)))
    return out


def view_cases(
    db: Session, *, viewer: User, view_id: int, limit: int = 50, offset: int = 0
) -> tuple[ResolvedView, list[Any]]:
    r = resolve_view(db, viewer=viewer, view_id=view_id)
    sort = r.view.sort if r.view.sort in SORTS else "due"
    cases = list_cases(db, viewer=viewer, limit=limit, offset=offset, sort=sort, **r.args)
    return r, cases


def _clean_name(name: str) -> str:
    name = name.strip()
    if not name:
        raise field_error("name", "must not be empty", key="empty")
    if len(name) > 80:
        raise field_error("name", "at most 80 characters", key="at_most_chars", n=80)
    return name


def _name_taken(db: Session, name: str, owner_id: int, but: int | None = None) -> bool:
    stmt = select(SavedView.id).where(
        SavedView.owner_id == owner_id, func.lower(SavedView.name) == name.lower()
    )
    if but is not None:
        stmt = stmt.where(SavedView.id != but)
    return db.scalar(stmt) is not None


def _stored(filters: ViewFilters | dict[str, Any]) -> dict[str, Any]:
    if isinstance(filters, dict):
        try:
            filters = ViewFilters.model_validate(filters)
        except ValidationError as exc:
            err = exc.errors()[0]
            where = ".".join(str(p) for p in err["loc"]) or "filters"
            raise field_error(f"filters.{where}", err["msg"]) from exc
    return filters.model_dump(mode="json", exclude_defaults=True)


def _record(
    db: Session, actor: User, name: SavedViewAudit, v: SavedView, data: dict[str, Any]
) -> None:
    audit.record(db, actor_id=actor.id, action=name, entity="saved_view", entity_id=v.id, data=data)


def _snapshot(v: SavedView) -> dict[str, Any]:
    return {"name": v.name, "shared": v.shared, "filters": v.filters, "sort": v.sort}


@action
def create_view(
    db: Session,
    *,
    actor: User,
    name: str,
    filters: ViewFilters | dict[str, Any],
    sort: str = "due",
    shared: bool = False,
) -> SavedView:
    """Saves the queue's current filters under a name; ``shared`` needs a supervisor or admin."""
    require(actor, "case.read_all")
    if shared:
        require(actor, "canned.manage")
    name = _clean_name(name)
    if sort not in SORTS:
        raise field_error("sort", f"{sort!r} is not one of {', '.join(SORTS)}")
    stored = _stored(filters)
    if _name_taken(db, name, actor.id):
        raise Conflict(key="errors.view_exists", params={"name": repr(name)})
    mine = db.scalar(select(func.count()).where(SavedView.owner_id == actor.id)) or 0
    if mine >= MAX_VIEWS:
        raise Conflict(key="errors.views_full", params={"n": MAX_VIEWS})
    v = SavedView(name=name, owner_id=actor.id, shared=shared, filters=stored, sort=sort)
    db.add(v)
    db.flush()
    _record(db, actor, SavedViewAudit.create, v, {"new": _snapshot(v)})
    return v


@action
def update_view(
    db: Session,
    *,
    actor: User,
    view_id: int,
    name: str | None = None,
    filters: ViewFilters | dict[str, Any] | None = None,
    sort: str | None = None,
    shared: bool | None = None,
) -> SavedView:
    """Renames a view of the actor's own, or replaces its filters, sort or sharing."""
    v = _own(db, actor, view_id)
    new: dict[str, Any] = {}
    if name is not None:
        new["name"] = _clean_name(name)
        if _name_taken(db, new["name"], actor.id, but=v.id):
            raise Conflict(key="errors.view_exists", params={"name": repr(new["name"])})
    if filters is not None:
        new["filters"] = _stored(filters)
    if sort is not None:
        if sort not in SORTS:
            raise field_error("sort", f"{sort!r} is not one of {', '.join(SORTS)}")
        new["sort"] = sort
    if shared is not None:
        if shared:
            require(actor, "canned.manage")
        new["shared"] = shared
    old = _snapshot(v)
    diff = {k: val for k, val in new.items() if old[k] != val}
    if not diff:
        unchanged(db)
        return v
    for k, val in diff.items():
        setattr(v, k, val)
    v.updated_at = utcnow()
    db.flush()
    _record(db, actor, SavedViewAudit.update, v, {"old": {k: old[k] for k in diff}, "new": diff})
    return v


@action
def delete_view(db: Session, *, actor: User, view_id: int) -> None:
    v = _own(db, actor, view_id)
    _record(db, actor, SavedViewAudit.delete, v, {"old": _snapshot(v)})
    db.delete(v)
    db.flush()


# --- the desk page's queue filters ---------------------------------------------------------


@dataclass
class PageFilters:
    """What the desk page's filter bar (or its active saved view) adds to the queue."""

    args: dict[str, Any]
    sort: str = "due"
    view: ResolvedView | None = None
    #: one customer matched by the customer box (its name is shown), or None
    customer_name: str = ""


def _day(name: str, value: str) -> date | None:
    if not value:
        return None
    try:
        return date.fromisoformat(value)
    except ValueError:
        raise field_error(name, "a date as YYYY-MM-DD") from None


def page_filters(
    db: Session,
    *,
    viewer: User,
    lang: str = "zh",
    saved: str = "",
    assignee: str = "",
    channel: str = "",
    status: str = "",
    customer: str = "",
    created_from: str = "",
    created_to: str = "",
    sort: str = "",
) -> PageFilters:
    """The queue arguments of the desk page's filter bar; with ``saved`` (a view id), the saved
    view's own filters and sort instead."""
    if saved:
        if not (saved.isascii() and saved.isdigit()) or not 0 < int(saved) < 2**31:
            raise field_error("saved", "a saved view id")
        r = resolve_view(db, viewer=viewer, view_id=int(saved))
        return PageFilters(dict(r.args), r.view.sort if r.view.sort in SORTS else "due", r)
    args: dict[str, Any] = {}
    for name, value in (("assignee", assignee), ("channel", channel), ("status", status)):
        if value:
            args[name] = value
    name = ""
    if customer.strip():
        # a customer code, account number, whole phone number, or (part of) a name
        require(viewer, "customer.read")
        found = search_customers(db, viewer=viewer, q=customer, limit=2)
        if len(found) != 1:
            raise field_error(
                "customer",
                "no customer matches" if not found else "matches several customers: be precise",
            )
        args["customer_id"] = found[0].id
        name = found[0].name_for(lang)
    lo_day, hi_day = _day("created_from", created_from), _day("created_to", created_to)
    if lo_day and hi_day and lo_day > hi_day:
        raise field_error("created_from", "is after created_to", key="after_end")
    lo, hi = day_bounds(lo_day, hi_day)
    if lo is not None:
        args["created_from"] = lo
    if hi is not None:
        args["created_to"] = hi
    if sort and sort not in SORTS:
        raise field_error("sort", f"{sort!r} is not one of {', '.join(SORTS)}")
    return PageFilters(args, sort or "due", None, name)


def filters_of_page(page: dict[str, Any]) -> dict[str, Any]:
    """The filter set a page's bar shows, as a view stores it (what "save view" keeps)."""
    bases: dict[str, dict[str, Any]] = {
        "open": {"status_category": ["open"]},
        "mine": {"status_category": ["open", "pending"], "assignee": "me"},
        "unassigned": {"status_category": ["open"], "assignee": "none"},
        "chats": {"status_category": ["open"], "channel": "chat"},
        "pending": {"status_category": ["pending"]},
        "resolved": {"status_category": ["resolved", "closed"]},
        "all": {},
    }
    out: dict[str, Any] = dict(bases.get(page.get("view") or "open", bases["open"]))
    for k in ("q", "category", "priority", "tag", "assignee", "channel", "status"):
        if page.get(k):
            out[k] = page[k]
    for k in ("created_from", "created_to"):
        if page.get(k):
            out[k] = page[k]
    return out
