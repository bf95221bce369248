"""The knowledge API: search (the answers of `kefu kb ask`), calculators, articles and their
versions, candidate questions. Proposing a candidate from a case and routing a message are the
desk's (desk/views.py): they start from a case or a customer's message."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query, Request
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from kefu.core.errors import Phrase, ValidationFailed
from kefu.core.http import DB, Id, current_user
from kefu.core.security import User, require
from kefu.knowledge import service as kb
from kefu.knowledge.models import KbArticle
from kefu.knowledge.schemas import candidate_out

router = APIRouter(prefix="/api/v1", tags=["knowledge"])


@router.get("/kb/search")
def kb_search(
    q: str = Query(min_length=1, max_length=200),
    top: int = Query(5, ge=1, le=20),
    lang: Literal["zh", "en"] | None = None,
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    require(user, "kb.read")
    hits = kb.index_for(db).search(q, top=top, lang=lang)
    return {"results": [h.to_dict() for h in hits]}


@router.get("/calc/{kind}")
def calculate(
    kind: Literal["price-limit", "fees", "margin-interest", "maintenance-ratio", "binary-payout"],
    request: Request,
    user: User = Depends(current_user),
) -> dict[str, Any]:
    """The broker calculators of `kefu calc`, with the same parameter names (underscores) as
    query parameters, e.g. ``/api/v1/calc/fees?side=sell&price=10&qty=1000``. Money is returned
    as decimal strings, rounded half-up to 0.01."""
    require(user, "kb.read")
    params = {k: v for k, v in request.query_params.items()}
    try:
        result = kb.calculate(kind, params)
    except kb.CalcError as exc:
        # the English message for a client that names no language; the calculator's own words
        # (calc.e_<key>) in the language asked for
        said = Phrase(f"calc.e_{exc.key}", str(exc), exc.params)
        raise ValidationFailed(
            str(exc),
            key="knowledge.errors.field" if exc.key else None,
            params={"field": Phrase(f"calc.f_{exc.field}", exc.field), "message": said},
            fields=[{"field": exc.field, "message": str(exc)}],
        ) from exc
    return {"kind": kind, "result": result}


class ArticleEdit(BaseModel):
    """The fields an editor changes; any left out keep their text."""

    model_config = ConfigDict(extra="forbid")

    category: str | None = Field(None, max_length=16)
    title_zh: str | None = Field(None, max_length=200)
    title_en: str | None = Field(None, max_length=200)
    body_zh: str | None = Field(None, max_length=20_000)
    body_en: str | None = Field(None, max_length=20_000)
    tags: list[str] | None = Field(None, max_length=50)
    related: list[str] | None = Field(None, max_length=20)
    questions_zh: list[str] | None = Field(None, max_length=50)
    questions_en: list[str] | None = Field(None, max_length=50)
    sources: list[str] | None = Field(None, max_length=20)
    note: str = Field("", max_length=200)


def _article_out(row: KbArticle) -> dict[str, Any]:
    return {
        "slug": row.slug,
        **{k: getattr(row, k) for k in kb.FIELDS},
        "version": row.version,
        "origin": row.origin,
        "updated_at": row.updated_at.isoformat(),
    }


@router.get("/kb/articles")
def kb_articles(user: User = Depends(current_user), db: Session = DB) -> dict[str, Any]:
    require(user, "kb.read")
    return {
        "articles": [
            {
                "slug": r.slug,
                "category": r.category,
                "title_zh": r.title_zh,
                "title_en": r.title_en,
                "version": r.version,
            }
            for r in kb.list_articles(db)
        ]
    }


@router.get("/kb/articles/{slug}")
def kb_article(slug: str, user: User = Depends(current_user), db: Session = DB) -> dict[str, Any]:
    require(user, "kb.read")
    return _article_out(kb.get_article(db, slug))


@router.patch("/kb/articles/{slug}")
def kb_edit(
    slug: str,
    edit: ArticleEdit,
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    changes = edit.model_dump(exclude_none=True, exclude={"note"})
    row = kb.update_article(db, actor=user, slug=slug, changes=changes, note=edit.note)
    return _article_out(row)


@router.get("/kb/articles/{slug}/versions")
def kb_versions(slug: str, user: User = Depends(current_user), db: Session = DB) -> dict[str, Any]:
    require(user, "kb.manage")
    return {
        "versions": [
            {
                "version": v.version,
                "origin": v.origin,
                "note": v.note,
                "author_id": v.author_id,
                "created_at": v.created_at.isoformat(),
                "hash": v.content_hash,
            }
            for v in kb.history(db, slug)
        ]
    }


@router.get("/kb/articles/{slug}/candidates")
def kb_candidates(
    slug: str,
    status: Literal["open", "added", "dismissed"] = "open",
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    require(user, "kb.manage")
    return {"candidates": [candidate_out(c) for c in kb.candidates(db, slug, status)]}


class Decision(BaseModel):
    model_config = ConfigDict(extra="forbid")
    accept: bool


@router.post("/kb/articles/{slug}/candidates/{candidate_id}")
def kb_decide(
    slug: str,
    candidate_id: Id,
    body: Decision,
    user: User = Depends(current_user),
    db: Session = DB,
) -> dict[str, Any]:
    cand = kb.decide_candidate(
        db, actor=user, slug=slug, candidate_id=candidate_id, accept=body.accept
    )
    return {"candidate": candidate_out(cand), "article": _article_out(kb.get_article(db, slug))}
