"""The academy part of `kefu demo`: the shipped academy content, a mentor for every demo
trainee and some progress (lessons read, quiz attempts, role-play runs), all through the
academy's actions so the audit trail reads like real use. Idempotent: a trainee who already
has progress is left as they are."""

from __future__ import annotations

import random
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.academy import catalogue, gift, programmes, quizzes, roleplays
from kefu.academy.models import Attempt, Course, LessonDone, RoleplayRun
from kefu.core.security import User


def right_response(q: gift.Question) -> Any:
    """A response that earns full marks (used by the demo to play a good trainee)."""
    if q.kind == "single":
        return max(range(len(q.answers)), key=lambda i: q.answers[i].weight)
    if q.kind == "multiple":
        return [i for i, a in enumerate(q.answers) if a.weight > 0]
    if q.kind == "truefalse":
        return q.truth
    if q.kind == "short":
        return max(q.answers, key=lambda a: a.weight).text
    if q.kind == "numeric":
        a = max(q.answers, key=lambda x: x.weight)
        return str(a.low if a.low is not None else a.value)
    if q.kind == "matching":
        return {a.text: a.match for a in q.answers if a.text}
    return "以客户的利益为先，说明规则，不作任何收益承诺。"


def wrong_response(q: gift.Question) -> Any:
    if q.kind == "single":
        return min(range(len(q.answers)), key=lambda i: q.answers[i].weight)
    if q.kind == "multiple":
        return [min(range(len(q.answers)), key=lambda i: q.answers[i].weight)]
    if q.kind == "truefalse":
        return not q.truth
    if q.kind in ("short", "numeric"):
        return "0"
    if q.kind == "matching":
        return {}
    return "不清楚。"


def load_demo(db: Session, demo: Path) -> int:
    """Returns how many trainees got demo progress."""
    path = demo / "academy.yaml"
    if not path.is_file():
        return 0
    if not db.scalar(select(func.count(Course.id))):
        catalogue.sync(db)
    spec = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    trainer = db.scalar(select(User).where(User.role == "trainer"))
    mentor = db.scalar(select(User).where(User.username == spec.get("mentor", "")))
    from kefu.academy.judge import default_judge

    judge = default_judge()
    done = 0
    for user in db.scalars(select(User).where(User.is_trainee, User.is_active).order_by(User.id)):
        if trainer is not None and mentor is not None and programmes.mentor_of(db, user.id) is None:
            programmes.assign_mentor(db, actor=trainer, trainee_id=user.id, mentor_id=mentor.id)
        if db.scalar(
            select(func.count(LessonDone.id)).where(LessonDone.user_id == user.id)
        ) or db.scalar(select(func.count(RoleplayRun.id)).where(RoleplayRun.user_id == user.id)):
            continue
        plan = (spec.get("trainees") or {}).get(user.username) or spec.get("default") or {}
        for slug in plan.get("programmes", []):
            programmes.enrol(db, actor=user, programme=slug)
        for ref in plan.get("lessons", []):
            course, _, lesson = ref.partition("/")
            programmes.mark_lesson_done(db, actor=user, course=course, lesson=lesson)
        for q in plan.get("quizzes", []):
            attempt = quizzes.start_attempt(
                db, actor=user, course=q["course"], rng=random.Random(int(q.get("seed", 1)))
            )
            _answer(db, user, attempt, Decimal(str(q.get("right", 1))))
            quizzes.finish_attempt(db, actor=user, attempt_id=attempt.id)
            for item, version in quizzes.items_of(db, attempt.id):
                if version.kind == "essay" and trainer is not None:
                    quizzes.grade_essay(
                        db, actor=trainer, item_id=item.id, points=Decimal(3), out_of=Decimal(4),
                        comment="说明了规则，语气再温和一些。",
                    )  # fmt: skip
        for r in plan.get("roleplays", []):
            run = roleplays.start_run(
                db, actor=user, persona=r["persona"], lang=r.get("lang", "zh")
            )
            for text in r.get("replies", []):
                if run.outcome != "in_progress":
                    break
                run = roleplays.send_reply(db, actor=user, run_id=run.id, text=text, judge=judge)
        done += 1
    return done


def _answer(db: Session, user: User, attempt: Attempt, right: Decimal) -> None:
    items = quizzes.items_of(db, attempt.id)
    good = int(len(items) * right)
    for n, (item, version) in enumerate(items):
        q = catalogue.question_of(version, attempt.lang)
        value = right_response(q) if n < good else wrong_response(q)
        if value in ({}, []):
            continue
        quizzes.answer(db, actor=user, attempt_id=attempt.id, slot=item.slot, response=value)
