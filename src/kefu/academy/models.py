"""The academy's tables: question banks with question versions, courses and lessons with
versions, quiz attempts, role-play runs, programmes, certificates, mentoring and the
product-knowledge updates. A row that an attempt or a run points at is never rewritten: an edit
makes a new version, so old attempts stay valid."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Any

from sqlalchemy import (
    JSON,
    Boolean,
    ForeignKey,
    Index,
    Integer,
    Numeric,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.orm import Mapped, mapped_column

from kefu.core.db import Base, UTCDateTime, utcnow

ORIGINS = ("content", "console", "import")


class Bank(Base):
    __tablename__ = "academy_banks"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(80), unique=True)
    origin: Mapped[str] = mapped_column(String(8), default="content")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class BankQuestion(Base):
    """A question of a bank, identified by its GIFT title; its text lives in versions."""

    __tablename__ = "academy_questions"
    __table_args__ = (UniqueConstraint("bank_id", "key", name="uq_academy_question_key"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    bank_id: Mapped[int] = mapped_column(ForeignKey("academy_banks.id", ondelete="CASCADE"))
    key: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    category: Mapped[str] = mapped_column(String(200), default="")
    kind: Mapped[str] = mapped_column(String(12))
    version: Mapped[int] = mapped_column(Integer, default=1)
    current_id: Mapped[int | None] = mapped_column(Integer, nullable=True)
    retired: Mapped[bool] = mapped_column(Boolean, default=False)


class QuestionVersion(Base):
    """One version of a question in both languages (``gift`` holds each as GIFT text)."""

    __tablename__ = "academy_question_versions"
    __table_args__ = (UniqueConstraint("question_id", "version", name="uq_academy_qversion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    question_id: Mapped[int] = mapped_column(
        ForeignKey("academy_questions.id", ondelete="CASCADE"), index=True
    )
    version: Mapped[int] = mapped_column(Integer)
    kind: Mapped[str] = mapped_column(String(12))
    gift_zh: Mapped[str] = mapped_column(Text)
    gift_en: Mapped[str] = mapped_column(Text)
    content_hash: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Course(Base):
    __tablename__ = "academy_courses"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    bank_id: Mapped[int | None] = mapped_column(ForeignKey("academy_banks.id"), nullable=True)
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    origin: Mapped[str] = mapped_column(String(8), default="content")
    #: title, summary, audience ({zh, en}), minutes, pass_mark, quiz {questions, minutes,
    #: attempts, per_category}
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class CourseVersion(Base):
    __tablename__ = "academy_course_versions"
    __table_args__ = (UniqueConstraint("course_id", "version", name="uq_academy_cversion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("academy_courses.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class Lesson(Base):
    __tablename__ = "academy_lessons"
    __table_args__ = (UniqueConstraint("course_id", "slug", name="uq_academy_lesson_slug"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("academy_courses.id", ondelete="CASCADE"))
    slug: Mapped[str] = mapped_column(String(120))
    position: Mapped[int] = mapped_column(Integer, default=0)
    version: Mapped[int] = mapped_column(Integer, default=1)
    content_hash: Mapped[str] = mapped_column(String(64), default="")
    origin: Mapped[str] = mapped_column(String(8), default="content")
    retired: Mapped[bool] = mapped_column(Boolean, default=False)
    #: title {zh, en}, minutes, kb [slugs], objectives {zh: [], en: []}, body_zh, body_en
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class LessonVersion(Base):
    __tablename__ = "academy_lesson_versions"
    __table_args__ = (UniqueConstraint("lesson_id", "version", name="uq_academy_lversion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("academy_lessons.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    snapshot: Mapped[dict[str, Any]] = mapped_column(JSON)
    note: Mapped[str] = mapped_column(String(200), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    author_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)


class LessonDone(Base):
    __tablename__ = "academy_lesson_done"
    __table_args__ = (UniqueConstraint("lesson_id", "user_id", name="uq_academy_lesson_done"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    lesson_id: Mapped[int] = mapped_column(ForeignKey("academy_lessons.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    version: Mapped[int] = mapped_column(Integer)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


ATTEMPT_STATES = ("open", "finished")


class Attempt(Base):
    """A quiz attempt. ``deadline_at`` is fixed on the server when it starts; answers after it
    are refused and the attempt is finished with what was saved."""

    __tablename__ = "academy_attempts"
    __table_args__ = (Index("ix_academy_attempts_user_course", "user_id", "course_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    course_id: Mapped[int] = mapped_column(ForeignKey("academy_courses.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    lang: Mapped[str] = mapped_column(String(2), default="zh")
    state: Mapped[str] = mapped_column(String(8), default="open")
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deadline_at: Mapped[datetime] = mapped_column(UTCDateTime)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    pass_mark: Mapped[int] = mapped_column(Integer)
    #: percent of the points, 2 decimals; None until finished
    score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2), nullable=True)
    pending: Mapped[int] = mapped_column(Integer, default=0)  # essays awaiting a trainer
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    timed_out: Mapped[bool] = mapped_column(Boolean, default=False)


class AttemptItem(Base):
    __tablename__ = "academy_attempt_items"
    __table_args__ = (UniqueConstraint("attempt_id", "slot", name="uq_academy_attempt_slot"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("academy_attempts.id", ondelete="CASCADE"), index=True
    )
    slot: Mapped[int] = mapped_column(Integer)
    question_version_id: Mapped[int] = mapped_column(ForeignKey("academy_question_versions.id"))
    #: the order answers (or matching choices) are shown in: indices into the original
    order: Mapped[list[int]] = mapped_column(JSON, default=list)
    response: Mapped[Any] = mapped_column(JSON, nullable=True)
    fraction: Mapped[Decimal | None] = mapped_column(Numeric(6, 4), nullable=True)
    status: Mapped[str] = mapped_column(String(8), default="blank")
    feedback: Mapped[list[str]] = mapped_column(JSON, default=list)
    grader_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    graded_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    rubric: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)


class PersonaRow(Base):
    __tablename__ = "academy_personas"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class PersonaVersion(Base):
    """Every persona text a run was played against, so an old run replays the same way."""

    __tablename__ = "academy_persona_versions"
    __table_args__ = (UniqueConstraint("persona_id", "content_hash", name="uq_academy_pversion"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    persona_id: Mapped[int] = mapped_column(ForeignKey("academy_personas.id", ondelete="CASCADE"))
    version: Mapped[int] = mapped_column(Integer)
    content_hash: Mapped[str] = mapped_column(String(64))
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class RoleplayRun(Base):
    __tablename__ = "academy_roleplay_runs"
    __table_args__ = (Index("ix_academy_runs_user", "user_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    persona_version_id: Mapped[int] = mapped_column(ForeignKey("academy_persona_versions.id"))
    slug: Mapped[str] = mapped_column(String(80))
    lang: Mapped[str] = mapped_column(String(2))
    replies: Mapped[list[str]] = mapped_column(JSON, default=list)
    outcome: Mapped[str] = mapped_column(String(12), default="in_progress")
    guard_failed: Mapped[bool] = mapped_column(Boolean, default=False)
    score: Mapped[Decimal | None] = mapped_column(Numeric(6, 2), nullable=True)
    passed: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
    #: the debrief once finished: transcript, scorecard, findings, model answers
    result: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Programme(Base):
    __tablename__ = "academy_programmes"

    id: Mapped[int] = mapped_column(primary_key=True)
    slug: Mapped[str] = mapped_column(String(80), unique=True)
    content_hash: Mapped[str] = mapped_column(String(64))
    #: title, summary {zh, en}, deadline_days, valid_days, steps [{kind, ref, pass_mark}]
    data: Mapped[dict[str, Any]] = mapped_column(JSON)


class Enrolment(Base):
    __tablename__ = "academy_enrolments"
    __table_args__ = (
        UniqueConstraint("programme_id", "user_id", "round", name="uq_academy_enrol"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    programme_id: Mapped[int] = mapped_column(
        ForeignKey("academy_programmes.id", ondelete="CASCADE")
    )
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    round: Mapped[int] = mapped_column(Integer, default=1)  # 2, 3 … after a certificate expired
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)


class Certificate(Base):
    __tablename__ = "academy_certificates"

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(24), unique=True)
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    programme_id: Mapped[int] = mapped_column(ForeignKey("academy_programmes.id"))
    enrolment_id: Mapped[int] = mapped_column(ForeignKey("academy_enrolments.id"))
    holder: Mapped[str] = mapped_column(String(128))
    issued_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    #: what was passed: [{kind, ref, score}]
    evidence: Mapped[list[dict[str, Any]]] = mapped_column(JSON, default=list)


class Mentorship(Base):
    __tablename__ = "academy_mentorships"
    __table_args__ = (UniqueConstraint("trainee_id", name="uq_academy_mentor_trainee"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    trainee_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"))
    assigned_by: Mapped[int | None] = mapped_column(ForeignKey("users.id"), nullable=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class MentorComment(Base):
    __tablename__ = "academy_comments"
    __table_args__ = (Index("ix_academy_comments_target", "target", "target_id"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    target: Mapped[str] = mapped_column(String(12))  # "run" | "item"
    target_id: Mapped[int] = mapped_column(Integer)
    body: Mapped[str] = mapped_column(String(4000))
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class KnowledgeUpdate(Base):
    """A short update lesson drawn from a published KB article version or rule change."""

    __tablename__ = "academy_updates"
    __table_args__ = (UniqueConstraint("source", "ref", name="uq_academy_update_source"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    source: Mapped[str] = mapped_column(String(8))  # "kb" | "rule"
    ref: Mapped[str] = mapped_column(String(160))  # "<slug>@v<n>" or "<rule>@<date>"
    #: title, body {zh, en}; check {kind: truefalse, text {zh, en}, truth, explain {zh, en}}
    data: Mapped[dict[str, Any]] = mapped_column(JSON)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class UpdateAssignment(Base):
    __tablename__ = "academy_update_assignments"
    __table_args__ = (UniqueConstraint("update_id", "user_id", name="uq_academy_update_user"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    update_id: Mapped[int] = mapped_column(ForeignKey("academy_updates.id", ondelete="CASCADE"))
    user_id: Mapped[int] = mapped_column(ForeignKey("users.id", ondelete="CASCADE"), index=True)
    assigned_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime, nullable=True)
    correct: Mapped[bool | None] = mapped_column(Boolean, nullable=True)
