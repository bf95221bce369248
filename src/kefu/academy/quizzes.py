"""Quizzes: a course's final quiz drawn at random per category from its bank, answers shuffled,
the time limit and the attempt limit enforced on the server, graded on submission (essays later
by a trainer with a rubric), reviewable by the trainee; item statistics for trainers.

An attempt item points at the question VERSION it was drawn with, so editing a question never
changes an attempt already made."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.academy import gift, grading, itemstats
from kefu.academy.audit import AcademyAudit
from kefu.academy.catalogue import get_course, question_of
from kefu.academy.models import (
    Attempt,
    AttemptItem,
    BankQuestion,
    Course,
    Mentorship,
    QuestionVersion,
)
from kefu.core import audit
from kefu.core.actions import action
from kefu.core.db import utcnow
from kefu.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kefu.core.events import emit
from kefu.core.security import User, can, require

#: answers that reach the server this long after the deadline still count (the page submits
#: itself when its clock reaches zero; the request needs a moment to arrive)
GRACE = timedelta(seconds=5)
HUNDRED = Decimal(100)


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


def _choices(q: gift.Question) -> list[str]:
    seen: list[str] = []
    for a in q.answers:
        if a.match is not None and a.match not in seen:
            seen.append(a.match)
    return seen


def _own_attempt(db: Session, actor: User, attempt_id: int) -> Attempt:
    row = db.get(Attempt, attempt_id)
    if row is None or row.user_id != actor.id:
        raise NotFound(f"no attempt {attempt_id}")
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
        raise Conflict(f"no attempts left at {course}: {used} of {quiz['attempts']} used")
    if c.bank_id is None:
        raise Conflict(f"course {course} has no question bank")
    r = rng or random.SystemRandom()
    picked = draw(
        _pool(db, c.bank_id),
        total=quiz["questions"],
        per_category=quiz.get("per_category", {}),
        rng=r,
    )
    if not picked:
        raise Conflict(f"the bank of {course} has no questions")
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


def items_of(db: Session, attempt_id: int) -> list[tuple[AttemptItem, QuestionVersion]]:
    stmt = (
        select(AttemptItem, QuestionVersion)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .where(AttemptItem.attempt_id == attempt_id)
        .order_by(AttemptItem.slot)
    )
    return [(i, v) for i, v in db.execute(stmt)]


def _coerce(q: gift.Question, raw: Any) -> Any:
    """Form values (strings) into the grader's response shape; JSON values pass through."""
    if raw is None:
        return None
    if q.kind == "single" and isinstance(raw, str):
        return int(raw) if raw.strip().isdigit() else raw
    if q.kind == "multiple" and isinstance(raw, list):
        return [int(x) if isinstance(x, str) and x.isdigit() else x for x in raw]
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
        raise Conflict(f"attempt {attempt_id} is already submitted")
    if _now(now) > row.deadline_at + GRACE:
        raise TimeUp(f"the time limit of attempt {attempt_id} passed; submit it to see the result")
    found = next(((i, v) for i, v in items_of(db, attempt_id) if i.slot == slot), None)
    if found is None:
        raise NotFound(f"attempt {attempt_id} has no question {slot}")
    item, version = found
    q = question_of(version, row.lang)
    value = _coerce(q, response)
    try:
        mark = grading.grade(q, value)
    except grading.ResponseError as exc:
        raise ValidationFailed(
            f"question {slot}: {exc}", fields=[{"field": f"q{slot}", "message": str(exc)}]
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
        raise Conflict(f"attempt {attempt_id} is already submitted")
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
        raise Conflict(f"attempt {attempt_id} is already submitted")
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
        raise NotFound(f"no attempt item {item_id}")
    row = db.get(Attempt, item.attempt_id)
    assert row is not None
    if row.state != "finished":
        raise Conflict("the attempt is still open")
    version = db.get(QuestionVersion, item.question_version_id)
    assert version is not None
    if version.kind != "essay":
        raise Conflict("only essays are graded by hand")
    try:
        mark = grading.rubric_mark(points, out_of, comment.strip())
    except grading.ResponseError as exc:
        raise ValidationFailed(str(exc), fields=[{"field": "points", "message": str(exc)}]) from exc
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


# --- reads --------------------------------------------------------------------------------------


def may_review(db: Session, viewer: User, user_id: int) -> bool:
    """The trainee, their mentor, trainers and admins may read an attempt or a run."""
    if viewer.id == user_id or can(viewer, "academy.teach"):
        return True
    return (
        db.scalar(
            select(Mentorship.id).where(
                Mentorship.mentor_id == viewer.id, Mentorship.trainee_id == user_id
            )
        )
        is not None
    )


def get_attempt(db: Session, *, viewer: User, attempt_id: int) -> Attempt:
    require(viewer, "academy.learn")
    row = db.get(Attempt, attempt_id)
    if row is None or not may_review(db, viewer, row.user_id):
        raise NotFound(f"no attempt {attempt_id}")
    return row


@dataclass(frozen=True)
class ItemView:
    item_id: int
    slot: int
    kind: str
    text: str
    options: list[tuple[int, str]]  # (original index, text) in the shown order
    lefts: list[str]  # matching: the items to match
    choices: list[str]  # matching: the choices in the shown order
    response: Any
    fraction: Decimal | None
    status: str
    feedback: list[str]
    general_feedback: str
    right: list[str]  # the right answers, for the review
    rubric: dict[str, Any]


def _right(q: gift.Question, lang: str) -> list[str]:
    if q.kind in ("single", "multiple", "short"):
        return [
            f"{a.text} ({a.weight}%)" if a.weight != HUNDRED else a.text
            for a in q.answers
            if a.weight > 0
        ]
    if q.kind == "truefalse":
        return ["TRUE" if q.truth else "FALSE"] if lang == "en" else ["对" if q.truth else "错"]
    if q.kind == "numeric":
        out = []
        for a in q.answers:
            if a.weight > 0:
                spec = f"{a.low}–{a.high}" if a.low is not None else f"{a.value} ± {a.tolerance}"
                out.append(spec if a.weight == HUNDRED else f"{spec} ({a.weight}%)")
        return out
    if q.kind == "matching":
        return [f"{a.text} → {a.match}" for a in q.answers if a.text]
    return []


def attempt_view(db: Session, *, viewer: User, attempt_id: int, review: bool) -> list[ItemView]:
    """The questions of an attempt as shown to the trainee; with ``review`` (only once
    submitted) the marks, feedback and right answers too."""
    row = get_attempt(db, viewer=viewer, attempt_id=attempt_id)
    if review and row.state != "finished":
        raise Conflict("an attempt is reviewed once it is submitted")
    if not review and row.user_id != viewer.id:
        raise Forbidden("only the trainee takes their attempt")
    out = []
    for item, version in items_of(db, row.id):
        q = question_of(version, row.lang)
        choices = _choices(q)
        out.append(
            ItemView(
                item_id=item.id,
                slot=item.slot,
                kind=q.kind,
                text=q.text + (f" ____ {q.text_after}" if q.text_after else ""),
                options=[(i, q.answers[i].text) for i in item.order]
                if q.kind in ("single", "multiple")
                else [],
                lefts=[a.text for a in q.answers if a.text] if q.kind == "matching" else [],
                choices=[choices[i] for i in item.order] if q.kind == "matching" else [],
                response=item.response,
                fraction=item.fraction if review else None,
                status=item.status if review else "",
                feedback=list(item.feedback) if review else [],
                general_feedback=q.general_feedback if review else "",
                right=_right(q, row.lang) if review else [],
                rubric=dict(item.rubric) if review else {},
            )
        )
    return out


def attempts_of(
    db: Session, *, viewer: User, user_id: int | None = None
) -> list[tuple[Attempt, Course]]:
    require(viewer, "academy.learn")
    uid = user_id or viewer.id
    if not may_review(db, viewer, uid):
        raise NotFound("no such trainee")
    stmt = (
        select(Attempt, Course)
        .join(Course, Course.id == Attempt.course_id)
        .where(Attempt.user_id == uid)
        .order_by(Attempt.started_at.desc())
    )
    return [(a, c) for a, c in db.execute(stmt)]


def pending_essays(
    db: Session, *, viewer: User
) -> list[tuple[AttemptItem, Attempt, QuestionVersion]]:
    require(viewer, "academy.teach")
    stmt = (
        select(AttemptItem, Attempt, QuestionVersion)
        .join(Attempt, Attempt.id == AttemptItem.attempt_id)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .where(AttemptItem.status == "pending", Attempt.state == "finished")
        .order_by(Attempt.finished_at)
    )
    return [(i, a, v) for i, a, v in db.execute(stmt)]


@dataclass(frozen=True)
class ItemRow:
    key: str
    kind: str
    category: str
    attempts: int
    facility: float
    discrimination: float | None


def item_statistics(
    db: Session, *, viewer: User, course: str
) -> tuple[list[ItemRow], itemstats.QuizStats]:
    """Facility and discrimination per question (all versions together) and the quiz's
    reliability over finished, fully graded attempts."""
    require(viewer, "academy.teach")
    c = get_course(db, course)
    stmt = (
        select(Attempt.id, AttemptItem.slot, AttemptItem.fraction, BankQuestion.id)
        .join(AttemptItem, AttemptItem.attempt_id == Attempt.id)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .join(BankQuestion, BankQuestion.id == QuestionVersion.question_id)
        .where(Attempt.course_id == c.id, Attempt.state == "finished", Attempt.pending == 0)
        .order_by(Attempt.id, AttemptItem.slot)
    )
    rows: dict[int, dict[Hashable, float]] = defaultdict(dict)
    slots: dict[int, list[float]] = defaultdict(list)
    for attempt_id, _slot, fraction, question_id in db.execute(stmt):
        value = float(fraction or 0)
        rows[attempt_id][question_id] = value
        slots[attempt_id].append(value)
    stats = itemstats.item_stats(list(rows.values()))
    width = max((len(s) for s in slots.values()), default=0)
    quiz = itemstats.quiz_stats([s for s in slots.values() if len(s) == width])
    questions = {
        q.id: q
        for q in db.scalars(
            select(BankQuestion).where(BankQuestion.id.in_([s.item for s in stats]))
        )
    }
    out = [
        ItemRow(
            key=questions[int(s.item)].key,  # type: ignore[call-overload]
            kind=questions[int(s.item)].kind,  # type: ignore[call-overload]
            category=questions[int(s.item)].category,  # type: ignore[call-overload]
            attempts=s.attempts,
            facility=s.facility,
            discrimination=s.discrimination,
        )
        for s in stats
    ]
    out.sort(key=lambda r: r.key)
    return out, quiz


def best_score(db: Session, *, user_id: int, course_id: int) -> Decimal | None:
    return db.scalar(
        select(func.max(Attempt.score)).where(
            Attempt.user_id == user_id,
            Attempt.course_id == course_id,
            Attempt.state == "finished",
            Attempt.pending == 0,
        )
    )
