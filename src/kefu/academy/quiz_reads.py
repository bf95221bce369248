"""Reads of quiz attempts: who may review an attempt, an attempt's questions as shown to the
trainee (and, once submitted, with marks, feedback and the right answers), a trainee's
attempts, the essays waiting for a trainer, and item statistics for trainers."""

from collections import defaultdict
from collections.abc import Hashable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.academy import gift, itemstats
from kefu.academy.catalogue import get_course, question_of
from kefu.academy.models import (
    Attempt,
    AttemptItem,
    BankQuestion,
    Course,
    Mentorship,
    QuestionVersion,
)
from kefu.core.errors import Conflict, Forbidden, NotFound
from kefu.core.security import User, can, require

HUNDRED = Decimal(100)


def _choices(q: gift.Question) -> list[str]:
    seen: list[str] = []
    for a in q.answers:
        if a.match is not None and a.match not in seen:
            seen.append(a.match)
    return seen


def items_of(db: Session, attempt_id: int) -> list[tuple[AttemptItem, QuestionVersion]]:
    stmt = (
        select(AttemptItem, QuestionVersion)
        .join(QuestionVersion, QuestionVersion.id == AttemptItem.question_version_id)
        .where(AttemptItem.attempt_id == attempt_id)
        .order_by(AttemptItem.slot)
    )
    return [(i, v) for i, v in db.execute(stmt)]


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
        raise NotFound(key="academy.errors.attempt_missing", params={"id": attempt_id})
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
        raise Conflict(key="academy.errors.review_after_submit")
    if not review and row.user_id != viewer.id:
        raise Forbidden(key="academy.errors.own_attempt")
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
        raise NotFound(key="academy.errors.trainee_unknown")
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
