"""POST /api/v1/screen: the guard's verdict for a draft, as the desk shows it while typing."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from kefu.compliance.service import screen_text
from kefu.core.http import CurrentUser
from kefu.core.security import require

router = APIRouter(prefix="/api/v1", tags=["compliance"])


class ScreenIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=10_000)
    role: Literal["agent", "customer"] = "agent"


@router.post("/screen")
def screen(body: ScreenIn, user: CurrentUser) -> dict[str, Any]:
    require(user, "screen.use")
    return screen_text(body.text, body.role)
