"""Knowledge pages: the help centre (/help, for customers and staff), the suggestion fragments
of the portal and the desk, and the knowledge-base editor (/admin/kb) with versions."""

from __future__ import annotations

import hmac
import secrets
from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.orm import Session

from kefu.core import i18n
from kefu.core.config import get_settings
from kefu.core.errors import Forbidden, KefuError, ValidationFailed
from kefu.core.http import (
    Caller,
    DbSession,
    Id,
    OptionalCaller,
    check_form_csrf,
    fragment,
    language,
    login_redirect,
    render,
)
from kefu.core.security import User, can
from kefu.identity import service as identity
from kefu.knowledge import service as kb

router = APIRouter(include_in_schema=False)
# CommonMark without raw HTML: an article can never inject markup into a page
_md = MarkdownIt("commonmark", {"html": False, "linkify": False})


def markdown(text: str) -> Markup:
    # html is disabled above: markdown-it escapes any markup in the text it renders
    return Markup(_md.render(text))  # noqa: S704


def _results(
    request: Request,
    db: Session,
    q: str,
    *,
    insert: bool,
    top: int = 3,
    case_id: int | None = None,
) -> Response:
    """The suggestion cards of the portal search and the desk's knowledge panel."""
    hits = kb.suggest(db, q, top=top, lang=language(request))
    return fragment(
        request,
        "partials/kb_results.html",
        searched=bool(q.strip()),
        hits=hits,
        insert=insert,
        case_id=case_id,
    )


@router.get("/portal/kb", response_class=HTMLResponse)
def portal_kb(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    q: str = Query("", max_length=200),
) -> Response:
    """The help-centre and portal search box: public, like the articles it finds."""
    return _results(request, db, q, insert=False, top=5)


# --- help centre ----------------------------------------------------------------------------


#: the calculators a help article puts under its text, for the customer to try (the articles
#: explain these rules and point to "the calculator")
ARTICLE_CALCULATORS: dict[str, tuple[str, ...]] = {
    "trading.price-limit": ("price-limit",),
    "funds.fees": ("fees",),
    "trading.fees": ("fees",),
    "trading.margin-interest": ("margin-interest",),
    "trading.margin-ratio": ("maintenance-ratio",),
    "binary.payout": ("binary-payout",),
}
#: the anonymous help-centre visitor's cookie: it keys their "was this helpful?" answers (one
#: per article) and is sent back in the form, so another site cannot answer for them
HELP_COOKIE = "kefu_help"


@router.get("/help", response_class=HTMLResponse)
def help_centre(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
) -> Response:
    """The help centre: public, so a customer can look before logging in."""
    groups: dict[str, list[Any]] = {}
    for row in kb.list_articles(db):
        groups.setdefault(row.category, []).append(row)
    return render(
        request,
        "help/help.html",
        caller,
        area="help",
        groups=groups,
        can_edit=caller is not None and can(caller.user, "kb.manage"),
    )


@router.get("/help/calc", response_class=HTMLResponse)
def help_calc(request: Request, kind: str = Query("price-limit", max_length=20)) -> Response:
    """A help article's calculator: the desk's engine on the customer's own numbers (no data
    of anyone is read), labels and refusals in the page's language."""
    return _calc_fragment(request, kind)


def _calc_fragment(request: Request, kind: str) -> HTMLResponse:
    params = {k: v for k, v in request.query_params.items() if k not in ("kind", "lang")}
    lang = language(request)
    try:
        data = kb.calculate(kind, params)
    except kb.CalcError as exc:
        label = i18n.t(f"calc.f_{exc.field}", lang)
        name = label if not label.startswith("calc.") else exc.field
        error = i18n.t(f"calc.e_{exc.key}", lang, **exc.params) if exc.key else str(exc)
        return fragment(request, "desk/_calc.html", error=error, field=name, kind=kind)
    return fragment(request, "desk/_calc.html", error=None, result=data, kind=kind)


@router.get("/help/{slug}", response_class=HTMLResponse)
def help_article(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    slug: str,
    voted: str = Query("", max_length=3),
) -> Response:
    """One article, public, with "was this helpful?" and the calculators it talks about."""
    lang = language(request)
    row = kb.get_article(db, slug)
    en = lang == "en"
    related = [r for r in kb.list_articles(db) if r.slug in set(row.related)]
    visitor = request.cookies.get(HELP_COOKIE) or secrets.token_urlsafe(24)
    page = render(
        request,
        "help/help_article.html",
        caller,
        area="help",
        article=row,
        title=row.title_en if en else row.title_zh,
        body=markdown(row.body_en if en else row.body_zh),
        related=related,
        can_edit=caller is not None and can(caller.user, "kb.manage"),
        calculators=ARTICLE_CALCULATORS.get(row.slug, ()),
        visitor=visitor,
        voted=voted in ("yes", "no"),
    )
    if caller is None and request.cookies.get(HELP_COOKIE) != visitor:
        page.set_cookie(
            HELP_COOKIE,
            visitor,
            httponly=True,
            samesite="strict",
            secure=get_settings().cookie_secure,
            max_age=365 * 86400,
            path="/help",
        )
    return page


@router.post("/help/{slug}/feedback")
def help_feedback(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    slug: str,
    helpful: str = Form(max_length=3),
    csrf: str = Form("", max_length=200),
    visitor: str = Form("", max_length=200),
) -> Response:
    """Records "was this helpful?" (yes / no) for a logged-in user or an anonymous visitor;
    answering again changes the answer. Back on the article, thanked."""
    if helpful not in ("yes", "no"):
        raise ValidationFailed(
            key="knowledge.errors.helpful",
            fields=[{"field": "helpful", "message": "yes or no"}],
        )
    if caller is not None:
        check_form_csrf(caller, csrf)
        key = kb.visitor_key(user=caller.user, cookie=None)
    else:
        cookie = request.cookies.get(HELP_COOKIE) or ""
        # the cookie goes back in the form (double submit): another site's page cannot read
        # it, so it cannot answer in the visitor's name
        if not cookie or not hmac.compare_digest(cookie, visitor):
            raise ValidationFailed(
                key="knowledge.errors.form_expired",
                fields=[{"field": "visitor", "message": "does not match the help-centre cookie"}],
            )
        key = kb.visitor_key(user=None, cookie=cookie)
    kb.record_help_feedback(
        db,
        actor=caller.user if caller else None,
        slug=slug,
        visitor=key,
        helpful=helpful == "yes",
        lang=language(request),
    )
    return RedirectResponse(f"/help/{quote(slug)}?voted={helpful}#feedback", status_code=303)


# --- knowledge-base editor ------------------------------------------------------------------


def _editor(request: Request, caller: Caller | None) -> Caller | Response:
    if caller is None:
        return login_redirect(request)
    if not can(caller.user, "kb.manage"):
        raise Forbidden(key="knowledge.errors.editor_only")
    return caller


@router.get("/admin/kb", response_class=HTMLResponse)
def kb_admin(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
) -> Response:
    c = _editor(request, caller)
    if isinstance(c, Response):
        return c
    editors = identity.users_by_id(db)
    return render(
        request,
        "admin/kb_admin.html",
        c,
        area="kb",
        articles=kb.list_articles(db),
        open_candidates=kb.open_candidate_counts(db),
        feedback=kb.feedback_counts(db),
        editors=editors,
    )


@router.get("/admin/kb/{slug}", response_class=HTMLResponse)
def kb_edit_page(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    slug: str,
    flash: str = Query("", max_length=300),
    kind: str = Query("ok", max_length=8),
) -> Response:
    c = _editor(request, caller)
    if isinstance(c, Response):
        return c
    return _edit_page(request, c, db, slug, flash, kind)


def _edit_page(
    request: Request,
    c: Caller,
    db: Session,
    slug: str,
    flash: str,
    kind: str,
    draft: dict[str, str] | None = None,
) -> HTMLResponse:
    """The editor's page; ``draft`` holds the text of a refused save, shown instead of the
    stored one."""
    editors = identity.users_by_id(db)
    return render(
        request,
        "admin/kb_edit.html",
        c,
        area="kb",
        article=kb.get_article(db, slug),
        versions=kb.history(db, slug),
        candidates=kb.candidates(db, slug),
        editors=editors,
        kb_categories=kb.CATEGORIES,
        flash=flash,
        flash_kind="error" if kind == "error" else "ok",
        draft=draft,
    )


def _back(slug: str, message: str, kind: str = "ok") -> RedirectResponse:
    query = urlencode({"flash": message[:300], "kind": kind})
    return RedirectResponse(f"/admin/kb/{quote(slug)}?{query}", status_code=303)


def _editor_form(
    request: Request,
    caller: Caller | None,
    db: Session,
    csrf: str,
    slug: str,
    action: Callable[[User, str], str],
) -> Response:
    """An editor's form post: the role and CSRF checks, then ``action(user, lang)`` whose
    message is flashed back on the article's page; a refusal is flashed and writes nothing."""
    c = _editor(request, caller)
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    try:
        message = action(c.user, language(request))
    except KefuError as exc:
        db.rollback()
        return _back(slug, exc.message(language(request)), "error")
    return _back(slug, message)


@router.post("/admin/kb/{slug}")
def kb_edit_submit(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    slug: str,
    category: str = Form(max_length=16),
    title_zh: str = Form(max_length=200),
    title_en: str = Form(max_length=200),
    body_zh: str = Form(max_length=20_000),
    body_en: str = Form(max_length=20_000),
    tags: str = Form("", max_length=2000),
    questions_zh: str = Form("", max_length=10_000),
    questions_en: str = Form("", max_length=10_000),
    sources: str = Form("", max_length=5000),
    note: str = Form("", max_length=200),
    csrf: str = Form(""),
) -> Response:
    changes = {
        "category": category,
        "title_zh": title_zh,
        "title_en": title_en,
        "body_zh": body_zh,
        "body_en": body_en,
        "tags": tags,
        "questions_zh": questions_zh,
        "questions_en": questions_en,
        "sources": sources,
    }

    c = _editor(request, caller)
    if isinstance(c, Response):
        return c
    check_form_csrf(c, csrf)
    lang = language(request)
    before = kb.get_article(db, slug).version
    try:
        row = kb.update_article(db, actor=c.user, slug=slug, changes=changes, note=note)
    except KefuError as exc:
        # refused (the guard, an empty field …): the editor keeps what they wrote and reads
        # why in their own language; nothing is stored
        db.rollback()
        page = _edit_page(
            request, c, db, slug, _refusal(exc, lang), "error", changes | {"note": note}
        )
        page.status_code = exc.status
        return page
    if row.version == before:
        return _back(slug, i18n.t("polish.kb_unchanged", lang))
    return _back(slug, i18n.t("polish.kb_saved", lang, version=row.version))


def _refusal(exc: KefuError, lang: str) -> str:
    """Why an edit was refused, in the editor's language."""
    guard = exc.extra.get("guard")
    if guard:
        return i18n.t(
            "polish.kb_guard_block",
            lang,
            field=i18n.t(f"polish.kb_field_{guard['field']}", lang),
            match=guard["match"],
            why=guard["explanation"].get("en" if lang == "en" else "zh", ""),
        )
    field = exc.fields[0].get("field") if exc.fields else None
    if field:
        return i18n.t(
            "polish.kb_field_refused",
            lang,
            field=i18n.t(f"polish.kb_field_{field}", lang),
            detail=exc.message(lang),
        )
    return exc.message(lang)


@router.post("/admin/kb/{slug}/candidates/{candidate_id}")
def kb_candidate_decide(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    slug: str,
    candidate_id: Id,
    accept: str = Form("0", max_length=1),
    csrf: str = Form(""),
) -> Response:

    def decide(user: User, lang: str) -> str:
        cand = kb.decide_candidate(
            db, actor=user, slug=slug, candidate_id=candidate_id, accept=accept == "1"
        )
        return f"{i18n.t('ui.candidate_' + cand.status, lang)}: {cand.text}"

    return _editor_form(request, caller, db, csrf, slug, decide)


@router.post("/admin/kb/{slug}/revert/{version}")
def kb_revert(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    slug: str,
    version: Id,
    csrf: str = Form(""),
) -> Response:

    def restore(user: User, lang: str) -> str:
        return f"{version} → {kb.revert(db, actor=user, slug=slug, version=version).version}"

    return _editor_form(request, caller, db, csrf, slug, restore)
