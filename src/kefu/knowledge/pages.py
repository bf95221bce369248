"""Knowledge pages: the help centre (/help, for customers and staff), the suggestion fragments
of the portal and the desk, and the knowledge-base editor (/admin/kb) with versions."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Form, Query, Request
from fastapi.responses import HTMLResponse, RedirectResponse, Response
from markdown_it import MarkdownIt
from markupsafe import Markup
from sqlalchemy.orm import Session

from kefu.core import i18n
from kefu.core.errors import Forbidden, KefuError
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
    if caller is None:
        return HTMLResponse("", status_code=401)
    return _results(request, db, q, insert=False, top=5)


# --- help centre ----------------------------------------------------------------------------


@router.get("/help", response_class=HTMLResponse)
def help_centre(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
) -> Response:
    if caller is None:
        return login_redirect(request)
    groups: dict[str, list[Any]] = {}
    for row in kb.list_articles(db):
        groups.setdefault(row.category, []).append(row)
    return render(
        request,
        "help/help.html",
        caller,
        area="help",
        groups=groups,
        can_edit=can(caller.user, "kb.manage"),
    )


@router.get("/help/{slug}", response_class=HTMLResponse)
def help_article(
    request: Request,
    caller: OptionalCaller,
    db: DbSession,
    slug: str,
) -> Response:
    if caller is None:
        return login_redirect(request)
    lang = language(request)
    row = kb.get_article(db, slug)
    en = lang == "en"
    related = [r for r in kb.list_articles(db) if r.slug in set(row.related)]
    return render(
        request,
        "help/help_article.html",
        caller,
        area="help",
        article=row,
        title=row.title_en if en else row.title_zh,
        body=markdown(row.body_en if en else row.body_zh),
        related=related,
        can_edit=can(caller.user, "kb.manage"),
    )


# --- knowledge-base editor ------------------------------------------------------------------


def _editor(request: Request, caller: Caller | None) -> Caller | Response:
    if caller is None:
        return login_redirect(request)
    if not can(caller.user, "kb.manage"):
        raise Forbidden("editing the knowledge base needs the kb.manage permission")
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
        return _back(slug, exc.detail, "error")
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

    def save(user: User, lang: str) -> str:
        before = kb.get_article(db, slug).version
        row = kb.update_article(db, actor=user, slug=slug, changes=changes, note=note)
        if row.version == before:
            return "no change" if lang == "en" else "内容未变化"
        saved = "saved as version" if lang == "en" else "已保存为版本"
        return f"{saved} {row.version}"

    return _editor_form(request, caller, db, csrf, slug, save)


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
