"""Saved views of the queue and merging cases over HTTP (JSON API); the desk page shows both
(kefu.desk.pages with templates/desk/_saved_views.html)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field

from kefu.core.http import CurrentUser, DbSession, language
from kefu.desk import readmodel, saved_views
from kefu.desk.merge import merge_cases
from kefu.desk.saved_views import ViewFilters

router = APIRouter(prefix="/api/v1", tags=["desk"])
ViewId = Path(ge=1, le=2**31 - 1, description="saved view id")


class ViewIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str = Field(min_length=1, max_length=80)
    filters: ViewFilters = Field(default_factory=ViewFilters)
    sort: Literal["due", "newest", "oldest", "updated"] = "due"
    shared: bool = Field(default=False, description="seen by every desk user (supervisors, admins)")


class ViewPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    name: str | None = Field(default=None, min_length=1, max_length=80)
    filters: ViewFilters | None = None
    sort: Literal["due", "newest", "oldest", "updated"] | None = None
    shared: bool | None = None


class ViewOut(BaseModel):
    id: int
    name: str
    shared: bool
    owner_id: int
    mine: bool
    filters: dict[str, Any]
    sort: str
    #: filters the view names that no longer exist (a deleted tag, user, status or customer)
    dropped: list[str]
    count: int | None = None


class MergeIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    target_id: int = Field(ge=1, le=2**31 - 1, description="the case that remains")


@router.get("/views", response_model=list[ViewOut])
def list_views(user: CurrentUser, db: DbSession) -> list[dict[str, Any]]:
    """The shared views and the caller's own, each with its live count."""
    return saved_views.views_with_counts(db, viewer=user)


@router.post("/views", response_model=ViewOut, status_code=201)
def create_view(body: ViewIn, user: CurrentUser, db: DbSession) -> dict[str, Any]:
    v = saved_views.create_view(
        db, actor=user, name=body.name, filters=body.filters, sort=body.sort, shared=body.shared
    )
    return saved_views.view_out(
        saved_views.resolve_view(db, viewer=user, view_id=v.id), viewer=user
    )


@router.patch("/views/{view_id}", response_model=ViewOut)
def update_view(
    body: ViewPatch, user: CurrentUser, db: DbSession, view_id: int = ViewId
) -> dict[str, Any]:
    """Renames (or re-filters) a view of the caller's own."""
    saved_views.update_view(
        db,
        actor=user,
        view_id=view_id,
        name=body.name,
        filters=body.filters,
        sort=body.sort,
        shared=body.shared,
    )
    return saved_views.view_out(
        saved_views.resolve_view(db, viewer=user, view_id=view_id), viewer=user
    )


@router.delete("/views/{view_id}", status_code=204)
def delete_view(user: CurrentUser, db: DbSession, view_id: int = ViewId) -> Response:
    saved_views.delete_view(db, actor=user, view_id=view_id)
    return Response(status_code=204)


@router.get("/views/{view_id}/cases")
def view_cases(
    request: Request,
    user: CurrentUser,
    db: DbSession,
    view_id: int = ViewId,
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=100_000),
) -> dict[str, Any]:
    """The cases of a saved view in its order; ``view.dropped`` names the filters it lost."""
    r, cases = saved_views.view_cases(db, viewer=user, view_id=view_id, limit=limit, offset=offset)
    return {
        "view": saved_views.view_out(r, viewer=user),
        "items": readmodel.cases_read(db, cases, viewer=user, lang=language(request)),
        "limit": limit,
        "offset": offset,
    }


@router.post("/cases/{case_id}/merge")
def merge_case(
    body: MergeIn,
    request: Request,
    user: CurrentUser,
    db: DbSession,
    case_id: int = Path(ge=1, le=2**31 - 1, description="the case merged away (closed)"),
) -> dict[str, Any]:
    """Merges this case into ``target_id`` (same customer): its messages move there in time
    order, the tags are united, and this case is closed, read-only, pointing at the target."""
    target = merge_cases(db, actor=user, source_id=case_id, target_id=body.target_id)
    return {
        "source_id": case_id,
        "target": readmodel.case_read(db, target, viewer=user, lang=language(request)),
    }
