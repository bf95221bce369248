"""Desk HTTP API: cases, messages, statuses, canned replies, SLA, presence, CSAT."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from kefu.core.http import DB, current_user, language
from kefu.core.security import User, require
from kefu.desk import chat, readmodel, service, triage
from kefu.desk.saved_views import day_bounds
from kefu.desk.schemas import (
    BulkIn,
    CannedPatch,
    CannedRenderIn,
    CaseCreate,
    CaseDetail,
    CaseList,
    CaseOut,
    CasePatch,
    CsatIn,
    MacroIn,
    MacroOut,
    MacroPatch,
    MessageIn,
    MessageOut,
    PresenceIn,
    StatusIn,
    TagsIn,
)
from kefu.desk.validation import field_error
from kefu.identity import service as identity
from kefu.knowledge import service as knowledge

router = APIRouter(prefix="/api/v1", tags=["desk"])
CaseId = Path(ge=1, le=2**31 - 1, description="case id")


@router.get("/cases", response_model=CaseList)
def list_cases(
    request: Request,
    status_category: str | None = Query(None, max_length=64, description="open,pending,…"),
    status: str | None = Query(None, max_length=32),
    assignee: str | None = Query(None, max_length=20, description="me | none | user id"),
    category: str | None = Query(None, max_length=16),
    priority: str | None = Query(None, max_length=8),
    channel: str | None = Query(None, max_length=8),
    customer_id: int | None = Query(None, ge=1, le=2**31 - 1),
    tag: str | None = Query(None, max_length=64, description="staff's label"),
    q: str | None = Query(
        None, max_length=200, description="words (zh or en), #case number, reference or customer"
    ),
    created_from: date | None = Query(None, description="created on or after this day"),
    created_to: date | None = Query(None, description="created on or before this day"),
    sort: Literal["due", "newest", "oldest", "updated"] = Query("due"),
    limit: int = Query(50, ge=1, le=200),
    offset: int = Query(0, ge=0, le=100_000),
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    lang = language(request)
    if created_from and created_to and created_from > created_to:
        raise field_error("created_from", "is after created_to")
    lo, hi = day_bounds(created_from, created_to)
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
        tag=tag,
        q=q,
        created_from=lo,
        created_to=hi,
        sort=sort,
        limit=limit,
        offset=offset,
    )
    return {
        "items": readmodel.cases_read(db, cases, viewer=user, lang=lang),
        "limit": limit,
        "offset": offset,
    }


@router.post("/cases", response_model=CaseDetail, status_code=201)
def create_case(
    body: CaseCreate,
    request: Request,
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    case = service.create_case(db, actor=user, **body.model_dump())
    lang = language(request)
    return {
        **readmodel.case_read(db, case, viewer=user, lang=lang),
        "messages": readmodel.messages_read(db, case, viewer=user, lang=lang),
    }


@router.get("/cases/{case_id}", response_model=CaseDetail)
def get_case(
    request: Request,
    case_id: int = CaseId,
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    case = service.visible_case(db, viewer=user, case_id=case_id)
    lang = language(request)
    return {
        **readmodel.case_read(db, case, viewer=user, lang=lang),
        "messages": readmodel.messages_read(db, case, viewer=user, lang=lang),
    }


@router.patch("/cases/{case_id}", response_model=CaseOut)
def patch_case(
    body: CasePatch,
    request: Request,
    case_id: int = CaseId,
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    case = service.update_case(db, actor=user, case_id=case_id, **body.model_dump())
    return readmodel.case_read(db, case, viewer=user, lang=language(request))


@router.post("/cases/{case_id}/tags", response_model=CaseOut)
def tag_case(
    body: TagsIn,
    request: Request,
    case_id: int = CaseId,
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    case = service.tag_case(db, actor=user, case_id=case_id, add=body.add, remove=body.remove)
    return readmodel.case_read(db, case, viewer=user, lang=language(request))


@router.post("/cases/bulk", response_model=CaseList)
def bulk_update(
    body: BulkIn,
    request: Request,
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    """One change on up to 200 cases, each with its own audit entry; all or nothing."""
    cases = service.bulk_update(db, actor=user, **body.model_dump())
    items = readmodel.cases_read(db, cases, viewer=user, lang=language(request))
    return {"items": items, "limit": len(items), "offset": 0}


@router.get("/cases/{case_id}/messages", response_model=list[MessageOut])
def list_messages(
    request: Request,
    case_id: int = CaseId,
    after: int = Query(0, ge=0, le=2**31 - 1, description="only messages after this id"),
    user: User = Depends(current_user),
    db: Session = DB,
) -> list[dict[str, Any]]:
    case = service.visible_case(db, viewer=user, case_id=case_id)
    return readmodel.messages_read(db, case, viewer=user, lang=language(request), after_id=after)


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
    db: Session = DB,
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
    return readmodel.message_read(db, msg, viewer=user, lang=language(request))


@router.post("/cases/{case_id}/attachments", status_code=201)
def upload_attachment(
    request: Request,
    case_id: int = CaseId,
    file: UploadFile | None = File(None, description="png, jpeg, gif, webp, pdf or txt"),
    body: str = Form("", max_length=10_000, description="a caption; the file's name if empty"),
    internal: bool = Form(False, description="on an internal note (staff only)"),
    confirm_warning: bool = Form(False),
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    """Posts a file as a message of its own. The type is sniffed from the content; images lose
    their metadata (EXIF, GPS) before they are stored."""
    service.visible_case(db, viewer=user, case_id=case_id)
    require(user, "message.note" if internal else "message.reply")
    if file is None:
        raise field_error("file", "choose a file to upload")
    data = file.file.read(service.file_policy().max_bytes + 1)
    msg = service.add_attachment(
        db,
        actor=user,
        case_id=case_id,
        filename=file.filename or "file",
        data=data,
        body=body,
        internal=internal,
        confirm_warning=confirm_warning,
    )
    return {"message": readmodel.message_read(db, msg, viewer=user, lang=language(request))}


#: what a served file may do in the browser: nothing (no script, no plugin, no frame, sandboxed)
FILE_POLICY = "default-src 'none'; img-src 'self'; style-src 'unsafe-inline'; sandbox"


@router.get(
    "/attachments/{attachment_id}",
    response_class=FileResponse,
    responses={200: {"content": {"application/octet-stream": {}}}},
)
def get_attachment(
    attachment_id: int = Path(ge=1, le=2**31 - 1),
    download: bool = Query(False, description="always as a download"),
    user: User = Depends(current_user),
    db: Session = DB,
) -> FileResponse:
    """The file of a message the caller may read. Images are shown inline; PDF and text are
    always downloads; nothing is ever rendered as a page of the site."""
    att, path = service.attachment_file(db, viewer=user, attachment_id=attachment_id)
    inline = att.mime.startswith("image/") and not download
    return FileResponse(
        path,
        media_type=att.mime + ("; charset=utf-8" if att.mime == "text/plain" else ""),
        filename=att.filename,
        content_disposition_type="inline" if inline else "attachment",
        headers={
            "X-Content-Type-Options": "nosniff",
            "Content-Security-Policy": FILE_POLICY,
            "Cache-Control": "private, no-store",
            "Cross-Origin-Resource-Policy": "same-origin",
        },
    )


@router.post("/cases/{case_id}/csat", status_code=201)
def rate_case(
    body: CsatIn,
    case_id: int = CaseId,
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    s = service.submit_csat(db, actor=user, case_id=case_id, score=body.score, comment=body.comment)
    return {"case_id": case_id, "score": s.score, "comment": s.comment}


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
