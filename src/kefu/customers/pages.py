"""The customers context's HTML routes: the PII reveal fragment of the desk's 360° panel."""

from __future__ import annotations

from fastapi import APIRouter, Form, Request
from fastapi.responses import HTMLResponse, Response

from kefu.core.errors import NotFound
from kefu.core.http import (
    DbSession,
    Id,
    OptionalCaller,
    check_form_csrf,
    desk_page_caller,
    fragment,
)
from kefu.customers import service as customers

router = APIRouter(include_in_schema=False)
REVEALABLE = ("phone", "email", "id_number", "card", "kyc_document")


@router.post("/desk/customers/{customer_id}/reveal", response_class=HTMLResponse)
def desk_reveal(
    request: Request,
    customer_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    field: str = Form(max_length=16),
    reason: str = Form(max_length=200),
) -> Response:
    """One masked field shown in full (needs pii.reveal; the reveal is audited)."""
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return HTMLResponse("", status_code=401)
    # htmx sends the session's token in the header (the form has no field of its own)
    check_form_csrf(c, request.headers.get("x-csrf-token", ""))
    if field not in REVEALABLE:
        raise NotFound(f"unknown field {field!r}")
    value = customers.reveal(
        db,
        actor=c.user,
        customer_id=customer_id,
        field=field,  # type: ignore[arg-type]
        reason=reason,
    )
    return fragment(request, "desk/_revealed.html", value=value)
