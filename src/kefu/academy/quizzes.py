"""Quizzes: a course's final quiz drawn at random per category from its bank, answers shuffled,
the time limit and the attempt limit enforced on the server, graded on submission (essays later
by a trainer with a rubric), reviewable by the trainee; item statistics for trainers.

An attempt item points at the question VERSION it was drawn with, so editing a question never
changes an attempt already made. The reads (review, statistics) are in ``quiz_reads.py``,
re-exported here."""

from __future__ import annotations

import random
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.academy import gift, grading
from kefu.academy.audit import AcademyAudit
from kefu.academy.catalogue import get_course, question_of
from kefu.academy.models import (
    Attempt,
    AttemptItem,
    BankQuestion,
    QuestionVersion,
)
from kefu.academy.quiz_reads import HUNDRED as HUNDRED
from kefu.academy.quiz_reads import ItemRow as ItemRow
from kefu.academy.quiz_reads import ItemView as ItemView
from kefu.academy.quiz_reads import _choices
from kefu.academy.quiz_reads import attempt_view as attempt_view
from kefu.academy.quiz_reads import attempts_of as attempts_of
from kefu.academy.quiz_reads import best_score as best_score
from kefu.academy.quiz_reads import get_attempt as get_attempt
from kefu.academy.quiz_reads import item_statistics as item_statistics
from kefu.academy.quiz_reads import items_of as items_of
from kefu.academy.quiz_reads import may_review as may_review
from kefu.academy.quiz_reads import pending_essays as pending_essays
from kefu.core import audit
from kefu.core.actions import action
from kefu.core.db import utcnow
from kefu.core.errors import Conflict, NotFound, Phrase, ValidationFailed
from kefu.core.events import emit
from kefu.core.security import User, require

#: answers that reach the server this long after the deadline still count (the page submits
#: itself when its clock reaches zero; the request needs a moment to arrive)
GRACE = timedelta(seconds=5)


class TimeUp(Conflict):
    slug = "time-up"
    title = "The time limit has passed"


def _now(now: datetime | None) -> datetime:
    return now or utcnow()


def attempts_used(db: Session, *, user_id: int, course_id: int) -> int:
    return int(
        db.scalar(
            select(func.count(Attempt.id)).where(
                Attempt.user_id == user_id, Attempt.course_id == course_id
            )
        )
        or 0
    )


def _pool(db: Session, bank_id: int) -> list[tuple[BankQuestion, QuestionVersion]]:
    stmt = (
        select(BankQuestion, QuestionVersion)
        .join(QuestionVersion, QuestionVersion.id == BankQuestion.current_id)
        .where(
            BankQuestion.bank_id == bank_id,
            ~BankQuestion.retired,
            BankQuestion.kind != "description",
        )
        .order_by(BankQuestion.position, BankQuestion.id)
    )
    return [(q, v) for q, v in db.execute(stmt)]


def draw(
    pool: list[tuple[BankQuestion, QuestionVersion]],
    *,
    total: int,
    per_category: dict[str, int],
    rng: random.Random,
) -> list[tuple[BankQuestion, QuestionVersion]]:
    """``per_category[c]`` questions at random from category ``c`` (or its sub-categories),
    then the rest of ``total`` at random from what is left; fewer if the bank is smaller."""
    chosen: list[tuple[BankQuestion, QuestionVersion]] = []
    left = list(pool)
    for category, n in per_category.items():
        matching = [
            p for p in left if p[0].category == category or p[0].category.startswith(category + "/")
        ]
        picked = rng.sample(matching, min(n, len(matching)))
        chosen.extend(picked)
        left = [p for p in left if p not in picked]
    rest = max(0, total - len(chosen))
    chosen.extend(rng.sample(left, min(rest, len(left))))
    rng.shuffle(chosen)
    return chosen


def _order(q: gift.Question, rng: random.Random) -> list[int]:
    if q.kind in ("single", "multiple"):
        order = list(range(len(q.answers)))
    elif q.kind == "matching":
        order = list(range(len(_choices(q))))
    else:
        return []
    rng.shuffle(order)
    return order


def _own_attempt(db: Session, actor: User, attempt_id: int) -> Attempt:
    row = db.get(Attempt, attempt_id)
    if row is None or row.user_id != actor.id:
        raise NotFound(key="academy.errors.attempt_missing", params={"id": attempt_id})
    return row


@action
def start_attempt(
    db: Session,
    *,
    actor: User,
    course: str,
    lang: str = "zh",
    now: datetime | None = None,
    rng: random.Random | None = None,
) -> Attempt:
    """Starts (or resumes the open) attempt at ``course``'s quiz; refuses once the attempt
    limit is used."""
    require(actor, "academy.learn")
    c = get_course(db, course)
    at = _now(now)
    open_row = db.scalar(
        select(Attempt).where(
            Attempt.user_id == actor.id, Attempt.course_id == c.id, Attempt.state == "open"
        )
    )
    if open_row is not None:
        if at <= open_row.deadline_at + GRACE:
            audit.record(
                db,
                actor_id=actor.id,
                action=AcademyAudit.attempt_start,
                entity="academy_attempt",
                entity_id=open_row.id,
                data={"course": course, "resumed": True},
            )
            return open_row
        _finish(db, open_row, at, actor_id=actor.id)
    quiz = c.data["quiz"]
    used = attempts_used(db, user_id=actor.id, course_id=c.id)
    if used >= quiz["attempts"]:
        raise Conflict(
            key="academy.errors.no_attempts_left",
            params={"course": course, "used": used, "max": quiz["attempts"]},
        )
    if c.bank_id is None:
        raise Conflict(key="academy.errors.no_bank", params={"course": course})
    r = rng or random.SystemRandom()
    picked = draw(
        _pool(db, c.bank_id),
        total=quiz["questions"],
        per_category=quiz.get("per_category", {}),
        rng=r,
    )
    if not picked:
        raise Conflict(key="academy.errors.bank_empty", params={"course": course})
    lg = "en" if lang.startswith("en") else "zh"
    row = Attempt(
        course_id=c.id,
        user_id=actor.id,
        lang=lg,
        state="open",
        started_at=at,
        deadline_at=at + timedelta(minutes=quiz["minutes"]),
        pass_mark=c.data["pass_mark"],
    )
    db.add(row)
    db.flush()
    for slot, (_, version) in enumerate(picked, start=1):
        q = question_of(version, lg)
        db.add(
            AttemptItem(
                attempt_id=row.id, slot=slot, question_version_id=version.id, order=_order(q, r)
            )
        )
    audit.record(
        db,
        actor_id=actor.id,
        action=AcademyAudit.attempt_start,
        entity="academy_attempt",
        entity_id=row.id,
        data={"course": course, "questions": len(picked), "deadline": row.deadline_at.isoformat()},
    )
    return row


def _said(exc: grading.ResponseError) -> Phrase:
    """What the grader refused, in the reader's language (its English without a key)."""
    return Phrase(f"academy.errors.response_{exc.key}", str(exc), exc.params)


def _coerce(q: gift.Question, raw: Any) -> Any:
    """Form values (strings) into the grader's response shape; JSON values pass through."""
    if raw is None:
        return None
    if q.kind == "single" and isinstance(raw, str):
        return int(raw) if raw.strip().isascii() and raw.strip().isdigit() else raw
    if q.kind == "multiple" and isinstance(raw, list):
        return [int(x) if isinstance(x, str) and x.isascii() and x.isdigit() else x for x in raw]
    if q.kind == "truefalse" and isinstance(raw, str):
        return {"true": True, "false": False}.get(raw.lower(), raw)
    return raw


@action
def answer(
    db: Session,
    *,
    actor: User,
    attempt_id: int,
    slot: int,
    response: Any,
    now: datetime | None = None,
) -> AttemptItem:
    """Saves (and grades) one answer; refused after the deadline (:class:`TimeUp`)."""
    require(actor, "academy.learn")
    row = _own_attempt(db, actor, attempt_id)
    if row.state != "open":
        raise Conflict(key="academy.errors.submitted", params={"id": attempt_id})
    if _now(now) > row.deadline_at + GRACE:
        raise TimeUp(key="academy.errors.time_up", params={"id": attempt_id})
    found = next(((i, v) for i, v in items_of(db, attempt_id) if i.slot == slot), None)
    if found is None:
        raise NotFound(key="academy.errors.slot_missing", params={"id": attempt_id, "slot": slot})
    item, version = found
    q = question_of(version, row.lang)
    value = _coerce(q, response)
    try:
        mark = grading.grade(q, value)
    except grading.ResponseError as exc:
        raise ValidationFailed(
            key="academy.errors.question",
            params={"slot": slot, "message": _said(exc)},
            fields=[{"field": f"q{slot}", "message": str(exc)}],
        ) from exc
    old = item.response
    item.response = value
    item.fraction, item.status, item.feedback = mark.fraction, mark.status, list(mark.feedback)
    audit.record(
        db,
        actor_id=actor.id,
        action=AcademyAudit.attempt_answer,
        entity="academy_attempt",
        entity_id=row.id,
        data={"slot": slot, "old": old, "new": value},
    )
    return item


@action
def submit(
    db: Session,
    *,
    actor: User,
    attempt_id: int,
    responses: dict[int, Any],
    finish: bool,
    now: datetime | None = None,
) -> Attempt:
    """The quiz page's form: every changed answer saved through :func:`answer` (each its own
    entry), then, with ``finish``, the attempt submitted. After the deadline the answers are
    refused and the attempt is submitted with what was saved in time."""
    require(actor, "academy.learn")
    row = _own_attempt(db, actor, attempt_id)
    if row.state != "open":
        raise Conflict(key="academy.errors.submitted", params={"id": attempt_id})
    at = _now(now)
    late = at > row.deadline_at + GRACE
    if not late:
        saved = {i.slot: i.response for i, _ in items_of(db, attempt_id)}
        for slot, value in sorted(responses.items()):
            if slot in saved and value != saved[slot] and value not in (None, "", []):
                answer(db, actor=actor, attempt_id=attempt_id, slot=slot, response=value, now=at)
    if finish or late:
        finish_attempt(db, actor=actor, attempt_id=attempt_id, now=at)
    audit.record(
        db,
        actor_id=actor.id,
        action=AcademyAudit.attempt_submit,
        entity="academy_attempt",
        entity_id=row.id,
        data={"slots": sorted(responses), "finish": finish, "late": late},
    )
    return row


def _score(db: Session, row: Attempt) -> None:
    items = items_of(db, row.id)
    pending = sum(1 for i, _ in items if i.status == "pending")
    total = sum((i.fraction or Decimal(0) for i, _ in items), Decimal(0))
    row.score = (total / len(items) * HUNDRED).quantize(Decimal("0.01")) if items else Decimal(0)
    row.pending = pending
    row.passed = None if pending else row.score >= row.pass_mark


def _finish(db: Session, row: Attempt, at: datetime, *, actor_id: int | None) -> None:
    row.state = "finished"
    row.timed_out = at > row.deadline_at + GRACE
    row.finished_at = min(at, row.deadline_at + GRACE)
    for item, _ in items_of(db, row.id):
        if item.response is None:
            item.status, item.fraction = "blank", Decimal(0)
    db.flush()
    _score(db, row)
    audit.record(
        db,
        actor_id=actor_id,
        action=AcademyAudit.attempt_finish,
        entity="academy_attempt",
        entity_id=row.id,
        data={"score": str(row.score), "passed": row.passed, "timed_out": row.timed_out},
    )
    emit(db, f"user:{row.user_id}", {"type": "academy.attempt_finished", "attempt_id": row.id})
    _completed(db, row)


def _completed(db: Session, row: Attempt) -> None:
    """A passed, fully graded attempt may complete a programme (its certificate is issued)."""
    if row.passed:
        from kefu.academy import programmes  # programmes reads attempts: imported late

        owner = db.get(User, row.user_id)
        assert owner is not None
        programmes.check_completion(db, user=owner)


@action
def finish_attempt(
    db: Session, *, actor: User, attempt_id: int, now: datetime | None = None
) -> Attempt:
    """Submits the attempt: every saved answer is graded; essays wait for a trainer."""
    require(actor, "academy.learn")
    row = _own_attempt(db, actor, attempt_id)
    if row.state != "open":
        raise Conflict(key="academy.errors.submitted", params={"id": attempt_id})
    _finish(db, row, _now(now), actor_id=actor.id)
    return row


@action
def grade_essay(
    db: Session,
    *,
    actor: User,
    item_id: int,
    points: Decimal,
    out_of: Decimal,
    comment: str = "",
    criteria: dict[str, Any] | None = None,
) -> AttemptItem:
    """A trainer grades an essay with the rubric of the question's general feedback."""
    require(actor, "academy.teach")
    item = db.get(AttemptItem, item_id)
    if item is None:
        raise NotFound(key="academy.errors.item_missing", params={"id": item_id})
    row = db.get(Attempt, item.attempt_id)
    assert row is not None
    if row.state != "finished":
        raise Conflict(key="academy.errors.still_open")
    version = db.get(QuestionVersion, item.question_version_id)
    assert version is not None
    if version.kind != "essay":
        raise Conflict(key="academy.errors.essays_only")
    try:
        mark = grading.rubric_mark(points, out_of, comment.strip())
    except grading.ResponseError as exc:
        raise ValidationFailed(
            key="academy.errors.as_said",
            params={"text": _said(exc)},
            fields=[{"field": "points", "message": str(exc)}],
        ) from exc
    old = {"fraction": str(item.fraction) if item.fraction is not None else None}
    item.fraction, item.status, item.feedback = mark.fraction, mark.status, list(mark.feedback)
    item.grader_id, item.graded_at = actor.id, utcnow()
    item.rubric = {"points": str(points), "out_of": str(out_of), "criteria": criteria or {}}
    db.flush()
    _score(db, row)
    _completed(db, row)
    audit.record(
        db,
        actor_id=actor.id,
        action=AcademyAudit.essay_grade,
        entity="academy_attempt_item",
        entity_id=item.id,
        data={"old": old, "new": {"fraction": str(mark.fraction)}, "attempt": row.id},
    )
    return item
