"""Evaluations of finished cases: the automatic grader scores every case that becomes resolved
or closed (hooked into the desk's lifecycle, in the same transaction as the status change, so
the evaluation commits with it and its event is published after that commit); ``backfill``
scores finished cases that have none; a supervisor overrides a score with a reason."""

from __future__ import annotations

import logging
import re
from datetime import datetime
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.orm import Session

from kefu.compliance.content import default_guard
from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.db import utcnow
from kefu.core.errors import NotFound, ValidationFailed, refused_field
from kefu.core.events import emit
from kefu.core.security import User, require
from kefu.desk import service as desk
from kefu.desk import sla
from kefu.desk.models import Case
from kefu.quality import content
from kefu.quality.audit import QualityAudit
from kefu.quality.complaints import classify
from kefu.quality.models import Evaluation
from kefu.quality.scorer import Conversation, Turn, card_for, score

log = logging.getLogger("kefu.quality")

FINISHED = ("resolved", "closed")
_SPEAKER = re.compile(r"^\s*(客户|坐席|客服|Customer|Agent)\s*[：:]\s*(.+)$", re.IGNORECASE)


def conversation_of(case: Case) -> tuple[Conversation, list[int | None]]:
    """The case as the scorer reads it (customer and agent messages in order; a call's
    transcript when no agent message was typed), and the message id of each turn."""
    turns: list[Turn] = []
    ids: list[int | None] = []
    for m in sorted(case.messages, key=lambda m: (m.seq, m.id)):
        if m.kind not in ("customer", "agent"):
            continue
        g: dict[str, Any] = m.guard or {}
        cats = tuple(str(f.get("category", "")) for f in g.get("findings", []) or [])
        turns.append(
            Turn(m.kind, m.body, m.created_at, g.get("verdict"), cats, bool(g.get("confirmed")))
        )
        ids.append(m.id)
    if not any(t.role == "agent" for t in turns) and case.transcript:
        for line in case.transcript.splitlines():
            hit = _SPEAKER.match(line)
            if hit:
                who = hit.group(1).lower()
                role = "customer" if who in ("客户", "customer") else "agent"
                turns.append(Turn(role, hit.group(2).strip()))
                ids.append(None)
    resolved = case.status_category in FINISHED
    lang = "en" if case.language.startswith("en") else "zh"
    return Conversation(case.channel, resolved, tuple(turns), lang), ids


def _agent_of(case: Case) -> int | None:
    if case.assignee_id is not None:
        return case.assignee_id
    last = next((m for m in reversed(case.messages) if m.kind == "agent"), None)
    return last.author_id if last else None


def score_case(
    db: Session, *, case: Case, actor: User | None, now: datetime | None = None
) -> Evaluation:
    """Scores ``case`` inside the calling action (its entry counts for that action); an
    earlier evaluation of the case stays on record, no longer current."""
    now = now or utcnow()
    conv, ids = conversation_of(case)
    card = card_for(case.channel, content.scorecards())
    ev = score(conv, card, policy=content.policy(), guard=default_guard())
    findings = []
    for f in ev.findings:
        d = f.to_dict()
        d["message_id"] = ids[f.message_index] if f.message_index is not None else None
        findings.append(d)
    earlier = db.scalar(select(Evaluation.id).where(Evaluation.case_id == case.id).limit(1))
    db.execute(
        update(Evaluation)
        .where(Evaluation.case_id == case.id, Evaluation.current.is_(True))
        .values(current=False)
    )
    row = Evaluation(
        **_facts(db, case, now),
        reopened=earlier is not None,
        case_id=case.id,
        current=True,
        agent_id=_agent_of(case),
        scorecard=card.name,
        score=ev.score,
        raw_score=ev.raw_score,
        passed=ev.passed,
        auto_fail=ev.auto_fail,
        sections=dict(ev.sections),
        findings=findings,
        items=ev.ratings(),
        scored_at=now,
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=QualityAudit.evaluation_scored,
        entity="case",
        entity_id=case.id,
        data={
            "evaluation": row.id,
            "scorecard": card.name,
            "score": ev.score,
            "passed": ev.passed,
            "auto_fail": ev.auto_fail,
        },
    )
    emit(db, "quality", {"type": "evaluation.scored", "case_id": case.id, "evaluation": row.id})
    return row


def _facts(db: Session, case: Case, now: datetime) -> dict[str, Any]:
    """The case's service facts when it finished: response and resolution times in calendar
    seconds and in business minutes of its SLA policy's calendar (kefu.desk.sla), whether each
    SLA target was met, the agent's replies, and its complaint codes."""
    opened = case.created_at
    finished = case.resolved_at or case.closed_at or now
    first = case.first_response_at
    policy = desk.policy_for(db, case.priority)
    cal = policy.calendar if policy else None
    msgs = [m for m in case.messages if m.created_at <= finished]
    customer_words = [case.subject] + [m.body for m in msgs if m.kind == "customer"]
    codes = classify(case.category, customer_words, content.complaint_codes())
    reported = any((m.guard or {}).get("report") for m in msgs)
    return {
        "channel": case.channel,
        "category": case.category,
        "priority": case.priority,
        "opened_at": opened,
        "finished_at": finished,
        "first_response_seconds": int((first - opened).total_seconds()) if first else None,
        "first_response_business_minutes": (
            sla.business_minutes_between(cal, opened, first) if first and cal else None
        ),
        "resolution_seconds": int((finished - opened).total_seconds()),
        "resolution_business_minutes": (
            sla.business_minutes_between(cal, opened, finished) if cal else None
        ),
        "agent_replies": sum(m.kind == "agent" for m in msgs),
        "first_response_met": (
            None
            if case.first_response_due is None
            else first is not None and first <= case.first_response_due
        ),
        "resolution_met": (
            None if case.resolution_due is None else finished <= case.resolution_due
        ),
        "complaint": codes.complaint,
        "product_code": codes.product,
        "problem_code": codes.problem,
        "compliance": case.category == "compliance" or reported,
    }


def _on_finished(db: Session, case: Case, actor: User | None, now: datetime) -> None:
    """The desk's lifecycle hook. A scorer failure never blocks closing a case: it is logged
    and ``kefu qa backfill`` scores the case later."""
    try:
        with db.begin_nested():
            score_case(db, case=case, actor=actor, now=now)
    except Exception:
        log.exception("quality: scoring case %s failed; kefu qa backfill will retry", case.id)


def install() -> None:
    """Hooks automatic scoring into the desk's lifecycle (idempotent)."""
    desk.on_case_finished(_on_finished)


install()


def unscored_cases(db: Session, limit: int | None = None) -> list[int]:
    stmt = (
        select(Case.id)
        .where(
            Case.status_category.in_(FINISHED),
            ~exists().where(Evaluation.case_id == Case.id, Evaluation.current.is_(True)),
        )
        .order_by(Case.id)
    )
    if limit:
        stmt = stmt.limit(limit)
    return list(db.scalars(stmt))


@action
def backfill(db: Session, *, actor: User | None, limit: int | None = None) -> int:
    """Scores every resolved or closed case without a current evaluation; returns how many."""
    if actor is not None:
        require(actor, "quality.review")
    ids = unscored_cases(db, limit)
    if not ids:
        unchanged(db)
        return 0
    for case_id in ids:
        case = db.get(Case, case_id)
        assert case is not None
        score_case(db, case=case, actor=actor)
    return len(ids)


def _evaluation(db: Session, evaluation_id: int) -> Evaluation:
    row = db.get(Evaluation, evaluation_id)
    if row is None:
        raise NotFound(key="quality.errors.evaluation_missing", params={"id": evaluation_id})
    return row


@action
def override_evaluation(
    db: Session, *, actor: User, evaluation_id: int, score: float, passed: bool, reason: str
) -> Evaluation:
    """A supervisor's review: the score and pass that stand, with the reason, on record."""
    require(actor, "quality.review")
    row = _evaluation(db, evaluation_id)
    reason = (reason or "").strip()
    if not reason:
        raise _err("reason", "a reason is required", "reason_required")
    if len(reason) > 2000:
        raise _err("reason", "at most 2000 characters", "at_most_chars", n=2000)
    if not (0 <= score <= 100):
        raise _err("score", "must be between 0 and 100", "score_range")
    old = {"score": row.final_score, "passed": row.final_passed, "reason": row.override_reason}
    row.override_score = round(float(score), 1)
    row.override_passed = bool(passed)
    row.override_reason = reason
    row.overridden_by_id = actor.id
    row.overridden_at = utcnow()
    audit.record(
        db,
        actor_id=actor.id,
        action=QualityAudit.evaluation_override,
        entity="case",
        entity_id=row.case_id,
        data={
            "evaluation": row.id,
            "old": old,
            "new": {"score": row.override_score, "passed": passed, "reason": reason},
        },
    )
    emit(db, "quality", {"type": "evaluation.override", "case_id": row.case_id})
    return row


def _err(field: str, message: str, key: str, **params: Any) -> ValidationFailed:
    """A refused field said by key (``quality.errors.<key>``); ``message`` is its English."""
    return refused_field(
        field, message, key=f"quality.errors.{key}", names="quality.errors.fields", **params
    )


def current_evaluation(db: Session, *, viewer: User, case_id: int) -> Evaluation | None:
    require(viewer, "quality.read")
    return db.scalar(
        select(Evaluation).where(Evaluation.case_id == case_id, Evaluation.current.is_(True))
    )


def evaluation(db: Session, *, viewer: User, evaluation_id: int) -> Evaluation:
    require(viewer, "quality.read")
    return _evaluation(db, evaluation_id)


def history(db: Session, *, viewer: User, case_id: int) -> list[Evaluation]:
    require(viewer, "quality.read")
    return list(
        db.scalars(
            select(Evaluation).where(Evaluation.case_id == case_id).order_by(Evaluation.id.desc())
        )
    )


def case_view(db: Session, *, viewer: User, case_id: int) -> dict[str, Any]:
    """A case's current evaluation beside its conversation, each turn with the findings that
    point at it (staff read others' words with personal data masked, as on the desk)."""
    require(viewer, "quality.read")
    case = desk.visible_case(db, viewer=viewer, case_id=case_id)
    row = current_evaluation(db, viewer=viewer, case_id=case_id)
    conv, ids = conversation_of(case)
    by_id = {m.id: m for m in case.messages}
    turns = []
    for i, (t, mid) in enumerate(zip(conv.turns, ids, strict=True)):
        m = by_id.get(mid) if mid is not None else None
        text = (m.redacted or m.body) if m is not None and m.author_id != viewer.id else t.text
        turns.append(
            {
                "index": i,
                "role": t.role,
                "text": text,
                "at": t.at,
                "message_id": mid,
                "findings": [f for f in (row.findings if row else []) if f["message_index"] == i],
            }
        )
    overall = [f for f in (row.findings if row else []) if f["message_index"] is None]
    return {"case": case, "evaluation": row, "turns": turns, "overall": overall}
