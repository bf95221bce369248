"""Desk HTTP API, live chat (start, queue position, hand-over, end, leave as a message) and the
desk's use of the knowledge base (triage of a message, questions proposed from a case)."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Path, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from kefu.core.http import DB, current_user, language
from kefu.core.security import User, require
from kefu.desk import chat, service, triage
from kefu.knowledge import service as knowledge

router = APIRouter(prefix="/api/v1", tags=["desk"])
CaseId = Path(ge=1, le=2**31 - 1, description="case id")


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
    to_user_id: int = Field(ge=1, le=2**31 - 1)
    note: str = Field(default="", max_length=2000)
    confirm: bool = Field(
        default=False, description="hand over although the agent is offline or at capacity"
    )


class EndChat(BaseModel):
    model_config = ConfigDict(extra="forbid")
    resolve: bool = False


@router.post("/chats", status_code=201)
def start_chat(
    body: ChatStart,
    request: Request,
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    lang = body.language or ("en" if language(request) == "en" else "zh")
    case = chat.start_chat(db, actor=user, body=body.body, category=body.category, language=lang)
    return {"case_id": case.id, "queue": chat.queue_info(db, case)}


@router.get("/cases/{case_id}/queue")
def queue_position(
    case_id: int = CaseId, user: User = Depends(current_user), db: Session = DB
) -> dict[str, Any]:
    case = service.visible_case(db, viewer=user, case_id=case_id)
    return chat.queue_info(db, case)


@router.post("/cases/{case_id}/handover")
def hand_over(
    body: HandOver,
    case_id: int = CaseId,
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    case = chat.hand_over(
        db,
        actor=user,
        case_id=case_id,
        to_user_id=body.to_user_id,
        note=body.note,
        confirm=body.confirm,
    )
    return {"case_id": case.id, "assignee_id": case.assignee_id}


@router.post("/cases/{case_id}/end")
def end_chat(
    body: EndChat,
    case_id: int = CaseId,
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    case = chat.end_chat(db, actor=user, case_id=case_id, resolve=body.resolve)
    return {"case_id": case.id, "status": case.status.key}


@router.post("/cases/{case_id}/leave-message")
def leave_message(
    case_id: int = CaseId,
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    """A waiting chat nobody can answer live becomes a message answered in turn (ticket SLA)."""
    case = chat.leave_message(db, actor=user, case_id=case_id)
    return {"case_id": case.id, "channel": case.channel}


# --- the desk's use of the knowledge base: triage of a message, questions from a case ---------


class RouteIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)


@router.post("/kb/route")
def kb_route(body: RouteIn, user: User = Depends(current_user), db: Session = DB) -> dict[str, Any]:
    """What the desk would do with a new message: its queue (case category), the model's
    confidence, and its intent (the answering article, "" when none fits) — for gateways that
    file cases from e-mail or another channel."""
    require(user, "case.read_all")
    return triage.route(db, body.text, categories=service.categories()).to_dict()


class CandidateIn(BaseModel):
    """The case whose customer's last message the article answered."""

    model_config = ConfigDict(extra="forbid")
    case_id: int = Field(ge=1, le=2**31 - 1)


@router.post("/kb/articles/{slug}/candidates")
def kb_propose(
    slug: str,
    body: CandidateIn,
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    """The desk calls this when an agent inserts an article's suggestion: the customer's last
    message on the case (redacted) becomes a candidate question of the article."""
    case = service.visible_case(db, viewer=user, case_id=body.case_id)
    text = service.last_customer_text(case)
    cand = knowledge.propose_question(db, actor=user, slug=slug, text=text, case_id=case.id)
    out = knowledge.candidate_out(cand) if cand else None
    return {"recorded": cand is not None, "candidate": out}
