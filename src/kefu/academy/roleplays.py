"""Role-play runs: a trainee talks to a simulated customer one reply at a time (the browser) or
from a file of replies (the CLI). A run is stored as its replies and the persona version it was
played against, and replayed through the engine on every reply, so it is graded the same way
twice. The judge — the compliance guard's screening, the QA scorer's reply signals and its
scorecard — is composed in ``judge.py``; tests hand in their own."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.academy import roleplay
from kefu.academy.audit import AcademyAudit
from kefu.academy.catalogue import get_persona
from kefu.academy.models import PersonaVersion, RoleplayRun
from kefu.academy.quizzes import may_review
from kefu.academy.roleplay import Persona, Run, Screen, parse_persona
from kefu.core import audit
from kefu.core.actions import action
from kefu.core.db import utcnow
from kefu.core.errors import Conflict, NotFound, Phrase, ValidationFailed
from kefu.core.events import emit
from kefu.core.security import User, require

MAX_REPLY = 2000


@dataclass(frozen=True)
class Scored:
    """The QA scorecard of a finished run's transcript."""

    score: float
    passed: bool
    auto_fail: bool
    sections: dict[str, float]
    findings: list[dict[str, Any]] = field(default_factory=list)


class Judge(Protocol):
    def signals(self, text: str, lang: str) -> frozenset[str]: ...

    def screen(self, text: str) -> Screen: ...

    def scorecard(self, run: Run, persona: Persona) -> Scored | None: ...


def _outcome(outcome: str) -> Callable[[str], str]:
    """A run's outcome: its code in English (as the API said it), in words in Chinese."""
    word = Phrase(f"academy.outcome_{outcome}", outcome)
    return lambda lang: outcome if lang == "en" else word(lang)


def replay(persona: Persona, replies: Sequence[str], lang: str, judge: Judge) -> Run:
    lg = "en" if lang.startswith("en") else "zh"
    classify: Callable[[str], frozenset[str]] = lambda text: judge.signals(text, lg)  # noqa: E731
    return roleplay.play(persona, replies, lang=lg, classify=classify, screen=judge.screen)


def transcript(run: Run) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for t in run.turns:
        out.append({"role": "customer", "text": t.customer})
        out.append(
            {
                "role": "agent",
                "text": t.reply,
                "signals": sorted(t.signals),
                "guard": t.guard.verdict,
                "why": t.why,
                "mood": t.mood,
                "model_answer": t.model_answer,
            }
        )
    if run.finished and run.customer:
        out.append({"role": "customer", "text": run.customer})
    return out


def debrief(persona: Persona, run: Run, judge: Judge) -> dict[str, Any]:
    """What the CLI prints and the debrief page shows once the run is over."""
    card = judge.scorecard(run, persona) if run.finished else None
    passed = (
        roleplay.passed(run, qa_passed=card.passed if card else None) if run.finished else False
    )
    guard_findings = [{"source": "guard", **f} for f in run.findings()]
    qa_findings = [{"source": "qa", **f} for f in (card.findings if card else [])]
    return {
        "persona": persona.slug,
        "lang": run.lang,
        "outcome": run.outcome,
        "score": card.score if card else None,
        "passed": passed,
        "guard_failed": run.guard_failed,
        "findings": guard_findings + qa_findings,
        "transcript": transcript(run),
        "scorecard": (
            {
                "score": card.score,
                "passed": card.passed,
                "auto_fail": card.auto_fail,
                "sections": card.sections,
            }
            if card
            else None
        ),
        "model_answers": [
            {"turn": i, "state": t.state, "model_answer": t.model_answer}
            for i, t in enumerate(run.turns, start=1)
        ],
        "hidden_goal": persona.hidden_goal(run.lang),
        "mood_path": list(run.mood_path),
    }


# --- runs in the database -----------------------------------------------------------------------


def _own_run(db: Session, actor: User, run_id: int) -> RoleplayRun:
    row = db.get(RoleplayRun, run_id)
    if row is None or row.user_id != actor.id:
        raise NotFound(key="academy.errors.run_missing", params={"id": run_id})
    return row


def persona_of(db: Session, row: RoleplayRun) -> Persona:
    version = db.get(PersonaVersion, row.persona_version_id)
    assert version is not None
    return parse_persona(version.data, row.slug)


@action
def start_run(db: Session, *, actor: User, persona: str, lang: str = "zh") -> RoleplayRun:
    require(actor, "academy.learn")
    _, version, _p = get_persona(db, persona)
    row = RoleplayRun(
        user_id=actor.id,
        persona_version_id=version.id,
        slug=persona,
        lang="en" if lang.startswith("en") else "zh",
        replies=[],
        outcome="in_progress",
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=AcademyAudit.roleplay_start,
        entity="academy_run",
        entity_id=row.id,
        data={"persona": persona, "version": version.version},
    )
    return row


def _judge(judge: Judge | Callable[[], Judge]) -> Judge:
    return judge() if callable(judge) else judge


@action
def send_reply(
    db: Session, *, actor: User, run_id: int, text: str, judge: Judge | Callable[[], Judge]
) -> RoleplayRun:
    """One trainee reply: replayed with the earlier ones; the debrief is stored at the end."""
    require(actor, "academy.learn")
    row = _own_run(db, actor, run_id)
    if row.outcome != "in_progress":
        raise Conflict(
            key="academy.errors.run_over",
            params={"id": run_id, "outcome": _outcome(row.outcome)},
        )
    reply = text.strip()
    if not reply:
        raise ValidationFailed(
            key="academy.errors.reply_empty", fields=[{"field": "text", "message": "required"}]
        )
    if len(reply) > MAX_REPLY:
        raise ValidationFailed(
            key="academy.errors.reply_too_long",
            params={"n": MAX_REPLY},
            fields=[{"field": "text", "message": f"at most {MAX_REPLY} characters"}],
        )
    persona = persona_of(db, row)
    replies = [*row.replies, reply]
    judge = _judge(judge)
    run = replay(persona, replies, row.lang, judge)
    row.replies = replies
    row.outcome = run.outcome
    row.guard_failed = run.guard_failed
    last = run.turns[-1]
    audit.record(
        db,
        actor_id=actor.id,
        action=AcademyAudit.roleplay_reply,
        entity="academy_run",
        entity_id=row.id,
        data={
            "turn": len(run.turns),
            "guard": last.guard.verdict,
            "findings": [dict(f) for f in last.guard.findings],
            "mood": last.mood,
            "outcome": run.outcome,
        },
    )
    if run.finished:
        result = debrief(persona, run, judge)
        row.result = result
        row.score = None if result["score"] is None else result["score"]
        row.passed = bool(result["passed"])
        row.finished_at = utcnow()
        audit.record(
            db,
            actor_id=actor.id,
            action=AcademyAudit.roleplay_finish,
            entity="academy_run",
            entity_id=row.id,
            data={"outcome": run.outcome, "score": result["score"], "passed": result["passed"]},
        )
        emit(db, f"user:{row.user_id}", {"type": "academy.roleplay_finished", "run_id": row.id})
        if row.passed:
            from kefu.academy import programmes  # programmes reads runs: imported late

            programmes.check_completion(db, user=actor)
    return row


def run_state(
    db: Session, *, viewer: User, run_id: int, judge: Judge | Callable[[], Judge]
) -> tuple[RoleplayRun, Persona, Run]:
    """A run as the engine sees it now (replayed), for the trainee, their mentor or a trainer."""
    require(viewer, "academy.learn")
    row = db.get(RoleplayRun, run_id)
    if row is None or not may_review(db, viewer, row.user_id):
        raise NotFound(key="academy.errors.run_missing", params={"id": run_id})
    persona = persona_of(db, row)
    return row, persona, replay(persona, row.replies, row.lang, _judge(judge))


def runs_of(db: Session, *, viewer: User, user_id: int | None = None) -> list[RoleplayRun]:
    require(viewer, "academy.learn")
    uid = user_id or viewer.id
    if not may_review(db, viewer, uid):
        raise NotFound(key="academy.errors.trainee_unknown")
    return list(
        db.scalars(
            select(RoleplayRun)
            .where(RoleplayRun.user_id == uid)
            .order_by(RoleplayRun.started_at.desc())
        )
    )
