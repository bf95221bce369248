"""The e-mail channel over HTTP: a case's mail record for staff (the delivery state of each
reply), and the customer's own e-mail notification switch on the portal."""

from __future__ import annotations

from datetime import datetime

from fastapi import APIRouter, Form, Path, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from pydantic import BaseModel

from kefu.core.http import (
    CurrentUser,
    DbSession,
    Id,
    OptionalCaller,
    check_form_csrf,
    desk_page_caller,
    fragment,
    login_redirect,
)
from kefu.customers import service as customers
from kefu.desk import email_channel

router = APIRouter(prefix="/api/v1", tags=["desk"])
pages = APIRouter(include_in_schema=False)


class MailOut(BaseModel):
    id: int
    direction: str
    kind: str
    status: str
    attempts: int
    detail: str
    message_id: str
    desk_message_id: int | None
    created_at: datetime
    sent_at: datetime | None
    next_attempt_at: datetime | None


@router.get("/cases/{case_id}/mail", response_model=list[MailOut])
def case_mail(
    user: CurrentUser, db: DbSession, case_id: int = Path(ge=1, le=2**31 - 1)
) -> list[MailOut]:
    rows = email_channel.mail_record(db, viewer=user, case_id=case_id)
    return [MailOut.model_validate(r, from_attributes=True) for r in rows]


@pages.post("/portal/email-notify")
def portal_email_notify(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    on: bool = Form(),
    csrf: str = Form(""),
) -> Response:
    """The customer turns the e-mails about their answered tickets on or off."""
    if caller is None:
        return login_redirect(request)
    check_form_csrf(caller, csrf)
    customers.set_email_notify(db, actor=caller.user, on=on)
    return RedirectResponse("/", status_code=303)


@pages.get("/desk/cases/{case_id}/mail", response_class=HTMLResponse)
def desk_mail(request: Request, caller: OptionalCaller, db: DbSession, case_id: Id) -> Response:
    """The desk's view of a case's e-mail: each message in and out and its delivery state."""
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return HTMLResponse("", status_code=401)
    rows = email_channel.mail_record(db, viewer=c.user, case_id=case_id)
    return fragment(request, "desk/_mail.html", rows=rows)
