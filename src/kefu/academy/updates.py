"""Product-knowledge updates (产品知识更新培训): when a rule changes in the rules registry (a new
entry takes effect: a new price limit, a fee change) or a KB article version is published with
a note marked as a rule change, every agent gets a short update lesson drawn from the change.
A rule change comes with a true/false check question built from the registry (the old value
stated as current is false); a KB change is acknowledged after reading the article. The desk
shows each agent their pending updates; supervisors see who has not completed them."""

from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.academy.audit import AcademyAudit
from kefu.academy.models import KnowledgeUpdate, UpdateAssignment
from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.db import utcnow
from kefu.core.errors import Conflict, NotFound, ValidationFailed
from kefu.core.security import Role, User, require
from kefu.knowledge import service as knowledge

#: a change is announced for this many days after it takes effect
WINDOW_DAYS = 60
#: a KB version note that starts with one of these marks the version as a rule change
KB_MARKERS = ("rule change", "规则变更")


def _rule_texts(rule_id: str, fields: list[str], day: date) -> dict[str, str]:
    registry = knowledge.rules()
    out = {}
    for lg in ("zh", "en"):
        parts = []
        for f in fields:
            ref = "{{rule:" + rule_id + (f".{f}" if f else "") + "}}"
            parts.append(registry.render(ref, lg, day))
        out[lg] = ("，" if lg == "zh" else ", ").join(parts)
    return out


def rule_update(rule_id: str, effective: date) -> dict[str, Any]:
    """The update lesson and its check question for the entry of ``rule_id`` that took effect
    on ``effective`` (values rendered by the registry, never typed)."""
    registry = knowledge.rules()
    rule = registry.rules[rule_id]
    names = list(rule.fields) if len(rule.fields) > 1 else [""]
    new = _rule_texts(rule_id, names, effective)
    old = _rule_texts(rule_id, names, effective - timedelta(days=1))
    day = effective.isoformat()
    title = {"zh": f"规则变更：{rule.title('zh')}", "en": f"Rule change: {rule.title('en')}"}
    body = {
        "zh": f"自 {day} 起，{rule.title('zh')}为：{new['zh']}（此前：{old['zh']}）。"
        "回答客户时以新规则为准。",
        "en": f"From {day}, {rule.title('en')}: {new['en']} (before: {old['en']}). "
        "Answer customers by the new rule.",
    }
    check = {
        "kind": "truefalse",
        "truth": False,
        "text": {
            "zh": f"自 {day} 起，{rule.title('zh')}仍为：{old['zh']}。",
            "en": f"From {day}, {rule.title('en')} is still: {old['en']}.",
        },
        "explain": {"zh": f"错。现行为：{new['zh']}。", "en": f"False. It is now: {new['en']}."},
    }
    return {"title": title, "body": body, "check": check, "rule": rule_id, "effective": day}


def _assign(db: Session, update: KnowledgeUpdate, agents: list[User]) -> int:
    have = set(
        db.scalars(select(UpdateAssignment.user_id).where(UpdateAssignment.update_id == update.id))
    )
    n = 0
    for a in agents:
        if a.id not in have:
            db.add(UpdateAssignment(update_id=update.id, user_id=a.id))
            n += 1
    return n


@action
def sync_updates(
    db: Session, *, actor_id: int | None = None, today: date | None = None
) -> dict[str, int]:
    """Creates the update lessons for changes published in the last ``WINDOW_DAYS`` and assigns
    each to every active agent who lacks it. Idempotent."""
    day = today or date.today()
    registry = knowledge.rules()
    created = assigned = 0
    found: list[tuple[str, str, dict[str, Any]]] = []
    for rule in registry.rules.values():
        for i, entry in enumerate(rule.entries):
            eff = entry.effective
            if i == 0 or eff is None or not day - timedelta(days=WINDOW_DAYS) < eff <= day:
                continue
            found.append(("rule", f"{rule.id}@{eff.isoformat()}", rule_update(rule.id, eff)))
    for slug_version, data in _kb_changes(db, day):
        found.append(("kb", slug_version, data))
    agents = list(db.scalars(select(User).where(User.role == Role.agent, User.is_active)))
    for source, ref, data in found:
        row = db.scalar(
            select(KnowledgeUpdate).where(
                KnowledgeUpdate.source == source, KnowledgeUpdate.ref == ref
            )
        )
        if row is None:
            row = KnowledgeUpdate(source=source, ref=ref, data=data)
            db.add(row)
            db.flush()
            created += 1
            audit.record(
                db,
                actor_id=actor_id,
                action=AcademyAudit.update_create,
                entity="academy_update",
                entity_id=row.id,
                data={"source": source, "ref": ref},
            )
        n = _assign(db, row, agents)
        if n:
            assigned += n
            if created == 0:
                audit.record(
                    db,
                    actor_id=actor_id,
                    action=AcademyAudit.update_create,
                    entity="academy_update",
                    entity_id=row.id,
                    data={"assigned": n},
                )
    if not (created or assigned):
        unchanged(db)
    return {"created": created, "assigned": assigned}


def _kb_changes(db: Session, day: date) -> list[tuple[str, dict[str, Any]]]:
    out = []
    for row in knowledge.list_articles(db):
        for v in knowledge.history(db, row.slug):
            note = (v.note or "").strip()
            if not note.lower().startswith(KB_MARKERS):
                continue
            if v.created_at.date() <= day - timedelta(days=WINDOW_DAYS):
                continue
            summary = note.split(":", 1)[-1].split("：", 1)[-1].strip() or note
            out.append(
                (
                    f"{row.slug}@v{v.version}",
                    {
                        "title": {
                            "zh": f"知识库更新：{row.title_zh}",
                            "en": f"KB update: {row.title_en}",
                        },
                        "body": {"zh": summary, "en": summary},
                        "article": row.slug,
                        "check": {"kind": "ack"},
                    },
                )
            )
    return out


def pending_for(db: Session, *, viewer: User) -> list[tuple[UpdateAssignment, KnowledgeUpdate]]:
    require(viewer, "academy.learn")
    return [
        (a, u)
        for a, u in db.execute(
            select(UpdateAssignment, KnowledgeUpdate)
            .join(KnowledgeUpdate, KnowledgeUpdate.id == UpdateAssignment.update_id)
            .where(UpdateAssignment.user_id == viewer.id, UpdateAssignment.completed_at.is_(None))
            .order_by(KnowledgeUpdate.created_at.desc())
        )
    ]


@action
def answer_update(db: Session, *, actor: User, update_id: int, answer: str) -> UpdateAssignment:
    """The agent answers the check question: right completes the update; wrong is recorded and
    the update stays pending with the explanation shown."""
    require(actor, "academy.learn")
    row = db.scalar(
        select(UpdateAssignment).where(
            UpdateAssignment.update_id == update_id, UpdateAssignment.user_id == actor.id
        )
    )
    update = db.get(KnowledgeUpdate, update_id)
    if row is None or update is None:
        raise NotFound(key="academy.errors.update_missing", params={"id": update_id})
    if row.completed_at is not None:
        raise Conflict(key="academy.errors.update_done")
    check = update.data["check"]
    if check["kind"] == "ack":
        if answer != "ack":
            raise ValidationFailed(key="academy.errors.confirm_read", fields=[{"field": "answer"}])
        correct = True
    else:
        if answer not in ("true", "false"):
            raise ValidationFailed(key="academy.errors.true_or_false", fields=[{"field": "answer"}])
        correct = (answer == "true") == bool(check["truth"])
    row.correct = correct
    if correct:
        row.completed_at = utcnow()
    audit.record(
        db,
        actor_id=actor.id,
        action=AcademyAudit.update_answer,
        entity="academy_update",
        entity_id=update_id,
        data={"answer": answer, "correct": correct},
    )
    return row


def completion(db: Session, *, viewer: User) -> list[dict[str, Any]]:
    """Per update: how many agents completed it and who has not (supervisors, trainers)."""
    require(viewer, "academy.progress")
    out = []
    for update in db.scalars(select(KnowledgeUpdate).order_by(KnowledgeUpdate.created_at.desc())):
        total = (
            db.scalar(
                select(func.count(UpdateAssignment.id)).where(
                    UpdateAssignment.update_id == update.id
                )
            )
            or 0
        )
        missing = list(
            db.scalars(
                select(User)
                .join(UpdateAssignment, UpdateAssignment.user_id == User.id)
                .where(
                    UpdateAssignment.update_id == update.id, UpdateAssignment.completed_at.is_(None)
                )
                .order_by(User.username)
            )
        )
        out.append(
            {"update": update, "assigned": total, "done": total - len(missing), "missing": missing}
        )
    return out
