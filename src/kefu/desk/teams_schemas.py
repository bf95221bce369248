"""Pydantic in/out models of the teams and escalation API."""

from __future__ import annotations

from datetime import datetime
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class MemberOut(BaseModel):
    id: int
    name: str
    role: str


class TeamOut(BaseModel):
    id: int
    code: str
    name: str
    name_zh: str
    name_en: str
    ola_minutes: int
    calendar: str
    active: bool
    members: list[MemberOut]


class TeamIn(Strict):
    code: str = Field(min_length=2, max_length=32, description="e.g. funds_ops")
    name_zh: str = Field(min_length=1, max_length=64)
    name_en: str = Field(min_length=1, max_length=64)
    ola_minutes: int = Field(ge=1, le=43200, description="internal target, business minutes")
    calendar: str = Field("cn-business", min_length=1, max_length=32)
    active: bool = True


class TeamPatch(Strict):
    name_zh: str | None = Field(None, min_length=1, max_length=64)
    name_en: str | None = Field(None, min_length=1, max_length=64)
    ola_minutes: int | None = Field(None, ge=1, le=43200)
    calendar: str | None = Field(None, min_length=1, max_length=32)
    active: bool | None = None


class MemberIn(Strict):
    user_id: int = Field(ge=1, le=2**31 - 1)


class EscalateIn(Strict):
    team_id: int = Field(ge=1, le=2**31 - 1)
    note: str = Field(
        min_length=1, max_length=10_000, description="internal; never shown to the customer"
    )


class ThreadIn(Strict):
    body: str = Field(min_length=1, max_length=10_000)


class OlaOut(BaseModel):
    due: str | None
    state: Literal["ok", "near", "breached", "met", "paused", "none"]
    remaining_minutes: int | None


class ThreadMessageOut(BaseModel):
    id: int
    author_id: int | None
    author: str | None
    side: Literal["team", "agent"]
    kind: Literal["message", "answer"]
    body: str
    created_at: datetime


class EscalationOut(BaseModel):
    id: int
    case_id: int
    case_subject: str
    team_id: int
    team_code: str
    team: str
    status: Literal["open", "answered", "closed"]
    status_name: str
    opened_by_id: int | None
    opened_by: str | None
    owner_id: int | None
    owner: str | None
    note: str
    created_at: datetime
    ola_due_at: datetime
    ola: OlaOut
    answered_at: datetime | None
    answered_by: str | None
    closed_at: datetime | None
    may_write: bool
    may_answer: bool
    messages: list[ThreadMessageOut]


class CustomerStatusOut(BaseModel):
    """What the customer is told: the team and the expected time, nothing internal."""

    team: str
    expected_by: datetime | None
    text: str


class TeamSummaryOut(BaseModel):
    team_id: int
    code: str
    name: str
    active: bool
    ola_minutes: int
    open: int
    overdue: int
    answered: int
    answered_late: int
    breaches: list[EscalationOut]
