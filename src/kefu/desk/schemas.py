"""Desk API shapes and the read models every surface (REST, pages, socket) goes through."""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field

from kefu.core.security import Role, User

Channel = Literal["chat", "web", "phone", "email"]
Category = Literal["account", "funds", "trading", "technical", "complaint", "compliance"]
Priority = Literal["urgent", "high", "normal", "low"]
Tag = Annotated[str, Field(max_length=64)]


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class CaseCreate(Strict):
    subject: str = Field(min_length=1, max_length=200)
    category: Category | None = Field(
        default=None, description="omit to let intent routing choose from subject and body"
    )
    priority: Priority = "normal"
    channel: Channel = "web"
    language: Literal["zh", "en"] = "zh"
    customer_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    body: str = Field(default="", description="the first message (customer's words or call notes)")
    transcript: str = Field(default="", max_length=100_000)
    call_minutes: int | None = Field(default=None, ge=0, le=24 * 60)
    confirm_warning: bool = Field(
        default=False, description="send although the guard warns (e.g. no risk statement)"
    )


class CasePatch(Strict):
    status: str | None = Field(default=None, min_length=1, max_length=32)
    priority: Priority | None = None
    category: Category | None = None
    subject: str | None = Field(default=None, min_length=1, max_length=200)
    assignee_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    unassign: bool = False
    confirm_warning: bool = False


class TagsIn(Strict):
    add: list[Tag] = Field(default_factory=list, max_length=10)
    remove: list[Tag] = Field(default_factory=list, max_length=10)


class BulkIn(Strict):
    case_ids: list[Annotated[int, Field(ge=1, le=2**31 - 1)]] = Field(min_length=1, max_length=200)
    status: str | None = Field(default=None, min_length=1, max_length=32)
    priority: Priority | None = None
    assignee_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    unassign: bool = False
    add_tags: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=10
    )
    remove_tags: list[Annotated[str, Field(max_length=64)]] = Field(
        default_factory=list, max_length=10
    )


class MessageIn(Strict):
    body: str = Field(min_length=1)
    internal: bool = False
    idempotency_key: str | None = Field(default=None, min_length=1, max_length=64)
    confirm_warning: bool = False


class MessageOut(BaseModel):
    id: int
    case_id: int
    kind: str
    author_id: int | None
    author: str | None
    body: str
    created_at: datetime
    guard: dict[str, Any] | None = None
    attachments: list[dict[str, Any]] = Field(
        default_factory=list, description="files on the message: name, mime, size, url"
    )


class SlaClockOut(BaseModel):
    due: str | None
    state: str
    remaining_minutes: int | None


class CaseOut(BaseModel):
    id: int
    subject: str
    channel: str
    category: str
    intent: str = Field(default="", description="slug of the knowledge article that answers it")
    priority: str
    status: str
    status_name: str
    status_category: str
    language: str
    customer_id: int
    customer_name: str
    assignee_id: int | None
    assignee: str | None
    created_at: datetime
    updated_at: datetime
    first_response_at: datetime | None
    resolved_at: datetime | None
    customer_read_id: int = 0
    agent_read_id: int = 0
    sla: dict[str, SlaClockOut]
    tags: list[str] = Field(default_factory=list, description="staff's labels (not for customers)")
    call_minutes: int | None = None
    transcript: str = ""
    csat: dict[str, Any] | None = None


class CaseDetail(CaseOut):
    messages: list[MessageOut]


class CaseList(BaseModel):
    items: list[CaseOut]
    limit: int
    offset: int


class CsatIn(Strict):
    score: int = Field(ge=1, le=5)
    comment: str = Field(default="", max_length=2000)


class PresenceIn(Strict):
    presence: Literal["online", "away", "offline"]


class CannedRenderIn(Strict):
    case_id: int | None = Field(default=None, ge=1, le=2**31 - 1)
    variables: dict[str, str] = Field(default_factory=dict)
    lang: Literal["zh", "en"] | None = None


class CannedPatch(Strict):
    category: str | None = Field(default=None, min_length=1, max_length=16)
    title_zh: str | None = Field(default=None, min_length=1, max_length=128)
    title_en: str | None = Field(default=None, min_length=1, max_length=128)
    body_zh: str | None = Field(default=None, min_length=1, max_length=5000)
    body_en: str | None = Field(default=None, min_length=1, max_length=5000)


Assign = Literal["", "me", "none"]


class MacroIn(Strict):
    name: str = Field(min_length=1, max_length=80)
    shared: bool = Field(default=False, description="shared with the team (supervisors only)")
    body_zh: str = Field(default="", max_length=5000)
    body_en: str = Field(default="", max_length=5000)
    status: str | None = Field(default=None, max_length=32)
    priority: Priority | None = None
    add_tags: list[Tag] = Field(default_factory=list, max_length=10)
    remove_tags: list[Tag] = Field(default_factory=list, max_length=10)
    assign: Assign = Field(default="", description="'me' takes the case, 'none' unassigns it")


class MacroPatch(Strict):
    name: str | None = Field(default=None, min_length=1, max_length=80)
    body_zh: str | None = Field(default=None, max_length=5000)
    body_en: str | None = Field(default=None, max_length=5000)
    status: str | None = Field(default=None, max_length=32)
    priority: Priority | Literal[""] | None = None
    add_tags: list[Tag] | None = Field(default=None, max_length=10)
    remove_tags: list[Tag] | None = Field(default=None, max_length=10)
    assign: Assign | None = None


class MacroOut(BaseModel):
    id: int
    name: str
    shared: bool
    owner_id: int | None
    body_zh: str
    body_en: str
    status: str | None
    priority: str | None
    add_tags: list[str]
    remove_tags: list[str]
    assign: str


class StatusIn(Strict):
    key: str = Field(min_length=2, max_length=32)
    category: Literal["open", "pending", "resolved", "closed"]
    name_zh: str = Field(min_length=1, max_length=64)
    name_en: str = Field(min_length=1, max_length=64)


# --- read models: what each viewer may see of a message or a case, decided here only ---------


def message_view(payload: Mapping[str, Any], *, viewer: User, lang: str) -> dict[str, Any]:
    """One message as ``viewer`` receives it over REST, the pages and the socket.

    ``payload`` is :func:`kefu.desk.conversation.message_payload`. Customers read every line
    as written (their own words and what staff sent them; notes never reach them) and never the
    guard's record; staff read what others wrote with personal data masked, their own words as
    written."""
    customer = viewer.role == Role.customer
    own = payload.get("author_id") == viewer.id
    body = payload["body"] if (customer or own) else (payload.get("redacted") or payload["body"])
    author = payload.get("author")
    if lang.startswith("en") and payload.get("author_en"):
        author = payload["author_en"]
    out = {
        "id": payload["id"],
        "seq": payload.get("seq"),
        "case_id": payload["case_id"],
        "kind": payload["kind"],
        "author_id": payload.get("author_id"),
        "author": author,
        "body": body,
        "created_at": payload["created_at"],
        "attachments": payload.get("attachments") or [],
    }
    if not customer:
        out["guard"] = payload.get("guard")
    return out
