"""Courses and lessons in the database: the content sync of a course and its lessons, the
trainers' edits in the console (each a new version), lesson Markdown rendered with its
``kb:`` links and ``{{rule:…}}`` values, and the reads the pages and the quizzes use."""

from __future__ import annotations

import re
from datetime import date
from typing import Any

from markdown_it import MarkdownIt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.academy.audit import AcademyAudit
from kefu.academy.content import CourseSpec, LessonSpec
from kefu.academy.models import (
    Bank,
    Course,
    CourseVersion,
    Lesson,
    LessonVersion,
)
from kefu.academy.versions import SyncReport, content_hash
from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.db import utcnow
from kefu.core.errors import NotFound, ValidationFailed
from kefu.core.security import User, require
from kefu.knowledge import service as knowledge

_md = MarkdownIt("commonmark", {"html": False, "linkify": False})
_KB_LINK = re.compile(r"\]\(kb:([a-z0-9][a-z0-9.\-]*)\)")


def _course_snapshot(spec: CourseSpec) -> dict[str, Any]:
    return {
        **spec.data,
        "bank": spec.bank,
        "order": spec.order,
        "lessons": [x.slug for x in spec.lessons],
    }


def _put_course(
    db: Session, spec: CourseSpec, *, actor_id: int | None, force: bool, report: SyncReport
) -> None:
    snap = _course_snapshot(spec)
    digest = content_hash(snap)
    row = db.scalar(select(Course).where(Course.slug == spec.slug))
    bank = db.scalar(select(Bank).where(Bank.name == spec.bank))
    if row is not None and row.content_hash == digest:
        report.unchanged += 1
    elif row is not None and row.origin == "console" and not force:
        report.kept_console_edits.append(f"course:{spec.slug}")
    else:
        created = row is None
        if row is None:
            row = Course(slug=spec.slug, version=0)
            db.add(row)
        row.version += 1
        row.position, row.data, row.content_hash = spec.order, spec.data, digest
        row.bank_id = bank.id if bank else None
        row.origin, row.updated_at = "content", utcnow()
        db.flush()
        db.add(CourseVersion(course_id=row.id, version=row.version, snapshot=snap, note="sync"))
        audit.record(
            db,
            actor_id=actor_id,
            action=AcademyAudit.course_create if created else AcademyAudit.course_update,
            entity="academy_course",
            entity_id=row.id,
            data={"slug": spec.slug, "version": row.version},
        )
        (report.created if created else report.updated).append(f"course:{spec.slug}")
    keep = set()
    for i, lesson in enumerate(spec.lessons):
        _put_lesson(db, row, i, lesson, actor_id=actor_id, force=force, report=report)
        keep.add(lesson.slug)
    for old in db.scalars(select(Lesson).where(Lesson.course_id == row.id, ~Lesson.retired)):
        if old.slug not in keep and old.origin == "content":
            old.retired = True
            audit.record(
                db,
                actor_id=actor_id,
                action=AcademyAudit.lesson_retire,
                entity="academy_lesson",
                entity_id=old.id,
                data={"course": spec.slug, "slug": old.slug},
            )
            report.retired.append(f"lesson:{spec.slug}/{old.slug}")


def _put_lesson(
    db: Session,
    course: Course,
    position: int,
    spec: LessonSpec,
    *,
    actor_id: int | None,
    force: bool,
    report: SyncReport,
) -> None:
    digest = content_hash(spec.data)
    row = db.scalar(select(Lesson).where(Lesson.course_id == course.id, Lesson.slug == spec.slug))
    name = f"lesson:{course.slug}/{spec.slug}"
    if row is not None and row.content_hash == digest:
        if row.position != position or row.retired:
            row.position, row.retired = position, False
        report.unchanged += 1
        return
    if row is not None and row.origin == "console" and not force:
        report.kept_console_edits.append(name)
        return
    created = row is None
    if row is None:
        row = Lesson(course_id=course.id, slug=spec.slug, version=0)
        db.add(row)
    _new_lesson_version(
        db, row, spec.data, position, origin="content", actor_id=actor_id, note="sync"
    )
    audit.record(
        db,
        actor_id=actor_id,
        action=AcademyAudit.lesson_create if created else AcademyAudit.lesson_update,
        entity="academy_lesson",
        entity_id=row.id,
        data={"course": course.slug, "slug": spec.slug, "version": row.version},
    )
    (report.created if created else report.updated).append(name)


def _new_lesson_version(
    db: Session,
    row: Lesson,
    data: dict[str, Any],
    position: int,
    *,
    origin: str,
    actor_id: int | None,
    note: str,
) -> None:
    row.version += 1
    row.data, row.content_hash, row.position = data, content_hash(data), position
    row.origin, row.retired, row.updated_at = origin, False, utcnow()
    db.flush()
    db.add(
        LessonVersion(
            lesson_id=row.id, version=row.version, snapshot=data, note=note, author_id=actor_id
        )
    )


def check_lesson(data: dict[str, Any], where: str) -> None:
    """Every ``{{rule:…}}`` placeholder of both bodies resolves in the rules registry."""
    registry = knowledge.rules()
    for lg in ("zh", "en"):
        try:
            registry.render(data[f"body_{lg}"], lg)
        except knowledge.RuleError as exc:
            raise ValidationFailed(
                f"{where} ({lg}): {exc}", fields=[{"field": f"body_{lg}", "message": str(exc)}]
            ) from exc


@action
def save_lesson(
    db: Session,
    *,
    actor: User,
    course: str,
    slug: str,
    title_zh: str,
    title_en: str,
    body_zh: str,
    body_en: str,
    minutes: int,
    kb: list[str],
    note: str = "",
) -> Lesson:
    """A trainer creates or edits a lesson in the console (a new version each time)."""
    require(actor, "academy.teach")
    c = get_course(db, course)
    fields: list[dict[str, str]] = []
    for name, value in (
        ("title_zh", title_zh),
        ("title_en", title_en),
        ("body_zh", body_zh),
        ("body_en", body_en),
    ):
        if not value.strip():
            fields.append({"field": name, "message": "required"})
    if not re.fullmatch(r"\d{2}-[a-z0-9][a-z0-9-]{0,100}", slug):
        fields.append({"field": "slug", "message": "<NN>-<slug>, e.g. 03-complaints"})
    if not 0 <= minutes <= 600:
        fields.append({"field": "minutes", "message": "0…600"})
    if fields:
        raise ValidationFailed(
            key="academy.errors.lesson_incomplete",
            params={"fields": ", ".join(f["field"] for f in fields)},
            fields=fields,
        )
    row = db.scalar(select(Lesson).where(Lesson.course_id == c.id, Lesson.slug == slug))
    old = dict(row.data) if row is not None else {}
    data = {
        "title": {"zh": title_zh.strip(), "en": title_en.strip()},
        "minutes": minutes,
        "kb": [k.strip() for k in kb if k.strip()],
        "objectives": old.get("objectives", {"zh": [], "en": []}),
        "body_zh": body_zh.strip(),
        "body_en": body_en.strip(),
    }
    check_lesson(data, f"lesson {course}/{slug}")
    if row is not None and row.content_hash == content_hash(data):
        unchanged(db)
        return row
    created = row is None
    if row is None:
        position = db.scalar(select(func.count(Lesson.id)).where(Lesson.course_id == c.id)) or 0
        row = Lesson(course_id=c.id, slug=slug, version=0)
        db.add(row)
    else:
        position = row.position
    _new_lesson_version(
        db, row, data, position, origin="console", actor_id=actor.id, note=note[:200]
    )
    audit.record(
        db,
        actor_id=actor.id,
        action=AcademyAudit.lesson_create if created else AcademyAudit.lesson_update,
        entity="academy_lesson",
        entity_id=row.id,
        data={"course": course, "slug": slug, "version": row.version, "old": old.get("title")},
    )
    return row


@action
def save_course(
    db: Session,
    *,
    actor: User,
    slug: str,
    title_zh: str,
    title_en: str,
    summary_zh: str,
    summary_en: str,
    bank: str,
    pass_mark: int,
    questions: int,
    minutes: int,
    attempts: int,
) -> Course:
    """A trainer creates or edits a course (a new version each time)."""
    require(actor, "academy.teach")
    fields: list[dict[str, str]] = []
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,79}", slug):
        fields.append({"field": "slug", "message": "lowercase letters, digits and hyphens"})
    for name, value in (("title_zh", title_zh), ("title_en", title_en)):
        if not value.strip():
            fields.append({"field": name, "message": "required"})
    for name, v, lo, hi in (
        ("pass_mark", pass_mark, 0, 100),
        ("questions", questions, 1, 200),
        ("minutes", minutes, 1, 600),
        ("attempts", attempts, 1, 100),
    ):
        if not lo <= v <= hi:
            fields.append({"field": name, "message": f"{lo}…{hi}"})
    b = db.scalar(select(Bank).where(Bank.name == bank))
    if b is None:
        fields.append({"field": "bank", "message": f"no bank {bank!r}"})
    if fields:
        raise ValidationFailed(
            key="academy.errors.course_incomplete",
            params={"fields": ", ".join(f["field"] for f in fields)},
            fields=fields,
        )
    row = db.scalar(select(Course).where(Course.slug == slug))
    old = dict(row.data) if row is not None else {}
    data = {
        **old,
        "title": {"zh": title_zh.strip(), "en": title_en.strip()},
        "summary": {"zh": summary_zh.strip(), "en": summary_en.strip()},
        "audience": old.get("audience", {"zh": "", "en": ""}),
        "minutes": old.get("minutes", 0),
        "pass_mark": pass_mark,
        "quiz": {
            **old.get("quiz", {"per_category": {}}),
            "questions": questions,
            "minutes": minutes,
            "attempts": attempts,
        },
    }
    created = row is None
    if row is None:
        position = (db.scalar(select(func.max(Course.position))) or 0) + 1
        row = Course(slug=slug, version=0, position=position)
        db.add(row)
    elif row.data == data and row.bank_id == (b.id if b else None):
        unchanged(db)
        return row
    row.version += 1
    row.data, row.origin, row.updated_at = data, "console", utcnow()
    row.bank_id = b.id if b else None
    db.flush()
    db.add(
        CourseVersion(
            course_id=row.id,
            version=row.version,
            snapshot={**data, "bank": bank},
            author_id=actor.id,
            note="console",
        )
    )
    audit.record(
        db,
        actor_id=actor.id,
        action=AcademyAudit.course_create if created else AcademyAudit.course_update,
        entity="academy_course",
        entity_id=row.id,
        data={"slug": slug, "version": row.version, "old": old or None, "new": data},
    )
    return row


def get_course(db: Session, slug: str) -> Course:
    row = db.scalar(select(Course).where(Course.slug == slug))
    if row is None:
        raise NotFound(key="academy.errors.course_missing", params={"slug": repr(slug)})
    return row


def courses(db: Session) -> list[Course]:
    return list(db.scalars(select(Course).order_by(Course.position, Course.slug)))


def lessons_of(db: Session, course_id: int) -> list[Lesson]:
    return list(
        db.scalars(
            select(Lesson)
            .where(Lesson.course_id == course_id, ~Lesson.retired)
            .order_by(Lesson.position, Lesson.slug)
        )
    )


def get_lesson(db: Session, course: str, slug: str) -> Lesson:
    c = get_course(db, course)
    row = db.scalar(select(Lesson).where(Lesson.course_id == c.id, Lesson.slug == slug))
    if row is None:
        raise NotFound(
            key="academy.errors.lesson_missing", params={"slug": repr(slug), "course": repr(course)}
        )
    return row


def lesson_versions(db: Session, lesson_id: int) -> list[LessonVersion]:
    return list(
        db.scalars(
            select(LessonVersion)
            .where(LessonVersion.lesson_id == lesson_id)
            .order_by(LessonVersion.version.desc())
        )
    )


def render_markdown(text: str, lang: str, as_of: date | None = None) -> str:
    """Lesson Markdown as HTML: ``{{rule:…}}`` placeholders filled from the rules registry
    (the knowledge context's), ``kb:slug`` links pointing at the help centre; raw HTML is
    escaped."""
    filled = knowledge.rules().render(text, lang, as_of)
    linked = _KB_LINK.sub(lambda m: f"](/help/{m.group(1)})", filled)
    html: str = _md.render(linked)
    return html


def render_lesson(db: Session, row: Lesson, lang: str) -> dict[str, Any]:
    lg = "en" if lang.startswith("en") else "zh"
    data = row.data
    kb_titles = [
        knowledge.article_title(db, slug, lg) or {"slug": slug, "title": slug}
        for slug in data.get("kb", [])
    ]
    return {
        "slug": row.slug,
        "version": row.version,
        "title": data["title"][lg],
        "minutes": data.get("minutes", 0),
        "objectives": data.get("objectives", {}).get(lg, []),
        "kb": kb_titles,
        "html": render_markdown(data[f"body_{lg}"], lg),
    }
