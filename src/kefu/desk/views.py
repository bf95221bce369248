"""Desk HTTP API: cases, messages, statuses, canned replies, SLA, presence, CSAT."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Query, Request, Response
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.http import current_user, get_db, language
from kefu.core.security import Role, User, require
from kefu.customers.models import Customer
from kefu.customers.service import customers_by_id
from kefu.desk import chat, service
from kefu.desk.models import AgentProfile, CannedReply, Case, CaseStatus, CsatSurvey, SlaPolicy
from kefu.desk.schemas import (
    CannedRenderIn,
    CaseCreate,
    CaseDetail,
    CaseList,
    CaseOut,
    CasePatch,
    CsatIn,
    MessageIn,
    MessageOut,
    PresenceIn,
    StatusIn,
)

router = APIRouter(prefix="/api/v1", tags=["desk"])
CaseId = Path(ge=1, le=2**62, description="case id")


def _names(db: Session, ids: set[int]) -> dict[int, User]:
    if not ids:
        return {}
    return {u.id: u for u in db.scalars(select(User).where(User.id.in_(ids)))}


def case_out(
    db: Session,
    case: Case,
    *,
    viewer: User,
    lang: str,
    users: dict[int, User] | None = None,
    customers: dict[int, Customer] | None = None,
    policies: dict[str, Any] | None = None,
) -> dict[str, Any]:
    users = users if users is not None else _names(db, {case.assignee_id} - {None})  # type: ignore[arg-type]
    customer = (customers or {}).get(case.customer_id) or customers_by_id(
        db, [case.customer_id]
    ).get(case.customer_id)
    assignee = users.get(case.assignee_id) if case.assignee_id else None
    csat = (
        db.scalar(select(CsatSurvey).where(CsatSurvey.case_id == case.id))
        if case.status_category in ("resolved", "closed")
        else None
    )
    return {
        "id": case.id,
        "subject": case.subject,
        "channel": case.channel,
        "category": case.category,
        "intent": case.intent,
        "priority": case.priority,
        "status": case.status.key,
        "status_name": case.status.name_en if lang == "en" else case.status.name_zh,
        "status_category": case.status_category,
        "language": case.language,
        "customer_id": case.customer_id,
        "customer_name": customer.name_for(lang) if customer else "",
        "assignee_id": case.assignee_id,
        "assignee": assignee.name_for(lang) if assignee else None,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "first_response_at": case.first_response_at,
        "customer_read_id": case.customer_read_id,
        "agent_read_id": case.agent_read_id,
        "resolved_at": case.resolved_at,
        "sla": service.sla_view(db, case, policies=policies),
        "call_minutes": case.call_minutes,
        "transcript": case.transcript,
        "csat": None
        if csat is None
        else {
            "score": csat.score,
            "comment": csat.comment,
            "requested_at": csat.requested_at.isoformat(),
        },
    }


def messages_out(
    db: Session, case: Case, *, viewer: User, lang: str, after_id: int = 0
) -> list[dict[str, Any]]:
    msgs = service.visible_messages(db, viewer=viewer, case=case, after_id=after_id)
    authors = _names(db, {m.author_id for m in msgs if m.author_id})
    out = []
    for m in msgs:
        own = m.author_id == viewer.id
        # staff read what customers wrote with personal data masked; a customer sees their own words
        body = (
            m.body
            if (own or (viewer.role == Role.customer and m.kind != "customer"))
            else m.redacted
        )
        if viewer.role == Role.customer and m.kind == "customer":
            body = m.body
        a = authors.get(m.author_id) if m.author_id else None
        out.append(
            {
                "id": m.id,
                "case_id": m.case_id,
                "kind": m.kind,
                "author_id": m.author_id,
                "author": a.name_for(lang) if a else None,
                "body": body or m.body,
                "created_at": m.created_at,
                "guard": m.guard if viewer.role != Role.customer else None,
            }
        )
    return out


@router.get("/cases", response_model=CaseList)
def list_cases(
    request: Request,
    status_category: str | None = Query(None, max_length=64, description="open,pending,…"),
    status: str | None = Query(None, max_length=32),
    assignee: str | None = Query(None, max_length=20, description="me | none | user id"),
    category: str | None = Query(None, max_length=16),
    priority: str | None = Query(None, max_length=8),
    channel: str | None = Query(None, max_length=8),
    customer_id: int | None = Query(None, ge=1, le=2**62),
    q: str | None = Query(None, max_length=200, description="Chinese or English search"),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=100_000),
    user: User = Depends(current_user),
    db: Session = Depends(get_db),
) -> dict[str, Any]:
    lang = language(request)
    cases = service.list_cases(
        db,
        viewer=user,
        status_category=status_category,
        status=status,
        assignee=assignee,
        category=category,
        priority=priority,
        channel=channel,
        customer_id=customer_id,
        q=q,
        limit=limit,
        offset=offset,
    )
    users = _names(db, {c.assignee_id for c in cases if c.assignee_id})
    customers = customers_by_id(db, {c.customer_id for c in cases})
    policies = {p: service.policy_for(db, p) for p in ("urgent", "high", "normal", "low")}
    return {
        "items": [
            case_out(
                db, c, viewer=user, lang=lang, users=users, customers=customers, policies=policies
            )
            for c in cases
        ],
        "limit": limit,
        "offset": offset,
    }


@router.post("/cases", response_model=CaseDetail, status_code=201)
def create_case(
    body: CaseCreate,
    request: Request,
    user: User = Depends(current_user),
    db: Session = Depends(get_db),
) -> dict[str, Any]:
    case = service.create_case(db, actor=user, **body.model_dump())
    lang = language(request)
    return {
        **case_out(db, case, viewer=user, lang=lang),
        "messages": messages_out(db, case, viewer=user, lang=lang),
    }


@router.get("/cases/{case_id}", response_model=CaseDetail)
def get_case(
    request: Request,
    case_id: int = CaseId,
    user: User = Depends(current_user),
    db: Session = Depends(get_db),
) -> dict[str, Any]:
    case = service.visible_case(db, viewer=user, case_id=case_id)
    lang = language(request)
    return {
        **case_out(db, case, viewer=user, lang=lang),
        "messages": messages_out(db, case, viewer=user, lang=lang),
    }


@router.patch("/cases/{case_id}", response_model=CaseOut)
def patch_case(
    body: CasePatch,
    request: Request,
    case_id: int = CaseId,
    user: User = Depends(current_user),
    db: Session = Depends(get_db),
) -> dict[str, Any]:
    case = service.update_case(db, actor=user, case_id=case_id, **body.model_dump())
    return case_out(db, case, viewer=user, lang=language(request))


@router.get("/cases/{case_id}/messages", response_model=list[MessageOut])
def list_messages(
    request: Request,
    case_id: int = CaseId,
    after: int = Query(0, ge=0, le=2**62, description="only messages after this id"),
    user: User = Depends(current_user),
    db: Session = Depends(get_db),
) -> list[dict[str, Any]]:
    case = service.visible_case(db, viewer=user, case_id=case_id)
    return messages_out(db, case, viewer=user, lang=language(request), after_id=after)


@router.post(
    "/cases/{case_id}/messages",
    response_model=MessageOut,
    status_code=201,
    responses={200: {"description": "a repeated idempotency key: the first message"}},
)
def post_message(
    body: MessageIn,
    request: Request,
    response: Response,
    case_id: int = CaseId,
    user: User = Depends(current_user),
    db: Session = Depends(get_db),
) -> dict[str, Any]:
    msg, created = service.post_message(
        db,
        actor=user,
        case_id=case_id,
        body=body.body,
        internal=body.internal,
        idempotency_key=body.idempotency_key,
        confirm_warning=body.confirm_warning,
    )
    if not created:
        response.status_code = 200
    case = service.visible_case(db, viewer=user, case_id=case_id)
    out = messages_out(db, case, viewer=user, lang=language(request), after_id=msg.id - 1)
    return next(m for m in out if m["id"] == msg.id)


@router.post("/cases/{case_id}/csat", status_code=201)
def rate_case(
    body: CsatIn,
    case_id: int = CaseId,
    user: User = Depends(current_user),
    db: Session = Depends(get_db),
) -> dict[str, Any]:
    s = service.submit_csat(db, actor=user, case_id=case_id, score=body.score, comment=body.comment)
    return {"case_id": case_id, "score": s.score, "comment": s.comment}


@router.get("/statuses")
def list_statuses(
    user: User = Depends(current_user), db: Session = Depends(get_db)
) -> list[dict[str, Any]]:
    service.ensure_builtin_statuses(db)
    return [
        {
            "key": s.key,
            "category": s.category,
            "name_zh": s.name_zh,
            "name_en": s.name_en,
            "builtin": s.is_builtin,
        }
        for s in db.scalars(select(CaseStatus).order_by(CaseStatus.position))
    ]


@router.post("/statuses", status_code=201)
def add_status(
    body: StatusIn, user: User = Depends(current_user), db: Session = Depends(get_db)
) -> dict[str, Any]:
    s = service.create_status(db, actor=user, **body.model_dump())
    return {"key": s.key, "category": s.category, "name_zh": s.name_zh, "name_en": s.name_en}


@router.get("/canned")
def list_canned(
    user: User = Depends(current_user), db: Session = Depends(get_db)
) -> list[dict[str, Any]]:
    require(user, "canned.use")
    return [
        {
            "key": c.key,
            "category": c.category,
            "title_zh": c.title_zh,
            "title_en": c.title_en,
            "body_zh": c.body_zh,
            "body_en": c.body_en,
        }
        for c in db.scalars(select(CannedReply).order_by(CannedReply.category, CannedReply.key))
    ]


@router.post("/canned/{key}/render")
def render_canned(
    body: CannedRenderIn,
    key: str = Path(max_length=64),
    user: User = Depends(current_user),
    db: Session = Depends(get_db),
) -> dict[str, str]:
    variables = dict(body.variables)
    lang: str = body.lang or "zh"
    if body.case_id is not None:
        case = service.visible_case(db, viewer=user, case_id=body.case_id)
        variables = {**service.case_variables(db, case, user), **variables}
        lang = body.lang or case.language
    return {"text": service.render_canned(db, actor=user, key=key, lang=lang, variables=variables)}


@router.get("/sla/policies")
def sla_policies(
    user: User = Depends(current_user), db: Session = Depends(get_db)
) -> list[dict[str, Any]]:
    require(user, "case.read_all")
    return [
        {
            "priority": p.priority,
            "first_response_minutes": p.first_response_minutes,
            "resolution_minutes": p.resolution_minutes,
            "calendar": p.calendar.name,
            "near_breach_percent": p.near_breach_percent,
        }
        for p in db.scalars(select(SlaPolicy).order_by(SlaPolicy.id))
    ]


@router.put("/agents/me/presence")
def put_presence(
    body: PresenceIn, user: User = Depends(current_user), db: Session = Depends(get_db)
) -> dict[str, Any]:
    prof = service.set_presence(db, actor=user, presence=body.presence)
    return {"user_id": prof.user_id, "presence": prof.presence}


@router.get("/agents")
def list_agents(
    request: Request, user: User = Depends(current_user), db: Session = Depends(get_db)
) -> list[dict[str, Any]]:
    require(user, "case.read_all")
    lang = language(request)
    slots = {s.agent_id: s for s in service.agent_slots(db)}
    users = _names(db, set(slots))
    out = []
    for p in db.scalars(select(AgentProfile).order_by(AgentProfile.user_id)):
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


# --- live chat -----------------------------------------------------------------------------


class ChatStart(BaseModel):
    model_config = ConfigDict(extra="forbid")
    body: str = Field(default="", max_length=10_000)
    category: (
        Literal["account", "funds", "trading", "technical", "complaint", "compliance"] | None
    ) = Field(default=None, description="omit to route the chat from its first message")
    language: Literal["zh", "en"] | None = None


class HandOver(BaseModel):
    model_config = ConfigDict(extra="forbid")
    to_user_id: int = Field(ge=1, le=2**62)
    note: str = Field(default="", max_length=2000)


class EndChat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolve: bool = False


@router.post("/chats", status_code=201)
def start_chat(
    body: ChatStart,
    request: Request,
    user: User = Depends(current_user),
    db: Session = Depends(get_db),
) -> dict[str, Any]:
    lang = body.language or ("en" if language(request) == "en" else "zh")
    case = chat.start_chat(db, actor=user, body=body.body, category=body.category, language=lang)
    return {"case_id": case.id, "queue": chat.queue_info(db, case)}


@router.get("/cases/{case_id}/queue")
def queue_position(
    case_id: int = CaseId, user: User = Depends(current_user), db: Session = Depends(get_db)
) -> dict[str, Any]:
    case = service.visible_case(db, viewer=user, case_id=case_id)
    return chat.queue_info(db, case)


@router.post("/cases/{case_id}/handover")
def hand_over(
    body: HandOver,
    case_id: int = CaseId,
    user: User = Depends(current_user),
    db: Session = Depends(get_db),
) -> dict[str, Any]:
    case = chat.hand_over(
        db, actor=user, case_id=case_id, to_user_id=body.to_user_id, note=body.note
    )
    return {"case_id": case.id, "assignee_id": case.assignee_id}


@router.post("/cases/{case_id}/end")
def end_chat(
    body: EndChat,
    case_id: int = CaseId,
    user: User = Depends(current_user),
    db: Session = Depends(get_db),
) -> dict[str, Any]:
    case = chat.end_chat(db, actor=user, case_id=case_id, resolve=body.resolve)
    return {"case_id": case.id, "status": case.status.key}
