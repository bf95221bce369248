"""Question banks in the database: GIFT import and export, the content sync of a bank, a
trainer's edit of a question (each a new version; attempts keep the version they drew) and the
reads the pages, the quizzes and the CLI use."""

from __future__ import annotations

import re
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.academy import content, gift, moodle
from kefu.academy.audit import AcademyAudit
from kefu.academy.content import BankSpec
from kefu.academy.models import (
    Bank,
    BankQuestion,
    QuestionVersion,
)
from kefu.academy.versions import SyncReport, content_hash
from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.errors import NotFound, ValidationFailed
from kefu.core.security import User, require


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
    digest = content_hash([gz, ge, zh.category])
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
            key="academy.errors.bank_name",
            params={"bank": repr(bank)},
            fields=[{"field": "bank"}],
        )
    try:
        zh = _titled(gift.parse(text), bank)
        en = _titled(gift.parse(text_en), bank) if text_en is not None else zh
        spec = content.align_bank(bank, zh, en)
    except (gift.GiftError, content.ContentError) as exc:
        raise ValidationFailed(str(exc), fields=[{"field": "gift", "message": str(exc)}]) from exc
    if not any(q.kind != "description" for q, _ in spec.questions):
        raise ValidationFailed(key="academy.errors.gift_empty", fields=[{"field": "gift"}])
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
        raise NotFound(key="academy.errors.bank_missing", params={"name": repr(name)})
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
        raise NotFound(
            key="academy.errors.question_missing", params={"key": repr(key), "bank": repr(bank)}
        )
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
        raise ValidationFailed(key="academy.errors.answer_block", fields=[{"field": "gift_zh"}])
    _put_question(db, b, row.position, zq, eq, actor_id=actor.id, force=True, report=report)
    if not report.updated:
        unchanged(db)
    return row
