"""The customers context's HTML routes: the PII reveal fragment and the KYC and suitability
part of the desk's 360° panel; the customer's risk questionnaire, products and the special
warning in the portal."""

from __future__ import annotations

from urllib.parse import urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response

from kefu.core import i18n
from kefu.core.errors import Forbidden, KefuError, NotFound
from kefu.core.http import (
    Caller,
    DbSession,
    Id,
    OptionalCaller,
    check_form_csrf,
    desk_page_caller,
    fragment,
    language,
    login_redirect,
    render,
)
from kefu.core.security import Role, can
from kefu.customers import content, kyc, suitability
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
        raise NotFound(key="customers.errors.unknown_field", params={"field": repr(field)})
    value = customers.reveal(
        db,
        actor=c.user,
        customer_id=customer_id,
        field=field,  # type: ignore[arg-type]
        reason=reason,
    )
    return fragment(request, "desk/_revealed.html", value=value)


# --- the desk's KYC and suitability panel ------------------------------------------------------


@router.get("/desk/customers/{customer_id}/suitability", response_class=HTMLResponse)
def desk_suitability(
    request: Request,
    customer_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    product: str = Query("", max_length=32),
) -> Response:
    """The 360 panel's KYC and suitability part, and the match of one product (htmx)."""
    c = desk_page_caller(request, caller)
    if isinstance(c, Response):
        return HTMLResponse("", status_code=401)
    lang = language(request)
    customer = customers.get_customer(db, viewer=c.user, customer_id=customer_id)
    check = (
        suitability.check_product(
            db, viewer=c.user, customer_id=customer_id, code=product, lang=lang
        )
        if product
        else None
    )
    return fragment(
        request,
        "customers/_suitability.html",
        customer_id=customer_id,
        kyc=kyc.kyc_of(db, viewer=c.user, customer_id=customer_id),
        profile=suitability.profile(db, customer, lang),
        requests=suitability.recent_requests(
            db, viewer=c.user, customer_id=customer_id, lang=lang, limit=5
        ),
        tasks=kyc.open_tasks(db, viewer=c.user, customer_id=customer_id),
        products=suitability.product_list(lang),
        check=check,
        can_reveal=can(c.user, "pii.reveal"),
        notice_days=content.numbers().expiry_notice_days,
    )


# --- the customer portal: questionnaire, category, products, the insistence flow -------------


def _portal_caller(request: Request, caller: Caller | None) -> Caller | Response:
    if caller is None:
        return login_redirect(request)
    if caller.user.role != Role.customer:
        raise Forbidden(key="customers.errors.portal_only")
    return caller


def _back(flash: str = "", kind: str = "ok", request_id: int | None = None) -> Response:
    query = {k: v for k, v in (("flash", flash), ("kind", kind)) if flash}
    if request_id is not None:
        query["request"] = str(request_id)
    suffix = "#request" if request_id is not None else ""
    return RedirectResponse(
        "/portal/suitability" + ("?" + urlencode(query) if query else "") + suffix,
        status_code=303,
    )


@router.get("/portal/suitability", response_class=HTMLResponse)
def portal_suitability(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    flash: str = Query("", max_length=300),
    kind: str = Query("ok", max_length=8),
    request_id: int | None = Query(None, alias="request", ge=1, le=2**31 - 1),
) -> Response:
    c = _portal_caller(request, caller)
    if isinstance(c, Response):
        return c
    lang = language(request)
    me = customers.customer_for_user(db, c.user)
    if me is None:
        raise NotFound(key="customers.errors.no_record")
    profile = suitability.profile(db, me, lang)
    req = None
    if request_id is not None:
        row = suitability.request_of(db, viewer=c.user, request_id=request_id)
        req = suitability.request_view(row, lang)
    top = int(profile["allowed"][-1]) if profile["allowed"] else 0
    products = [
        p | {"fits": (int(p["risk"][1]) <= top) if top else None}
        for p in suitability.product_list(lang)
    ]
    questionnaire = content.questionnaire()
    return render(
        request,
        "portal/suitability.html",
        c,
        area="suitability",
        profile=profile,
        products=products,
        questionnaire=questionnaire,
        max_score=questionnaire.max_score,
        lang_key="en" if lang.startswith("en") else "zh",
        req=req,
        warning=suitability.warning_text(lang, req["category"], req["risk"]) if req else "",
        refusal=suitability.refusal_text(lang),
        requests=suitability.recent_requests(db, viewer=c.user, customer_id=me.id, lang=lang),
        flash=flash,
        flash_kind="error" if kind == "error" else "ok",
    )


@router.post("/portal/suitability")
async def portal_take_questionnaire(
    request: Request, caller: OptionalCaller, db: DbSession
) -> Response:
    """The questionnaire form: one radio group ``q_<question id>`` per question."""
    c = _portal_caller(request, caller)
    if isinstance(c, Response):
        return c
    form = await request.form()
    check_form_csrf(c, str(form.get("csrf", "")))
    answers = {str(k)[2:]: str(v)[:16] for k, v in form.multi_items() if str(k).startswith("q_")}
    lang = language(request)
    try:
        row = suitability.submit_assessment(db, actor=c.user, answers=answers)
    except KefuError as exc:
        return _back(exc.message(language(request)), "error")
    label = content.questionnaire().label(row.category, lang)
    return _back(i18n.t("customers.portal.done", lang, category=label))


@router.post("/portal/suitability/products")
def portal_ask_product(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    product: str = Form(max_length=32),
    csrf: str = Form(""),
) -> Response:
    c = _portal_caller(request, caller)
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    try:
        row = suitability.request_product(db, actor=c.user, code=product)
    except KefuError as exc:
        return _back(exc.message(language(request)), "error")
    return _back(request_id=row.id)


@router.post("/portal/suitability/requests/{request_id}/confirm")
def portal_confirm_product(
    request: Request,
    request_id: Id,
    caller: OptionalCaller,
    db: DbSession,
    acknowledged: str = Form("", max_length=4),
    csrf: str = Form(""),
) -> Response:
    c = _portal_caller(request, caller)
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    try:
        row = suitability.confirm_product(
            db, actor=c.user, request_id=request_id, acknowledged=acknowledged == "1"
        )
    except KefuError as exc:
        if isinstance(exc, NotFound):
            raise
        return _back(exc.message(language(request)), "error", request_id=request_id)
    return _back(request_id=row.id)
