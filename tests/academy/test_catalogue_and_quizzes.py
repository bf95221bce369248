"""The content sync, GIFT import/export through the database, and the quiz rules on a real
database: random draw per category, shuffled answers, the time limit and the attempt limit
enforced on the server, immediate grading, essays graded later, question versions keeping old
attempts valid, review, and item statistics."""

from __future__ import annotations

import random
from datetime import timedelta
from decimal import Decimal

import pytest
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.academy import catalogue, gift, quizzes
from kefu.academy.models import Attempt, BankQuestion, QuestionVersion
from kefu.core.audit import AuditEntry
from kefu.core.db import utcnow
from kefu.core.errors import Conflict, Forbidden, NotFound, ValidationFailed

from .conftest import FIXTURES, People


def test_sync_loads_everything_once_and_is_idempotent(academy: tuple[Session, People]) -> None:
    s, _ = academy
    assert [c.slug for c in catalogue.courses(s)] == ["fees-basics"]
    assert catalogue.list_banks(s) == [{"name": "fees-basics", "origin": "content", "questions": 8}]
    assert [p.slug for p, _ in catalogue.personas(s)] == ["deposit-missing"]
    entries = s.scalar(select(func.count(AuditEntry.id)))
    report = catalogue.sync(s, folder=FIXTURES)
    assert report.created == [] and report.updated == [] and report.unchanged > 0
    assert s.scalar(select(func.count(AuditEntry.id))) == entries


def test_a_lesson_renders_rules_and_help_centre_links(academy: tuple[Session, People]) -> None:
    s, _ = academy
    lesson = catalogue.get_lesson(s, "fees-basics", "01-stamp-duty")
    zh = catalogue.render_lesson(s, lesson, "zh")
    assert "0.05%" in zh["html"] and "{{rule" not in zh["html"]
    assert '<a href="/help/trading.fees">交易费用</a>' in zh["html"]
    en = catalogue.render_lesson(s, lesson, "en")
    assert en["title"] == "Stamp duty is charged on sells only"
    assert "charged on sells only" in en["html"]


def test_export_then_import_keeps_the_bank(academy: tuple[Session, People]) -> None:
    s, people = academy
    text = catalogue.export_gift(s, "fees-basics", "en")
    report = catalogue.import_gift(s, actor=people.trainer, text=text, bank="copy")
    assert len(report.created) == 9  # the bank and its 8 questions
    again = catalogue.export_gift(s, "copy", "en")
    assert gift.parse(again) == gift.parse(text)
    xml = catalogue.export_moodle(s, "copy", "en")
    assert xml.count('<question type="multichoice">') == 3


def test_import_refuses_bad_gift_naming_the_line(academy: tuple[Session, People]) -> None:
    s, people = academy
    with pytest.raises(ValidationFailed, match="line 3"):
        catalogue.import_gift(
            s, actor=people.trainer, text="::a::ok{=x ~y}\n\n::b::bad{=x", bank="b"
        )
    with pytest.raises(Forbidden):
        catalogue.import_gift(s, actor=people.trainee, text="::a::ok{=x ~y}", bank="b")


def _start(s: Session, people: People, seed: int = 1) -> Attempt:
    return quizzes.start_attempt(
        s, actor=people.trainee, course="fees-basics", lang="en", rng=random.Random(seed)
    )


def test_a_quiz_draws_per_category_and_shuffles_answers(academy: tuple[Session, People]) -> None:
    s, people = academy
    attempt = _start(s, people)
    items = quizzes.items_of(s, attempt.id)
    cats = sorted(
        s.get(BankQuestion, v.question_id).category  # type: ignore[union-attr]
        for _, v in items
    )
    assert cats == ["fees-basics/duty"] * 2 + ["fees-basics/service"] * 3
    view = quizzes.attempt_view(s, viewer=people.trainee, attempt_id=attempt.id, review=False)
    assert all(v.fraction is None and v.right == [] for v in view)  # nothing given away
    orders = {
        tuple(i.order)
        for seed in range(2, 12)
        for i, v in quizzes.items_of(s, attempt.id)
        if v.kind in ("single", "multiple")
    }
    assert orders  # choice questions carry a stored order
    shuffled = set()
    for seed in range(20):
        rng = random.Random(seed)
        shuffled.add(tuple(quizzes._order(gift.parse("::x::q{=a ~b ~c ~d}")[0], rng)))
    assert len(shuffled) > 5


def _answer_all_right(s: Session, people: People, attempt: Attempt) -> None:
    for item, version in quizzes.items_of(s, attempt.id):
        q = catalogue.question_of(version, "en")
        response: object = {
            "single": 0,
            "multiple": [0, 1],
            "truefalse": True,
            "short": "star market",
            "numeric": "50",
            "matching": {a.text: a.match for a in q.answers},
            "essay": "Because returns are never certain.",
        }[q.kind]
        if q.kind == "single":
            response = next(i for i, a in enumerate(q.answers) if a.weight == 100)
        quizzes.answer(
            s, actor=people.trainee, attempt_id=attempt.id, slot=item.slot, response=response
        )


def test_grading_on_submit_and_review(academy: tuple[Session, People]) -> None:
    s, people = academy
    attempt = _start(s, people, seed=3)
    _answer_all_right(s, people, attempt)
    quizzes.finish_attempt(s, actor=people.trainee, attempt_id=attempt.id)
    view = quizzes.attempt_view(s, viewer=people.trainee, attempt_id=attempt.id, review=True)
    essays = [v for v in view if v.kind == "essay"]
    graded = [v for v in view if v.kind != "essay"]
    assert all(v.fraction == 1 for v in graded)
    if essays:
        assert attempt.passed is None and attempt.pending == 1
        quizzes.grade_essay(
            s, actor=people.trainer, item_id=essays[0].item_id, points=Decimal(3), out_of=Decimal(4)
        )
        assert attempt.pending == 0
        assert attempt.score == Decimal("95.00")
    else:
        assert attempt.score == Decimal("100.00")
    assert attempt.passed is True
    # another agent cannot read it
    with pytest.raises(NotFound):
        quizzes.attempt_view(s, viewer=people.agent, attempt_id=attempt.id, review=True)


def test_the_server_enforces_the_time_limit(academy: tuple[Session, People]) -> None:
    s, people = academy
    attempt = _start(s, people)
    late = attempt.deadline_at + timedelta(seconds=6)
    with pytest.raises(quizzes.TimeUp):
        quizzes.answer(
            s, actor=people.trainee, attempt_id=attempt.id, slot=1, response="1", now=late
        )
    quizzes.finish_attempt(s, actor=people.trainee, attempt_id=attempt.id, now=late)
    assert attempt.timed_out and attempt.score == 0 and attempt.passed is False
    assert attempt.finished_at == attempt.deadline_at + quizzes.GRACE


def test_the_server_enforces_the_attempt_limit(academy: tuple[Session, People]) -> None:
    s, people = academy
    first = _start(s, people)
    assert _start(s, people).id == first.id  # an open attempt resumes
    quizzes.finish_attempt(s, actor=people.trainee, attempt_id=first.id)
    second = _start(s, people)
    quizzes.finish_attempt(s, actor=people.trainee, attempt_id=second.id)
    with pytest.raises(Conflict, match="2 of 2 used"):
        _start(s, people)
    # an open attempt left past its deadline is closed when the trainee comes back
    other = quizzes.start_attempt(
        s, actor=people.agent, course="fees-basics", now=utcnow() - timedelta(hours=1)
    )
    again = quizzes.start_attempt(s, actor=people.agent, course="fees-basics")
    assert other.state == "finished" and other.timed_out and again.id != other.id


def test_editing_a_question_keeps_old_attempts_valid(academy: tuple[Session, People]) -> None:
    s, people = academy
    attempt = _start(s, people)
    _answer_all_right(s, people, attempt)
    quizzes.finish_attempt(s, actor=people.trainee, attempt_id=attempt.id)
    before = [
        (v.text, v.fraction)
        for v in quizzes.attempt_view(s, viewer=people.trainee, attempt_id=attempt.id, review=True)
    ]
    catalogue.edit_question(
        s,
        actor=people.trainer,
        bank="fees-basics",
        key="Q-fees-001",
        gift_zh="谁缴纳印花税？{~买方 =卖方}",
        gift_en="Who pays the stamp duty now?{~the buyer =the seller}",
    )
    row = s.scalar(select(BankQuestion).where(BankQuestion.key == "Q-fees-001"))
    assert row is not None and row.version == 2
    assert (
        s.scalar(
            select(func.count(QuestionVersion.id)).where(QuestionVersion.question_id == row.id)
        )
        == 2
    )
    after = [
        (v.text, v.fraction)
        for v in quizzes.attempt_view(s, viewer=people.trainee, attempt_id=attempt.id, review=True)
    ]
    assert after == before
    # a content sync keeps the trainer's edit
    report = catalogue.sync(s, folder=FIXTURES)
    assert report.kept_console_edits == ["fees-basics/Q-fees-001"]


def test_item_statistics_for_trainers(academy: tuple[Session, People]) -> None:
    s, people = academy
    for user in (people.trainee, people.agent, people.mentor):
        a = quizzes.start_attempt(s, actor=user, course="fees-basics", rng=random.Random(7))
        if user is not people.mentor:
            _answer_all_right(s, People(people.trainer, user, user, user, user), a)
        quizzes.finish_attempt(s, actor=user, attempt_id=a.id)
        for item, v in quizzes.items_of(s, a.id):
            if v.kind == "essay":
                quizzes.grade_essay(
                    s, actor=people.trainer, item_id=item.id, points=Decimal(0), out_of=Decimal(4)
                )
    rows, quiz = quizzes.item_statistics(s, viewer=people.trainer, course="fees-basics")
    assert quiz.attempts == 3 and quiz.slots == 5
    assert all(r.attempts == 3 for r in rows)
    non_essay = [r for r in rows if r.kind != "essay"]
    assert all(r.facility == pytest.approx(200 / 3) for r in non_essay)
    with pytest.raises(Forbidden):
        quizzes.item_statistics(s, viewer=people.trainee, course="fees-basics")
