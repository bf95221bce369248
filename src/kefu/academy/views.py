"""The academy's JSON API: the installed courses and personas, and role-play over HTTP (start a
run, send one reply at a time, read the state or the debrief) — what the console's role-play
page does, for programs."""

from __future__ import annotations

from typing import Any, Literal

from fastapi import APIRouter, Depends
from pydantic import BaseModel, ConfigDict, Field
from sqlalchemy.orm import Session

from kefu.academy import catalogue, roleplays
from kefu.academy.models import RoleplayRun
from kefu.academy.roleplay import Persona, Run
from kefu.core.http import DB, Id, current_user
from kefu.core.security import User, require

router = APIRouter(prefix="/api/v1/academy", tags=["academy"])


class RunIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    persona: str = Field(min_length=1, max_length=80)
    lang: Literal["zh", "en"] = "zh"


class ReplyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, max_length=roleplays.MAX_REPLY)


def _judge() -> roleplays.Judge:
    from kefu.academy.judge import default_judge

    return default_judge()


def _run_out(row: RoleplayRun, persona: Persona, run: Run) -> dict[str, Any]:
    out: dict[str, Any] = {
        "id": row.id,
        "persona": persona.slug,
        "lang": row.lang,
        "outcome": run.outcome,
        "mood": run.mood,
        "escalate_at": persona.escalate_at,
        "turn": len(run.turns),
        "max_turns": persona.max_turns,
        "customer": run.customer,
    }
    if run.finished:
        out["debrief"] = row.result or None
    return out


@router.get("/courses")
def courses(user: User = Depends(current_user), db: Session = DB) -> list[dict[str, Any]]:
    require(user, "academy.learn")
    return [
        {
            "slug": c.slug,
            "version": c.version,
            "title": c.data["title"],
            "summary": c.data["summary"],
            "pass_mark": c.data["pass_mark"],
            "quiz": c.data["quiz"],
            "lessons": [
                {"slug": x.slug, "version": x.version, "title": x.data["title"]}
                for x in catalogue.lessons_of(db, c.id)
            ],
        }
        for c in catalogue.courses(db)
    ]


@router.get("/personas")
def personas(user: User = Depends(current_user), db: Session = DB) -> list[dict[str, Any]]:
    require(user, "academy.learn")
    return [
        {
            "slug": p.slug,
            "version": p.version,
            "title": {"zh": p.title.zh, "en": p.title.en},
            "brief": {"zh": p.brief.zh, "en": p.brief.en},
            "skills": list(p.skills),
        }
        for _, p in catalogue.personas(db)
    ]


@router.post("/runs", status_code=201)
def start_run(body: RunIn, user: User = Depends(current_user), db: Session = DB) -> dict[str, Any]:
    row = roleplays.start_run(db, actor=user, persona=body.persona, lang=body.lang)
    return _run_out(*roleplays.run_state(db, viewer=user, run_id=row.id, judge=_judge))


@router.get("/runs/{run_id}")
def get_run(run_id: Id, user: User = Depends(current_user), db: Session = DB) -> dict[str, Any]:
    return _run_out(*roleplays.run_state(db, viewer=user, run_id=run_id, judge=_judge))


@router.post("/runs/{run_id}/replies")
def reply(
    run_id: Id, body: ReplyIn, user: User = Depends(current_user), db: Session = DB
) -> dict[str, Any]:
    roleplays.send_reply(db, actor=user, run_id=run_id, text=body.text, judge=_judge)
    return _run_out(*roleplays.run_state(db, viewer=user, run_id=run_id, judge=_judge))
