"""GET /api/v1/kb/search: the answers of `kefu kb ask`, for the desk, portal and integrations."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends, Query

from kefu.core.security import User, require
from kefu.knowledge.search import default_index
from kefu.web.deps import current_user

router = APIRouter(prefix="/api/v1", tags=["knowledge"])


@router.get("/kb/search")
def kb_search(
    q: str = Query(min_length=1, max_length=200),
    top: int = Query(5, ge=1, le=20),
    lang: Literal["zh", "en"] | None = None,
    user: User = Depends(current_user),
) -> dict[str, Any]:
    require(user, "kb.read")
    return {"results": [h.to_dict() for h in default_index().search(q, top=top, lang=lang)]}
