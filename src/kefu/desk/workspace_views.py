"""Desk HTTP API, the agents' workspace: statuses, canned replies, macros, SLA policies,
presence and the agents list."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from sqlalchemy.orm import Session

from kefu.core.http import DB, current_user, language
from kefu.core.security import User, require
from kefu.desk import readmodel, service
from kefu.desk.schemas import (
    CannedPatch,
    CannedRenderIn,
    MacroIn,
    MacroOut,
    MacroPatch,
    PresenceIn,
    StatusIn,
)
from kefu.identity import service as identity

router = APIRouter(prefix="/api/v1", tags=["desk"])
CaseId = Path(ge=1, le=2**31 - 1, description="case id")


@router.get("/statuses")
def list_statuses(user: User = Depends(current_user), db: Session = DB) -> list[dict[str, Any]]:
    return [
        {
            "key": s.key,
            "category": s.category,
            "name_zh": s.name_zh,
            "name_en": s.name_en,
            "builtin": s.is_builtin,
        }
        for s in service.list_statuses(db)
    ]


@router.post("/statuses", status_code=201)
def add_status(
    body: StatusIn, user: User = Depends(current_user), db: Session = DB
) -> dict[str, Any]:
    s = service.create_status(db, actor=user, **body.model_dump())
    return {"key": s.key, "category": s.category, "name_zh": s.name_zh, "name_en": s.name_en}


def _canned_out(c: Any) -> dict[str, Any]:
    return {
        "key": c.key,
        "category": c.category,
        "title_zh": c.title_zh,
        "title_en": c.title_en,
        "body_zh": c.body_zh,
        "body_en": c.body_en,
    }


@router.get("/canned")
def list_canned(
    q: str = Query("", max_length=100, description="words in the key, title or text"),
    user: User = Depends(current_user),
    db: Session = DB,
) -> list[dict[str, Any]]:
    require(user, "canned.use")
    return [_canned_out(c) for c in service.list_canned(db, q=q)]


@router.patch("/canned/{key}")
def update_canned(
    body: CannedPatch,
    key: str = Path(max_length=64),
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    row = service.update_canned(db, actor=user, key=key, **body.model_dump(exclude_unset=True))
    return _canned_out(row)


@router.delete("/canned/{key}", status_code=204)
def delete_canned(
    key: str = Path(max_length=64), user: User = Depends(current_user), db: Session = DB
) -> Response:
    service.delete_canned(db, actor=user, key=key)
    return Response(status_code=204)


MacroId = Path(ge=1, le=2**31 - 1, description="macro id")


@router.get("/macros", response_model=list[MacroOut])
def list_macros(
    q: str = Query("", max_length=100),
    user: User = Depends(current_user),
    db: Session = DB,
) -> list[dict[str, Any]]:
    """The shared macros and the caller's own."""
    return [service.macro_out(m) for m in service.list_macros(db, viewer=user, q=q)]


@router.post("/macros", response_model=MacroOut, status_code=201)
def create_macro(
    body: MacroIn, user: User = Depends(current_user), db: Session = DB
) -> dict[str, Any]:
    return service.macro_out(service.create_macro(db, actor=user, **body.model_dump()))


@router.patch("/macros/{macro_id}", response_model=MacroOut)
def update_macro(
    body: MacroPatch,
    macro_id: int = MacroId,
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    m = service.update_macro(
        db, actor=user, macro_id=macro_id, **body.model_dump(exclude_unset=True)
    )
    return service.macro_out(m)


@router.delete("/macros/{macro_id}", status_code=204)
def delete_macro(
    macro_id: int = MacroId, user: User = Depends(current_user), db: Session = DB
) -> Response:
    service.delete_macro(db, actor=user, macro_id=macro_id)
    return Response(status_code=204)


@router.post("/cases/{case_id}/macros/{macro_id}")
def apply_macro(
    request: Request,
    case_id: int = CaseId,
    macro_id: int = MacroId,
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    """Applies the macro's actions to the case (each audited, all or nothing) and returns its
    text rendered for the case: the desk puts it in the reply box, where the guard screens it
    when it is sent."""
    case, text = service.apply_macro(db, actor=user, case_id=case_id, macro_id=macro_id)
    return {
        "text": text,
        "case": readmodel.case_read(db, case, viewer=user, lang=language(request)),
    }


@router.post("/canned/{key}/render")
def render_canned(
    body: CannedRenderIn,
    key: str = Path(max_length=64),
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, str]:
    variables = dict(body.variables)
    lang: str = body.lang or "zh"
    if body.case_id is not None:
        case = service.visible_case(db, viewer=user, case_id=body.case_id)
        variables = {**service.case_variables(db, case, user), **variables}
        lang = body.lang or case.language
    return {"text": service.render_canned(db, actor=user, key=key, lang=lang, variables=variables)}


@router.get("/sla/policies")
def sla_policies(user: User = Depends(current_user), db: Session = DB) -> list[dict[str, Any]]:
    require(user, "case.read_all")
    return [
        {
            "priority": p.priority,
            "first_response_minutes": p.first_response_minutes,
            "resolution_minutes": p.resolution_minutes,
            "calendar": p.calendar.name,
            "near_breach_percent": p.near_breach_percent,
        }
        for p in service.list_policies(db)
    ]


@router.put("/agents/me/presence")
def put_presence(
    body: PresenceIn, user: User = Depends(current_user), db: Session = DB
) -> dict[str, Any]:
    prof = service.set_presence(db, actor=user, presence=body.presence)
    return {"user_id": prof.user_id, "presence": prof.presence}


@router.get("/agents")
def list_agents(
    request: Request, user: User = Depends(current_user), db: Session = DB
) -> list[dict[str, Any]]:
    require(user, "case.read_all")
    lang = language(request)
    slots = {s.agent_id: s for s in service.agent_slots(db)}
    users = identity.users_by_id(db, set(slots))
    out = []
    for p in service.agent_profiles(db):
        u = users.get(p.user_id)
        s = slots[p.user_id]
        out.append(
            {
                "user_id": p.user_id,
                "name": u.name_for(lang) if u else "",
                "username": u.username if u else "",
                "presence": p.presence,
                "open_cases": s.open_cases,
                "capacity": p.capacity,
                "languages": p.languages,
                "categories": p.categories,
            }
        )
    return out
