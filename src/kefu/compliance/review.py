"""The compliance officer's review of the desk: every guard decision on record (blocks, warnings,
overrides, customer reports) with the message in its conversation, masked; verdicts on those
decisions (confirmed / false positive) exported as labelled data for the guard's evaluation;
the audit log with search, verification and CSV export; the log of personal-data reveals.

Reads only, except :func:`set_verdict` (an action). The audit log is append-only, so a verdict
is a row of its own (``guard_verdicts``) pointing at the entry it judges.
"""

from __future__ import annotations

import csv
import io
import json
import re
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.compliance.audit import GuardAudit
from kefu.compliance.models import VERDICTS, GuardVerdict
from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.audit import AuditEntry
from kefu.core.config import get_settings
from kefu.core.db import utcnow
from kefu.core.errors import NotFound, ValidationFailed
from kefu.core.security import User, audit_checkpoint_key, require
from kefu.customers import service as customers
from kefu.customers.kyc import plain_text
from kefu.desk import service as desk

__all__ = [
    "GUARD_KINDS",
    "Period",
    "audit_csv",
    "audit_entries",
    "guard_events",
    "labelled_jsonl",
    "reveals",
    "rule_scores",
    "set_verdict",
    "staff_choices",
    "verify_log",
]

#: the guard's decisions on record, by audit action
GUARD_KINDS = {
    str(GuardAudit.block): "block",
    str(GuardAudit.warn): "warn",
    str(GuardAudit.override): "override",
    str(GuardAudit.report): "report",
}
#: how many recent entries a search in the entries' contents looks through
SCAN_LIMIT = 5000
_CJK = re.compile(r"[\u3400-\u9fff]")


@dataclass(frozen=True)
class Period:
    """Local calendar days (Asia/Shanghai), both ends included; None is open."""

    since: date | None = None
    until: date | None = None

    def bounds(self) -> tuple[datetime | None, datetime | None]:
        zone = ZoneInfo(get_settings().timezone)
        start = datetime.combine(self.since, time.min, tzinfo=zone) if self.since else None
        end = (
            datetime.combine(self.until + timedelta(days=1), time.min, tzinfo=zone)
            if self.until
            else None
        )
        return start, end


def staff_choices(db: Session, lang: str = "zh-CN") -> list[tuple[int, str]]:
    """(id, name) of the staff who answer customers, for the consoles' agent filters."""
    rows = db.scalars(
        select(User).where(User.role.in_(("agent", "supervisor", "admin"))).order_by(User.id)
    )
    return [(u.id, u.name_for(lang)) for u in rows]


def _names(db: Session, ids: Iterable[int | None], lang: str) -> dict[int, str]:
    wanted = {i for i in ids if i}
    if not wanted:
        return {}
    return {u.id: u.name_for(lang) for u in db.scalars(select(User).where(User.id.in_(wanted)))}


def _entries(
    db: Session,
    *,
    actions: Iterable[str] | None = None,
    actor_id: int | None = None,
    period: Period = Period(),
    entity: str | None = None,
    entity_id: str | None = None,
    limit: int = SCAN_LIMIT,
) -> list[AuditEntry]:
    stmt = select(AuditEntry)
    if actions is not None:
        stmt = stmt.where(AuditEntry.action.in_(list(actions)))
    if actor_id is not None:
        stmt = stmt.where(AuditEntry.actor_id == actor_id)
    if entity:
        stmt = stmt.where(AuditEntry.entity == entity)
    if entity_id:
        stmt = stmt.where(AuditEntry.entity_id == entity_id)
    start, end = period.bounds()
    if start is not None:
        stmt = stmt.where(AuditEntry.at >= start)
    if end is not None:
        stmt = stmt.where(AuditEntry.at < end)
    return list(db.scalars(stmt.order_by(AuditEntry.id.desc()).limit(limit)))


# --- guard decisions -----------------------------------------------------------------------


def _rules(e: AuditEntry) -> list[str]:
    return [str(f.get("rule", "")) for f in (e.data or {}).get("findings") or []]


def _context(db: Session, viewer: User, case_id: int, at: datetime) -> list[dict[str, Any]]:
    """The last three messages of the case before the decision, as staff read them (masked)."""
    try:
        case = desk.visible_case(db, viewer=viewer, case_id=case_id)
    except NotFound:
        return []
    before = [m for m in desk.visible_messages(db, viewer=viewer, case=case) if m.created_at <= at]
    return [
        {"kind": m.kind, "at": m.created_at.isoformat(), "text": m.redacted or ""}
        for m in before[-3:]
    ]


def guard_events(
    db: Session,
    *,
    viewer: User,
    agent_id: int | None = None,
    rule: str = "",
    kind: str = "",
    verdict: str = "",
    period: Period = Period(),
    lang: str = "zh-CN",
    limit: int = 100,
    with_context: bool = True,
) -> list[dict[str, Any]]:
    """Guard decisions on record, newest first, filtered by agent, rule, kind, verdict and
    period; each with its findings, its verdict and (``with_context``) the conversation."""
    require(viewer, "audit.read")
    actions = [a for a, k in GUARD_KINDS.items() if not kind or k == kind]
    rows = _entries(db, actions=actions, actor_id=agent_id, period=period)
    if rule:
        rows = [e for e in rows if rule in _rules(e)]
    verdicts = {
        v.audit_id: v
        for v in db.scalars(
            select(GuardVerdict).where(GuardVerdict.audit_id.in_([e.id for e in rows]))
        )
    }
    if verdict == "none":
        rows = [e for e in rows if e.id not in verdicts]
    elif verdict:
        rows = [e for e in rows if e.id in verdicts and verdicts[e.id].verdict == verdict]
    rows = rows[:limit]
    names = _names(db, [e.actor_id for e in rows] + [v.actor_id for v in verdicts.values()], lang)
    out = []
    for e in rows:
        v = verdicts.get(e.id)
        case_id = int(e.entity_id) if e.entity == "case" and e.entity_id.isdigit() else None
        findings = (e.data or {}).get("findings") or []
        out.append(
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "kind": GUARD_KINDS[e.action],
                "actor_id": e.actor_id,
                "actor": names.get(e.actor_id or 0, "—"),
                "case_id": case_id,
                "text": (e.data or {}).get("text", ""),
                "findings": [
                    {
                        "rule": f.get("rule", ""),
                        "category": f.get("category", ""),
                        "match": f.get("match", ""),
                        "explanation": (f.get("explanation") or {}).get(
                            "en" if lang.startswith("en") else "zh", ""
                        ),
                    }
                    for f in findings
                ],
                "verdict": v.verdict if v else None,
                "verdict_note": v.note if v else "",
                "verdict_by": names.get(v.actor_id or 0) if v else None,
                "context": (
                    _context(db, viewer, case_id, e.at) if with_context and case_id else []
                ),
            }
        )
    return out


@action
def set_verdict(
    db: Session, *, actor: User, audit_id: int, verdict: str, note: str = ""
) -> GuardVerdict:
    """The compliance officer's judgement of one guard decision: ``confirmed`` (the guard was
    right) or ``false_positive``; a changed mind replaces the verdict, on record."""
    require(actor, "guard.review")
    if verdict not in VERDICTS:
        raise ValidationFailed(
            key="compliance_review.errors.verdict",
            fields=[{"field": "verdict", "message": "confirmed | false_positive"}],
        )
    note = plain_text("note", note)
    entry = db.get(AuditEntry, audit_id)
    if entry is None or entry.action not in GUARD_KINDS:
        raise NotFound(key="compliance_review.errors.decision_missing", params={"id": audit_id})
    row = db.scalar(select(GuardVerdict).where(GuardVerdict.audit_id == audit_id))
    old = row.verdict if row else None
    if row is not None and row.verdict == verdict and row.note == note:
        unchanged(db)
        return row
    if row is None:
        row = GuardVerdict(audit_id=audit_id)
        db.add(row)
    row.verdict, row.note, row.actor_id, row.at = verdict, note, actor.id, utcnow()
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=GuardAudit.verdict,
        entity="audit",
        entity_id=audit_id,
        data={
            "verdict": {"old": old, "new": verdict},
            "note": row.note,
            "decision": GUARD_KINDS[entry.action],
            "rules": _rules(entry),
        },
    )
    return row


def rule_scores(db: Session, *, viewer: User) -> list[dict[str, Any]]:
    """Per rule: decisions judged confirmed and false positive, and the precision they give."""
    require(viewer, "audit.read")
    pairs = db.execute(
        select(AuditEntry, GuardVerdict).join(GuardVerdict, GuardVerdict.audit_id == AuditEntry.id)
    ).all()
    counts: Counter[tuple[str, str]] = Counter()
    for e, v in pairs:
        for r in set(_rules(e)) or {"(none)"}:
            counts[(r, v.verdict)] += 1
    rules = sorted({r for r, _ in counts})
    out = []
    for r in rules:
        ok, fp = counts[(r, "confirmed")], counts[(r, "false_positive")]
        out.append({"rule": r, "confirmed": ok, "false_positive": fp, "precision": ok / (ok + fp)})
    return sorted(out, key=lambda x: (x["precision"], -x["false_positive"]))


def labelled_jsonl(db: Session, *, viewer: User) -> Iterator[str]:
    """The judged decisions as labelled data, one JSON line each, in the blind sets' format
    (tests/compliance/blind): a confirmed decision keeps the guard's verdict and categories,
    a false positive is labelled ``allow`` and marked as a trap."""
    require(viewer, "audit.read")
    pairs = db.execute(
        select(AuditEntry, GuardVerdict)
        .join(GuardVerdict, GuardVerdict.audit_id == AuditEntry.id)
        .order_by(AuditEntry.id)
    ).all()
    for e, v in pairs:
        kind = GUARD_KINDS[e.action]
        text = str((e.data or {}).get("text", ""))
        findings = (e.data or {}).get("findings") or []
        confirmed = v.verdict == "confirmed"
        speaker = "customer" if kind == "report" else "agent"
        expected = "allow"
        if confirmed and speaker == "agent":
            expected = "block" if kind == "block" else "warn"
        yield json.dumps(
            {
                "id": f"audit-{e.id}",
                "speaker": speaker,
                "lang": "zh" if _CJK.search(text) else "en",
                "text": text,
                "expected": expected,
                "categories": sorted({f.get("category", "") for f in findings})
                if confirmed
                else [],
                "pii": [],
                "report": confirmed and kind == "report",
                "trap": not confirmed,
                "note": f"{kind} judged {v.verdict}" + (f": {v.note}" if v.note else ""),
                "rules": _rules(e),
            },
            ensure_ascii=False,
        )


# --- the audit log -------------------------------------------------------------------------


def _entry_view(e: AuditEntry, names: dict[int, str]) -> dict[str, Any]:
    return {
        "id": e.id,
        "seq": e.seq,
        "at": e.at.isoformat(),
        "actor_id": e.actor_id,
        "actor": names.get(e.actor_id or 0, "system" if e.actor_id is None else "?"),
        "action": e.action,
        "entity": e.entity,
        "entity_id": e.entity_id,
        "data": json.dumps(e.data or {}, ensure_ascii=False, sort_keys=True),
        "hash": e.hash,
    }


def audit_entries(
    db: Session,
    *,
    viewer: User,
    q: str = "",
    action_prefix: str = "",
    actor_id: int | None = None,
    entity: str = "",
    entity_id: str = "",
    period: Period = Period(),
    lang: str = "zh-CN",
    limit: int = 200,
) -> list[dict[str, Any]]:
    """The audit log, newest first: filtered by action (prefix), actor, entity and period in
    the database, then by ``q`` in the entry's contents over the latest SCAN_LIMIT matches."""
    require(viewer, "audit.read")
    rows = _entries(
        db, actor_id=actor_id, period=period, entity=entity or None, entity_id=entity_id or None
    )
    if action_prefix:
        rows = [e for e in rows if e.action.startswith(action_prefix)]
    names = _names(db, [e.actor_id for e in rows], lang)
    views = (_entry_view(e, names) for e in rows)
    needle = q.strip().casefold()
    out = []
    for v in views:
        hay = f"{v['action']} {v['entity']}:{v['entity_id']} {v['actor']} {v['data']}"
        if not needle or needle in hay.casefold():
            out.append(v)
            if len(out) >= limit:
                break
    return out


def audit_csv(rows: Iterable[dict[str, Any]]) -> str:
    """The entries as CSV (UTF-8 with a BOM so spreadsheet programs read the Chinese)."""
    buf = io.StringIO()
    buf.write("\ufeff")
    cols = ["id", "seq", "at", "actor_id", "actor", "action", "entity", "entity_id", "data", "hash"]
    writer = csv.DictWriter(buf, fieldnames=cols, extrasaction="ignore")
    writer.writeheader()
    for r in rows:
        writer.writerow(r)
    return buf.getvalue()


def verify_log(db: Session, *, viewer: User) -> dict[str, Any]:
    """``kefu audit verify`` from the console: the chain and the signed checkpoints on file."""
    require(viewer, "audit.read")
    checkpoints = audit.read_checkpoints(get_settings().checkpoint_path())
    result = audit.verify(db, checkpoints=checkpoints, key=audit_checkpoint_key())
    return {
        "ok": result.ok,
        "checked": result.checked,
        "pending": result.pending,
        "broken_seq": result.broken_seq,
        "broken_id": result.broken_id,
        "reason": result.reason,
        "checkpoints": len(checkpoints),
    }


# --- personal-data reveals -----------------------------------------------------------------


def reveals(
    db: Session,
    *,
    viewer: User,
    actor_id: int | None = None,
    customer_code: str = "",
    period: Period = Period(),
    lang: str = "zh-CN",
    limit: int = 500,
) -> list[dict[str, Any]]:
    """Who revealed whose personal data, which field, when and why."""
    require(viewer, "audit.read")
    entity_id = ""
    if customer_code.strip():
        found = [c for c in customers.search_customers(db, viewer=viewer, q=customer_code.strip())]
        if not found:
            return []
        entity_id = str(found[0].id)
    rows = _entries(
        db,
        actions=["pii.reveal"],
        actor_id=actor_id,
        period=period,
        entity="customer",
        entity_id=entity_id or None,
        limit=limit,
    )
    names = _names(db, [e.actor_id for e in rows], lang)
    people = customers.customers_by_id(
        db, {int(e.entity_id) for e in rows if e.entity_id.isdigit()}
    )
    out = []
    for e in rows:
        c = people.get(int(e.entity_id)) if e.entity_id.isdigit() else None
        out.append(
            {
                "id": e.id,
                "at": e.at.isoformat(),
                "actor_id": e.actor_id,
                "actor": names.get(e.actor_id or 0, "?"),
                "customer_id": c.id if c else None,
                "customer": c.name_for(lang) if c else e.entity_id,
                "code": c.code if c else "",
                "field": (e.data or {}).get("field", ""),
                "reason": (e.data or {}).get("reason", ""),
            }
        )
    return out
