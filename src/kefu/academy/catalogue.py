"""Courses, lessons, question banks and personas in the database: the content sync, GIFT import
and export, the trainers' edits (each a new version) and the reads the pages and CLI use."""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import Any

from markdown_it import MarkdownIt
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.academy import content, gift, moodle
from kefu.academy.audit import AcademyAudit
from kefu.academy.content import BankSpec, Catalogue, CourseSpec, LessonSpec
from kefu.academy.models import (
    Bank,
    BankQuestion,
    Course,
    CourseVersion,
    Lesson,
    LessonVersion,
    PersonaRow,
    PersonaVersion,
    Programme,
    QuestionVersion,
)
from kefu.academy.roleplay import Persona, parse_persona
from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.db import utcnow
from kefu.core.errors import NotFound, ValidationFailed
from kefu.core.security import User, require
from kefu.knowledge import service as knowledge

_md = MarkdownIt("commonmark", {"html": False, "linkify": False})
_KB_LINK = re.compile(r"\]\(kb:([a-z0-9][a-z0-9.\-]*)\)")


def _hash(data: Any) -> str:
    raw = json.dumps(data, ensure_ascii=False, sort_keys=True, default=str)
    return hashlib.sha256(raw.encode()).hexdigest()


@dataclass
class SyncReport:
    created: list[str] = field(default_factory=list)
    updated: list[str] = field(default_factory=list)
    retired: list[str] = field(default_factory=list)
    kept_console_edits: list[str] = field(default_factory=list)
    unchanged: int = 0

    def to_dict(self) -> dict[str, Any]:
        return {
            "created": self.created,
            "updated": self.updated,
            "retired": self.retired,
            "kept_console_edits": self.kept_console_edits,
            "unchanged": self.unchanged,
        }


# --- banks and questions ------------------------------------------------------------------------


def _gift_of(q: gift.Question) -> str:
    return gift.write_question(q)


def question_of(version: QuestionVersion, lang: str) -> gift.Question:
    """A stored question version as the grader's plain data, in ``lang``."""
    text = version.gift_en if lang.startswith("en") else version.gift_zh
    return gift.parse_question(text)


def _bank(db: Session, name: str, origin: str, actor_id: int | None, report: SyncReport) -> Bank:
    bank = db.scalar(select(Bank).where(Bank.name == name))
    if bank is None:
        bank = Bank(name=name, origin=origin)
        db.add(bank)
        db.flush()
        audit.record(
            db,
            actor_id=actor_id,
            action=AcademyAudit.bank_create,
            entity="academy_bank",
            entity_id=bank.id,
            data={"name": name, "origin": origin},
        )
        report.created.append(f"bank:{name}")
    return bank


def _put_question(
    db: Session,
    bank: Bank,
    position: int,
    zh: gift.Question,
    en: gift.Question,
    *,
    actor_id: int | None,
    force: bool,
    report: SyncReport,
) -> BankQuestion:
    key = zh.title
    gz, ge = _gift_of(zh), _gift_of(en)
    digest = _hash([gz, ge, zh.category])
    row = db.scalar(
        select(BankQuestion).where(BankQuestion.bank_id == bank.id, BankQuestion.key == key)
    )
    if row is not None and row.current_id is not None:
        current = db.get(QuestionVersion, row.current_id)
        if current is not None and current.content_hash == digest:
            if row.retired or row.position != position:
                row.retired, row.position = False, position
            report.unchanged += 1
            return row
        if current is not None and current.author_id is not None and actor_id is None and not force:
            report.kept_console_edits.append(f"{bank.name}/{key}")
            return row
    created = row is None
    if row is None:
        row = BankQuestion(bank_id=bank.id, key=key, version=0, kind=zh.kind)
        db.add(row)
        db.flush()
    row.version += 1
    row.category, row.kind, row.position, row.retired = zh.category, zh.kind, position, False
    version = QuestionVersion(
        question_id=row.id,
        version=row.version,
        kind=zh.kind,
        gift_zh=gz,
        gift_en=ge,
        content_hash=digest,
        author_id=actor_id,
    )
    db.add(version)
    db.flush()
    row.current_id = version.id
    audit.record(
        db,
        actor_id=actor_id,
        action=AcademyAudit.question_create if created else AcademyAudit.question_update,
        entity="academy_question",
        entity_id=row.id,
        data={"bank": bank.name, "key": key, "version": row.version},
    )
    (report.created if created else report.updated).append(f"{bank.name}/{key}")
    return row


def _sync_bank(
    db: Session,
    spec: BankSpec,
    *,
    origin: str,
    actor_id: int | None,
    force: bool,
    report: SyncReport,
    retire_missing: bool = True,
) -> Bank:
    bank = _bank(db, spec.name, origin, actor_id, report)
    keys = set()
    for i, (zh, en) in enumerate(spec.questions):
        if zh.kind == "description":
            continue
        _put_question(db, bank, i, zh, en, actor_id=actor_id, force=force, report=report)
        keys.add(zh.title)
    if retire_missing:
        for row in db.scalars(
            select(BankQuestion).where(BankQuestion.bank_id == bank.id, ~BankQuestion.retired)
        ):
            if row.key not in keys:
                row.retired = True
                audit.record(
                    db,
                    actor_id=actor_id,
                    action=AcademyAudit.question_retire,
                    entity="academy_question",
                    entity_id=row.id,
                    data={"bank": bank.name, "key": row.key},
                )
                report.retired.append(f"{bank.name}/{row.key}")
    return bank


@action
def import_gift(
    db: Session, *, actor: User | None, text: str, bank: str, text_en: str | None = None
) -> SyncReport:
    """Imports GIFT into ``bank`` (created if new). One text serves both languages unless
    ``text_en`` is given; questions without a ::title:: get ``<bank>-<NNN>``. Existing titles
    get a new version when their text changed; nothing is retired."""
    if actor is not None:
        require(actor, "academy.teach")
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]{0,79}", bank):
        raise ValidationFailed(
            f"bank name {bank!r}: lowercase letters, digits and hyphens",
            fields=[{"field": "bank"}],
        )
    try:
        zh = _titled(gift.parse(text), bank)
        en = _titled(gift.parse(text_en), bank) if text_en is not None else zh
        spec = content.align_bank(bank, zh, en)
    except (gift.GiftError, content.ContentError) as exc:
        raise ValidationFailed(str(exc), fields=[{"field": "gift", "message": str(exc)}]) from exc
    if not any(q.kind != "description" for q, _ in spec.questions):
        raise ValidationFailed("the GIFT text holds no question", fields=[{"field": "gift"}])
    report = SyncReport()
    actor_id = actor.id if actor is not None else None
    _sync_bank(
        db,
        spec,
        origin="import",
        actor_id=actor_id,
        force=True,
        report=report,
        retire_missing=False,
    )
    if not (report.created or report.updated):
        unchanged(db)
    return report


def _titled(questions: list[gift.Question], bank: str) -> list[gift.Question]:
    from dataclasses import replace

    return [
        q if q.title else replace(q, title=f"{bank}-{i + 1:03d}") for i, q in enumerate(questions)
    ]


def bank_questions(
    db: Session, bank: str, lang: str, *, include_retired: bool = False
) -> list[gift.Question]:
    """The current version of every question of ``bank`` in ``lang``, in bank order."""
    row = get_bank(db, bank)
    out = []
    for q, v in _current(db, row.id, include_retired=include_retired):
        parsed = question_of(v, lang)
        out.append(gift.Question(**{**parsed.__dict__, "title": q.key, "category": q.category}))
    return out


def _current(
    db: Session, bank_id: int, *, include_retired: bool = False
) -> list[tuple[BankQuestion, QuestionVersion]]:
    stmt = (
        select(BankQuestion, QuestionVersion)
        .join(QuestionVersion, QuestionVersion.id == BankQuestion.current_id)
        .where(BankQuestion.bank_id == bank_id)
        .order_by(BankQuestion.position, BankQuestion.id)
    )
    if not include_retired:
        stmt = stmt.where(~BankQuestion.retired)
    return [(q, v) for q, v in db.execute(stmt)]


def get_bank(db: Session, name: str) -> Bank:
    row = db.scalar(select(Bank).where(Bank.name == name))
    if row is None:
        raise NotFound(f"no question bank {name!r}")
    return row


def bank_name(db: Session, bank_id: int) -> str:
    row = db.get(Bank, bank_id)
    return row.name if row is not None else ""


def export_gift(db: Session, bank: str, lang: str = "zh") -> str:
    return gift.write(bank_questions(db, bank, lang))


def export_moodle(db: Session, bank: str, lang: str = "zh") -> str:
    return moodle.moodle_xml(bank_questions(db, bank, lang))


def list_banks(db: Session) -> list[dict[str, Any]]:
    counts = {
        bank_id: n
        for bank_id, n in db.execute(
            select(BankQuestion.bank_id, func.count(BankQuestion.id))
            .where(~BankQuestion.retired)
            .group_by(BankQuestion.bank_id)
        )
    }
    return [
        {"name": b.name, "origin": b.origin, "questions": counts.get(b.id, 0)}
        for b in db.scalars(select(Bank).order_by(Bank.name))
    ]


@action
def edit_question(
    db: Session, *, actor: User, bank: str, key: str, gift_zh: str, gift_en: str
) -> BankQuestion:
    """A trainer's edit in the console: a new version of the question (attempts keep theirs)."""
    require(actor, "academy.teach")
    b = get_bank(db, bank)
    row = db.scalar(
        select(BankQuestion).where(BankQuestion.bank_id == b.id, BankQuestion.key == key)
    )
    if row is None:
        raise NotFound(f"no question {key!r} in bank {bank!r}")
    try:
        zh = gift.parse_question(gift_zh, category=row.category)
        en = gift.parse_question(gift_en, category=row.category)
        spec = content.align_bank(
            bank,
            [gift.Question(**{**zh.__dict__, "title": key})],
            [gift.Question(**{**en.__dict__, "title": key})],
        )
    except (gift.GiftError, content.ContentError) as exc:
        raise ValidationFailed(str(exc), fields=[{"field": "gift", "message": str(exc)}]) from exc
    report = SyncReport()
    (zq, eq) = spec.questions[0]
    if zq.kind == "description":
        raise ValidationFailed("a question needs an answer block", fields=[{"field": "gift_zh"}])
    _put_question(db, b, row.position, zq, eq, actor_id=actor.id, force=True, report=report)
    if not report.updated:
        unchanged(db)
    return row


# --- courses and lessons ------------------------------------------------------------------------


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
    digest = _hash(snap)
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
    digest = _hash(spec.data)
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
    row.data, row.content_hash, row.position = data, _hash(data), position
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
            "the lesson is incomplete: " + ", ".join(f["field"] for f in fields), fields=fields
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
    if row is not None and row.content_hash == _hash(data):
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
            "the course is incomplete: " + ", ".join(f["field"] for f in fields), fields=fields
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
        raise NotFound(f"no course {slug!r}")
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
        raise NotFound(f"no lesson {slug!r} in course {course!r}")
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


# --- personas and programmes --------------------------------------------------------------------


def _put_persona(
    db: Session, persona: Persona, raw: dict[str, Any], *, actor_id: int | None, report: SyncReport
) -> None:
    digest = _hash(raw)
    row = db.scalar(select(PersonaRow).where(PersonaRow.slug == persona.slug))
    if row is not None and row.content_hash == digest:
        report.unchanged += 1
        return
    created = row is None
    if row is None:
        row = PersonaRow(slug=persona.slug, version=persona.version, content_hash=digest, data=raw)
        db.add(row)
    row.version, row.content_hash, row.data, row.updated_at = persona.version, digest, raw, utcnow()
    db.flush()
    if (
        db.scalar(
            select(PersonaVersion.id).where(
                PersonaVersion.persona_id == row.id, PersonaVersion.content_hash == digest
            )
        )
        is None
    ):
        db.add(
            PersonaVersion(
                persona_id=row.id, version=persona.version, content_hash=digest, data=raw
            )
        )
    audit.record(
        db,
        actor_id=actor_id,
        action=AcademyAudit.persona_sync,
        entity="academy_persona",
        entity_id=row.id,
        data={"slug": persona.slug, "version": persona.version, "created": created},
    )
    (report.created if created else report.updated).append(f"persona:{persona.slug}")


def personas(db: Session) -> list[tuple[PersonaRow, Persona]]:
    return [
        (row, parse_persona(row.data, row.slug))
        for row in db.scalars(select(PersonaRow).order_by(PersonaRow.slug))
    ]


def get_persona(db: Session, slug: str) -> tuple[PersonaRow, PersonaVersion, Persona]:
    row = db.scalar(select(PersonaRow).where(PersonaRow.slug == slug))
    if row is None:
        raise NotFound(f"no persona {slug!r}")
    version = db.scalar(
        select(PersonaVersion).where(
            PersonaVersion.persona_id == row.id, PersonaVersion.content_hash == row.content_hash
        )
    )
    assert version is not None
    return row, version, parse_persona(row.data, slug)


def _put_programme(
    db: Session, spec: content.ProgrammeSpec, *, actor_id: int | None, report: SyncReport
) -> None:
    digest = _hash(spec.data)
    row = db.scalar(select(Programme).where(Programme.slug == spec.slug))
    if row is not None and row.content_hash == digest:
        report.unchanged += 1
        return
    created = row is None
    if row is None:
        row = Programme(slug=spec.slug, content_hash=digest, data=spec.data)
        db.add(row)
    row.content_hash, row.data = digest, spec.data
    db.flush()
    audit.record(
        db,
        actor_id=actor_id,
        action=AcademyAudit.programme_sync,
        entity="academy_programme",
        entity_id=row.id,
        data={"slug": spec.slug, "created": created},
    )
    (report.created if created else report.updated).append(f"programme:{spec.slug}")


# --- the content sync ---------------------------------------------------------------------------


@action
def sync(
    db: Session,
    catalogue: Catalogue | None = None,
    *,
    folder: Path | None = None,
    actor_id: int | None = None,
    force: bool = False,
) -> SyncReport:
    """Loads content/academy (or ``folder``): banks, courses and lessons, personas, programmes.
    Idempotent: a second run writes nothing. Items edited in the console are kept (reported)
    unless ``force``."""
    cat = catalogue if catalogue is not None else content.read(folder)
    for course in cat.courses:
        for lesson in course.lessons:
            check_lesson(lesson.data, f"course {course.slug}: lesson {lesson.slug}")
    report = SyncReport()
    for bank in cat.banks:
        _sync_bank(db, bank, origin="content", actor_id=actor_id, force=force, report=report)
    for course in cat.courses:
        _put_course(db, course, actor_id=actor_id, force=force, report=report)
    for persona, raw in cat.personas:
        _put_persona(db, persona, raw, actor_id=actor_id, report=report)
    for prog in cat.programmes:
        _put_programme(db, prog, actor_id=actor_id, report=report)
    if not (report.created or report.updated or report.retired):
        unchanged(db)
    return report
