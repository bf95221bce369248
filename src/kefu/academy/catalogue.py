"""The academy's catalogue in the database: the content sync of ``content/academy`` (banks,
courses and lessons, personas, programmes), personas and programmes themselves, and the public
face (``__all__``) of the question banks (``banks.py``: GIFT import and export, a trainer's
question edit) and of the courses and lessons (``courses.py``: the editor, Markdown
rendering), which the pages, the quizzes and the CLI read through this module."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.academy import content
from kefu.academy.audit import AcademyAudit
from kefu.academy.banks import (
    _sync_bank,
    bank_name,
    bank_questions,
    edit_question,
    export_gift,
    export_moodle,
    get_bank,
    import_gift,
    list_banks,
    question_of,
)
from kefu.academy.content import Catalogue
from kefu.academy.courses import (
    _put_course,
    check_lesson,
    courses,
    get_course,
    get_lesson,
    lesson_versions,
    lessons_of,
    render_lesson,
    render_markdown,
    save_course,
    save_lesson,
)
from kefu.academy.models import (
    PersonaRow,
    PersonaVersion,
    Programme,
)
from kefu.academy.roleplay import Persona, parse_persona
from kefu.academy.versions import SyncReport, content_hash
from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.db import utcnow
from kefu.core.errors import NotFound

__all__ = [
    "SyncReport",
    "bank_name",
    "bank_questions",
    "check_lesson",
    "courses",
    "edit_question",
    "export_gift",
    "export_moodle",
    "get_bank",
    "get_course",
    "get_lesson",
    "get_persona",
    "import_gift",
    "lesson_versions",
    "lessons_of",
    "list_banks",
    "personas",
    "question_of",
    "render_lesson",
    "render_markdown",
    "save_course",
    "save_lesson",
    "sync",
]

# --- personas and programmes --------------------------------------------------------------------


def _put_persona(
    db: Session, persona: Persona, raw: dict[str, Any], *, actor_id: int | None, report: SyncReport
) -> None:
    digest = content_hash(raw)
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
        raise NotFound(key="academy.errors.persona_missing", params={"slug": repr(slug)})
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
    digest = content_hash(spec.data)
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
