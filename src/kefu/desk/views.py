"""Desk HTTP API: cases (list, create, read, change, tags, bulk), messages, attachments, CSAT.
The workspace (statuses, canned replies, macros, SLA, presence) is in ``workspace_views``, live
chat and the knowledge panel in ``chat_views``."""

from __future__ import annotations

from datetime import date
from typing import Any, Literal

from fastapi import APIRouter, Depends, File, Form, Path, Query, Request, Response, UploadFile
from fastapi.responses import FileResponse
from sqlalchemy.orm import Session

from kefu.core.http import DB, current_user, language
from kefu.core.security import User, require
from kefu.desk import readmodel, service
from kefu.desk.saved_views import day_bounds
from kefu.desk.schemas import (
    BulkIn,
    CaseCreate,
    CaseDetail,
    CaseList,
    CaseOut,
    CasePatch,
    CsatIn,
    MessageIn,
    MessageOut,
    TagsIn,
)
from kefu.desk.validation import field_error

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
