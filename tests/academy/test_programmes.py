"""Role-play runs stored and replayed, the onboarding programme end to end on a real database
(lesson, quiz, role-play → certificate with a verification code), expiry and re-assessment,
mentors and their comments."""

from __future__ import annotations

import random
from datetime import timedelta

import pytest
from sqlalchemy.orm import Session

from kefu.academy import programmes, quizzes, roleplays
from kefu.academy.roleplay import Persona, Run, Screen
from kefu.academy.roleplays import Scored
from kefu.core.errors import Conflict, Forbidden, ValidationFailed

from .conftest import People
from .test_catalogue_and_quizzes import _answer_all_right
from .test_roleplay import GOOD, classify, screen


class FixtureJudge:
    """The explicit test judge (the service composes the guard and the QA scorer)."""

    def signals(self, text: str, lang: str) -> frozenset[str]:
        return classify(text)

    def screen(self, text: str) -> Screen:
        return screen(text)

    def scorecard(self, run: Run, persona: Persona) -> Scored | None:
        return Scored(score=80.0, passed=True, auto_fail=False, sections={"opening": 100.0})


JUDGE = FixtureJudge()


def _play(s: Session, user: object, replies: list[str]) -> object:
    run = roleplays.start_run(s, actor=user, persona="deposit-missing", lang="en")  # type: ignore[arg-type]
    for r in replies:
        run = roleplays.send_reply(s, actor=user, run_id=run.id, text=r, judge=JUDGE)  # type: ignore[arg-type]
    return run


def test_a_run_is_stored_as_replies_and_debriefed(academy: tuple[Session, People]) -> None:
    s, people = academy
    run = _play(s, people.trainee, GOOD)
    assert run.outcome == "resolved" and run.passed is True  # type: ignore[attr-defined]
    result = run.result  # type: ignore[attr-defined]
    assert result["score"] == 80.0 and result["persona"] == "deposit-missing"
    assert [t["role"] for t in result["transcript"]] == ["customer", "agent"] * 2 + ["customer"]
    assert result["model_answers"][0]["model_answer"].startswith("I understand")
    with pytest.raises(Conflict, match="is over"):
        roleplays.send_reply(s, actor=people.trainee, run_id=run.id, text="more", judge=JUDGE)  # type: ignore[attr-defined]
    with pytest.raises(ValidationFailed):
        roleplays.send_reply(
            s, actor=people.trainee, run_id=_play(s, people.trainee, []).id, text="  ", judge=JUDGE
        )  # type: ignore[attr-defined]


def test_a_promise_fails_the_stored_run(academy: tuple[Session, People]) -> None:
    s, people = academy
    run = _play(s, people.trainee, [GOOD[0], "I guarantee it. I will open a trace request."])
    assert run.passed is False and run.guard_failed  # type: ignore[attr-defined]
    assert run.result["findings"][0]["category"] == "promise"  # type: ignore[attr-defined]


def test_onboarding_issues_a_certificate_that_expires_into_reassessment(
    academy: tuple[Session, People],
) -> None:
    s, people = academy
    t = people.trainee
    enrolment = programmes.enrol(s, actor=t, programme="onboarding")
    prog = programmes.get_programme(s, "onboarding")
    assert programmes.progress(s, user_id=t.id, programme=prog).done == 0
    programmes.mark_lesson_done(s, actor=t, course="fees-basics", lesson="01-stamp-duty")
    attempt = quizzes.start_attempt(s, actor=t, course="fees-basics", rng=random.Random(4))
    _answer_all_right(s, people, attempt)
    quizzes.finish_attempt(s, actor=t, attempt_id=attempt.id)
    for item, v in quizzes.items_of(s, attempt.id):
        if v.kind == "essay":
            from decimal import Decimal

            quizzes.grade_essay(
                s, actor=people.trainer, item_id=item.id, points=Decimal(4), out_of=Decimal(4)
            )
    p = programmes.progress(s, user_id=t.id, programme=prog)
    assert [x.done for x in p.steps] == [True, True, False] and p.certificate is None
    _play(s, t, GOOD)
    p = programmes.progress(s, user_id=t.id, programme=prog)
    assert p.complete and p.certificate is not None
    cert = p.certificate
    assert cert.holder == "小新"
    assert (cert.expires_at - cert.issued_at).days == 365
    found = programmes.certificate_by_code(s, cert.code.lower())
    assert found is not None and found[0].id == cert.id
    assert programmes.certificate_by_code(s, "AAAA-BBBB-CCCC") is None
    # a year later the certificate has expired: re-assessment enrols the trainee again
    later = cert.expires_at + timedelta(days=1)
    assert programmes.reassess_expired(s, now=later)[0].round == 2
    again = programmes.progress(s, user_id=t.id, programme=prog)
    assert again.enrolment is not None and again.enrolment.id != enrolment.id
    assert again.done == 0 and again.certificate is None  # the old steps do not count again
    assert programmes.reassess_expired(s, now=later) == []  # idempotent


def test_mentors_comment_on_their_trainees_runs(academy: tuple[Session, People]) -> None:
    s, people = academy
    run = _play(s, people.trainee, GOOD)
    with pytest.raises(Forbidden):
        programmes.assign_mentor(
            s, actor=people.mentor, trainee_id=people.trainee.id, mentor_id=people.mentor.id
        )
    with pytest.raises(Forbidden):
        programmes.comment(s, actor=people.mentor, target="run", target_id=run.id, body="Good.")  # type: ignore[attr-defined]
    programmes.assign_mentor(
        s, actor=people.trainer, trainee_id=people.trainee.id, mentor_id=people.mentor.id
    )
    c = programmes.comment(
        s, actor=people.mentor, target="run", target_id=run.id, body="Ask the time first."
    )  # type: ignore[attr-defined]
    assert programmes.comments_on(s, "run", [run.id])[run.id][0][0].id == c.id  # type: ignore[attr-defined]
    assert [u.id for u in programmes.mentees(s, viewer=people.mentor)] == [people.trainee.id]
    rows = programmes.trainees(s, viewer=people.supervisor)
    assert [r.user.id for r in rows] == [people.trainee.id]
    assert rows[0].mentor is not None and rows[0].runs_passed == 1
    with pytest.raises(ValidationFailed):
        programmes.assign_mentor(
            s, actor=people.trainer, trainee_id=people.trainee.id, mentor_id=people.trainee.id
        )


def test_each_programme_enrols_its_audience(academy: tuple[Session, People]) -> None:
    s, people = academy
    created = programmes.enrol_audiences(s)
    # onboarding (trainees) enrols the trainee only; the fixture has no agents' programme
    assert [(e.user_id, e.round) for e in created] == [(people.trainee.id, 1)]
    assert programmes.enrol_audiences(s) == []
