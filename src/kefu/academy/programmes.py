"""Programmes (onboarding, the annual compliance refresh): sequences of lessons, courses,
quizzes and role-plays with pass marks and a deadline. Completing every step issues a
certificate with a verification code; a certificate expires and its holder is enrolled again
(re-assessment). Progress per trainee and cohort. Mentoring (trainers assign mentors; mentors
comment on role-play runs and essays) is in ``mentoring.py``, re-exported here."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.academy.audit import AcademyAudit
from kefu.academy.catalogue import get_course, get_lesson, lessons_of
from kefu.academy.mentoring import assign_mentor as assign_mentor
from kefu.academy.mentoring import comment as comment
from kefu.academy.mentoring import comments_on as comments_on
from kefu.academy.mentoring import mentees as mentees
from kefu.academy.mentoring import mentor_candidates as mentor_candidates
from kefu.academy.mentoring import mentor_of as mentor_of
from kefu.academy.models import (
    Attempt,
    Certificate,
    Course,
    Enrolment,
    LessonDone,
    Programme,
    RoleplayRun,
)
from kefu.academy.quizzes import may_review
from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.db import utcnow
from kefu.core.errors import NotFound
from kefu.core.security import Role, User, can, require

_CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I


def get_programme(db: Session, slug: str) -> Programme:
    row = db.scalar(select(Programme).where(Programme.slug == slug))
    if row is None:
        raise NotFound(key="academy.errors.programme_missing", params={"slug": repr(slug)})
    return row


def programmes(db: Session) -> list[Programme]:
    return list(db.scalars(select(Programme).order_by(Programme.slug)))


# --- lessons read ---------------------------------------------------------------------------------


@action
def mark_lesson_done(db: Session, *, actor: User, course: str, lesson: str) -> LessonDone:
    require(actor, "academy.learn")
    row = get_lesson(db, course, lesson)
    done = db.scalar(
        select(LessonDone).where(LessonDone.lesson_id == row.id, LessonDone.user_id == actor.id)
    )
    if done is not None and done.version == row.version:
        unchanged(db)
        return done
    if done is None:
        done = LessonDone(lesson_id=row.id, user_id=actor.id, version=row.version)
        db.add(done)
    done.version, done.at = row.version, utcnow()
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=AcademyAudit.lesson_done,
        entity="academy_lesson",
        entity_id=row.id,
        data={"course": course, "lesson": lesson, "version": row.version},
    )
    check_completion(db, user=actor)
    return done


def lessons_done(db: Session, user_id: int) -> dict[int, datetime]:
    return {
        lesson_id: at
        for lesson_id, at in db.execute(
            select(LessonDone.lesson_id, LessonDone.at).where(LessonDone.user_id == user_id)
        )
    }


# --- step status ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class StepStatus:
    kind: str
    ref: str
    pass_mark: int | None
    done: bool
    detail: str  # e.g. "85.00 %" or "resolved"
    evidence: dict[str, Any]


def _best_attempt(db: Session, user_id: int, course: Course, since: datetime) -> Attempt | None:
    return db.scalar(
        select(Attempt)
        .where(
            Attempt.user_id == user_id,
            Attempt.course_id == course.id,
            Attempt.state == "finished",
            Attempt.pending == 0,
            Attempt.started_at >= since,
        )
        .order_by(Attempt.score.desc())
        .limit(1)
    )


def step_status(db: Session, user_id: int, step: dict[str, Any], since: datetime) -> StepStatus:
    kind, ref = step["kind"], step["ref"]
    mark = step.get("pass_mark")
    if kind == "lesson":
        course, _, slug = ref.partition("/")
        lesson = get_lesson(db, course, slug)
        done = db.scalar(
            select(LessonDone.at).where(
                LessonDone.lesson_id == lesson.id, LessonDone.user_id == user_id
            )
        )
        ok = done is not None and done >= since
        return StepStatus(kind, ref, None, ok, "", {"lesson": ref} if ok else {})
    if kind in ("quiz", "course"):
        course = get_course(db, ref)
        needed = mark if mark is not None else int(course.data["pass_mark"])
        best = _best_attempt(db, user_id, course, since)
        quiz_ok = best is not None and best.score is not None and best.score >= Decimal(needed)
        detail = f"{best.score} %" if best is not None else ""
        lessons_ok = True
        if kind == "course":
            read = lessons_done(db, user_id)
            lessons_ok = all(
                read.get(x.id, since - timedelta(1)) >= since for x in lessons_of(db, course.id)
            )
        ok = quiz_ok and lessons_ok
        evidence = (
            {"course": ref, "attempt": best.id, "score": str(best.score)} if ok and best else {}
        )
        return StepStatus(kind, ref, needed, ok, detail, evidence)
    if kind == "roleplay":
        run = db.scalar(
            select(RoleplayRun)
            .where(
                RoleplayRun.user_id == user_id,
                RoleplayRun.slug == ref,
                RoleplayRun.passed.is_(True),
                RoleplayRun.started_at >= since,
            )
            .limit(1)
        )
        ok = run is not None
        evidence = {"persona": ref, "run": run.id, "score": run.result.get("score")} if run else {}
        return StepStatus(kind, ref, mark, ok, run.outcome if run else "", evidence)
    raise ValueError(f"unknown step kind {kind!r}")


def current_enrolment(db: Session, user_id: int, programme_id: int) -> Enrolment | None:
    return db.scalar(
        select(Enrolment)
        .where(Enrolment.user_id == user_id, Enrolment.programme_id == programme_id)
        .order_by(Enrolment.round.desc())
        .limit(1)
    )


@dataclass(frozen=True)
class Progress:
    programme: Programme
    enrolment: Enrolment | None
    steps: list[StepStatus]
    certificate: Certificate | None

    @property
    def done(self) -> int:
        return sum(1 for s in self.steps if s.done)

    @property
    def complete(self) -> bool:
        return bool(self.steps) and self.done == len(self.steps)


def progress(db: Session, *, user_id: int, programme: Programme) -> Progress:
    enrolment = current_enrolment(db, user_id, programme.id)
    if enrolment is None:
        return Progress(programme, None, [], None)
    steps = [step_status(db, user_id, s, enrolment.assigned_at) for s in programme.data["steps"]]
    cert = db.scalar(select(Certificate).where(Certificate.enrolment_id == enrolment.id))
    return Progress(programme, enrolment, steps, cert)


def my_progress(db: Session, *, viewer: User) -> list[Progress]:
    require(viewer, "academy.learn")
    return [progress(db, user_id=viewer.id, programme=p) for p in programmes(db)]


# --- enrolment and certificates -------------------------------------------------------------------


def _enrol(
    db: Session,
    user: User,
    programme: Programme,
    *,
    actor_id: int | None,
    now: datetime,
    round_: int,
) -> Enrolment:
    row = Enrolment(
        programme_id=programme.id,
        user_id=user.id,
        round=round_,
        assigned_at=now,
        due_at=now + timedelta(days=int(programme.data["deadline_days"])),
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor_id=actor_id,
        action=AcademyAudit.enrol,
        entity="academy_enrolment",
        entity_id=row.id,
        data={"programme": programme.slug, "user": user.id, "round": round_},
    )
    return row


@action
def enrol(
    db: Session,
    *,
    actor: User,
    programme: str,
    user_id: int | None = None,
    now: datetime | None = None,
) -> Enrolment:
    """Enrols ``user_id`` (a trainer's choice) or the actor themself; an open enrolment is
    returned as it is."""
    require(actor, "academy.learn")
    target = actor
    if user_id is not None and user_id != actor.id:
        require(actor, "academy.teach")
        found = db.get(User, user_id)
        if found is None or found.role not in (Role.agent, Role.supervisor):
            raise NotFound(key="academy.errors.agent_missing", params={"id": user_id})
        target = found
    prog = get_programme(db, programme)
    current = current_enrolment(db, target.id, prog.id)
    if current is not None:
        cert = db.scalar(select(Certificate).where(Certificate.enrolment_id == current.id))
        at = now or utcnow()
        if cert is None or cert.expires_at > at:
            unchanged(db)
            return current
    round_ = current.round + 1 if current is not None else 1
    return _enrol(db, target, prog, actor_id=actor.id, now=now or utcnow(), round_=round_)


@action
def enrol_audiences(
    db: Session, *, actor_id: int | None = None, now: datetime | None = None
) -> list[Enrolment]:
    """Enrols each programme's audience (``trainees``: agents with is_trainee; ``agents``: every
    active agent) who has no enrolment yet; run by ``kefu content sync`` and
    ``kefu academy reassess``. Expired certificates are ``reassess_expired``'s."""
    at = now or utcnow()
    out = []
    agents = list(db.scalars(select(User).where(User.role == Role.agent, User.is_active)))
    for prog in programmes(db):
        audience = prog.data.get("audience", "trainees")
        for user in agents:
            if audience == "trainees" and not user.is_trainee:
                continue
            if current_enrolment(db, user.id, prog.id) is None:
                out.append(_enrol(db, user, prog, actor_id=actor_id, now=at, round_=1))
    if not out:
        unchanged(db)
    return out


def new_code() -> str:
    raw = "".join(secrets.choice(_CODE_ALPHABET) for _ in range(12))
    return f"{raw[:4]}-{raw[4:8]}-{raw[8:]}"


def check_completion(db: Session, *, user: User, now: datetime | None = None) -> list[Certificate]:
    """Issues a certificate for every programme whose steps are now all done (runs inside the
    action that completed the last step; its entry is that action's)."""
    issued = []
    at = now or utcnow()
    for prog in programmes(db):
        p = progress(db, user_id=user.id, programme=prog)
        if p.enrolment is None or p.certificate is not None or not p.complete:
            continue
        cert = Certificate(
            code=new_code(),
            user_id=user.id,
            programme_id=prog.id,
            enrolment_id=p.enrolment.id,
            holder=user.display_name or user.username,
            issued_at=at,
            expires_at=at + timedelta(days=int(prog.data["valid_days"])),
            evidence=[{"kind": s.kind, "ref": s.ref, **s.evidence} for s in p.steps],
        )
        db.add(cert)
        p.enrolment.completed_at = at
        db.flush()
        audit.record(
            db,
            actor_id=user.id,
            action=AcademyAudit.certificate_issue,
            entity="academy_certificate",
            entity_id=cert.id,
            data={
                "programme": prog.slug,
                "code": cert.code,
                "expires": cert.expires_at.isoformat(),
            },
        )
        issued.append(cert)
    return issued


@action
def reassess_expired(
    db: Session, *, actor_id: int | None = None, now: datetime | None = None
) -> list[Enrolment]:
    """Every certificate that has expired enrols its holder again (a new round with a new
    deadline); run daily (``kefu academy reassess``)."""
    at = now or utcnow()
    out = []
    for cert in db.scalars(select(Certificate).where(Certificate.expires_at <= at)):
        prog = db.get(Programme, cert.programme_id)
        user = db.get(User, cert.user_id)
        assert prog is not None and user is not None
        current = current_enrolment(db, user.id, prog.id)
        if current is None or current.id != cert.enrolment_id or not user.is_active:
            continue
        out.append(_enrol(db, user, prog, actor_id=actor_id, now=at, round_=current.round + 1))
    if not out:
        unchanged(db)
    return out


def certificate_by_code(db: Session, code: str) -> tuple[Certificate, Programme] | None:
    """The public verification: anyone holding the code may check it."""
    cert = db.scalar(select(Certificate).where(Certificate.code == code.strip().upper()))
    if cert is None:
        return None
    prog = db.get(Programme, cert.programme_id)
    assert prog is not None
    return cert, prog


def get_certificate(
    db: Session, *, viewer: User, certificate_id: int
) -> tuple[Certificate, Programme]:
    require(viewer, "academy.learn")
    cert = db.get(Certificate, certificate_id)
    if cert is None or not may_review(db, viewer, cert.user_id):
        raise NotFound(key="academy.errors.certificate_missing", params={"id": certificate_id})
    prog = db.get(Programme, cert.programme_id)
    assert prog is not None
    return cert, prog


def certificates_of(db: Session, user_id: int) -> list[tuple[Certificate, Programme]]:
    return [
        (c, p)
        for c, p in db.execute(
            select(Certificate, Programme)
            .join(Programme, Programme.id == Certificate.programme_id)
            .where(Certificate.user_id == user_id)
            .order_by(Certificate.issued_at.desc())
        )
    ]


# --- progress per trainee and cohort ------------------------------------------------------------


@dataclass(frozen=True)
class TraineeRow:
    user: User
    mentor: User | None
    programmes: list[Progress]
    lessons_read: int
    attempts: int
    best_scores: dict[str, Decimal]
    runs_passed: int


def trainees(db: Session, *, viewer: User) -> list[TraineeRow]:
    """Progress per trainee (and so per cohort): trainers and supervisors see every agent who
    is a trainee; a mentor sees their mentees."""
    require(viewer, "academy.learn")
    if can(viewer, "academy.progress"):
        users = list(
            db.scalars(select(User).where(User.is_trainee, User.is_active).order_by(User.username))
        )
    else:
        users = mentees(db, viewer=viewer)
    progs = programmes(db)
    out = []
    for u in users:
        best = {
            slug: score
            for slug, score in db.execute(
                select(Course.slug, func.max(Attempt.score))
                .join(Attempt, Attempt.course_id == Course.id)
                .where(Attempt.user_id == u.id, Attempt.state == "finished")
                .group_by(Course.slug)
            )
            if score is not None
        }
        out.append(
            TraineeRow(
                user=u,
                mentor=mentor_of(db, u.id),
                programmes=[progress(db, user_id=u.id, programme=p) for p in progs],
                lessons_read=len(lessons_done(db, u.id)),
                attempts=int(
                    db.scalar(select(func.count(Attempt.id)).where(Attempt.user_id == u.id)) or 0
                ),
                best_scores=best,
                runs_passed=int(
                    db.scalar(
                        select(func.count(RoleplayRun.id)).where(
                            RoleplayRun.user_id == u.id, RoleplayRun.passed.is_(True)
                        )
                    )
                    or 0
                ),
            )
        )
    return out


def cohort_summary(rows: list[TraineeRow]) -> list[dict[str, Any]]:
    """Per programme: enrolled, certified, overdue (plain figures for the cohort table)."""
    by: dict[str, dict[str, Any]] = {}
    now = utcnow()
    for r in rows:
        for p in r.programmes:
            s = by.setdefault(
                p.programme.slug,
                {
                    "programme": p.programme,
                    "enrolled": 0,
                    "certified": 0,
                    "overdue": 0,
                    "steps_done": 0,
                    "steps": 0,
                },
            )
            if p.enrolment is None:
                continue
            s["enrolled"] += 1
            s["certified"] += 1 if p.certificate is not None else 0
            s["overdue"] += 1 if p.certificate is None and p.enrolment.due_at < now else 0
            s["steps_done"] += p.done
            s["steps"] += len(p.steps)
    return list(by.values())
