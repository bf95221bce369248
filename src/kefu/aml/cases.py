"""The compliance officer's work on alerts and AML cases: lists, the case with the customer's
timeline, and the audited steps (assign, comment, escalate, close, snooze, report export)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta
from decimal import Decimal
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.aml.alerts import current_policy, working_calendar
from kefu.aml.audit import AmlAudit
from kefu.aml.models import OUTCOMES, AmlAlert, AmlCase, AmlNote, AmlParty, AmlSnooze
from kefu.aml.monitor import RULES, add_working_days
from kefu.core import audit
from kefu.core.actions import action
from kefu.core.db import utcnow
from kefu.core.errors import Conflict, NotFound, Phrase, ValidationFailed
from kefu.core.security import User, can, require
from kefu.customers import service as customers
from kefu.desk import service as desk

__all__ = [
    "CaseView",
    "add_comment",
    "alert_list",
    "assign",
    "attention",
    "case_list",
    "case_view",
    "close_case",
    "compliance_officers",
    "escalate",
    "export_report",
    "snooze_rule",
]

CASE_FILTERS = ("open", "escalated", "closed", "all")


def attention(db: Session, customer_id: int) -> bool:
    """Whether the desk should follow standard procedure with this customer: true while an
    AML case is open. Nothing else about the case leaves this context (no tipping off)."""
    return (
        db.scalar(
            select(AmlCase.id)
            .where(AmlCase.customer_id == customer_id, AmlCase.status != "closed")
            .limit(1)
        )
        is not None
    )


def _names(db: Session, ids: set[int], lang: str) -> dict[int, str]:
    return {i: c.name_for(lang) for i, c in customers.customers_by_id(db, ids).items()}


def alert_list(
    db: Session,
    *,
    viewer: User,
    lang: str = "zh-CN",
    rule: str = "",
    status: str = "open",
    customer: str = "",
    since: date | None = None,
    limit: int = 200,
) -> list[dict[str, Any]]:
    """Alerts, newest first, filtered by rule, by their case's status, by customer code or name
    and by the day they were raised."""
    require(viewer, "aml.read")
    stmt = select(AmlAlert, AmlCase).join(AmlCase, AmlCase.id == AmlAlert.case_id)
    if rule:
        stmt = stmt.where(AmlAlert.rule == rule)
    if status == "open":
        stmt = stmt.where(AmlCase.status != "closed")
    elif status in ("escalated", "closed"):
        stmt = stmt.where(AmlCase.status == status)
    if customer.strip():
        ids = [c.id for c in customers.search_customers(db, viewer=viewer, q=customer, limit=200)]
        stmt = stmt.where(AmlAlert.customer_id.in_(ids or [-1]))
    if since is not None:
        stmt = stmt.where(
            AmlAlert.raised_at >= datetime.combine(since, datetime.min.time()).astimezone()
        )
    rows = list(
        db.execute(stmt.order_by(AmlAlert.raised_at.desc(), AmlAlert.id.desc()).limit(limit))
    )
    names = _names(db, {a.customer_id for a, _ in rows}, lang)
    return [
        {
            "id": a.id,
            "case_id": c.id,
            "case_status": c.status,
            "customer_id": a.customer_id,
            "customer": names.get(a.customer_id, ""),
            "rule": a.rule,
            "amount": format(Decimal(_money(a.amount)), ","),
            "txn_count": a.txn_count,
            "window_start": a.window_start,
            "window_end": a.window_end,
            "raised_at": a.raised_at,
            "report_due_on": a.report_due_on,
            "explanation": a.explanation(lang),
        }
        for a, c in rows
    ]


def case_list(
    db: Session, *, viewer: User, lang: str = "zh-CN", status: str = "open", mine: bool = False
) -> list[dict[str, Any]]:
    require(viewer, "aml.read")
    stmt = select(AmlCase)
    if status == "open":
        stmt = stmt.where(AmlCase.status != "closed")
    elif status in ("escalated", "closed"):
        stmt = stmt.where(AmlCase.status == status)
    if mine:
        stmt = stmt.where(AmlCase.assignee_id == viewer.id)
    cases = list(db.scalars(stmt.order_by(AmlCase.opened_at.desc(), AmlCase.id.desc()).limit(500)))
    counted = (
        select(AmlAlert.case_id, func.count())
        .where(AmlAlert.case_id.in_([c.id for c in cases] or [-1]))
        .group_by(AmlAlert.case_id)
    )
    counts: dict[int, int] = {cid: n for cid, n in db.execute(counted)}
    rules: dict[int, set[str]] = {}
    for cid, r in db.execute(
        select(AmlAlert.case_id, AmlAlert.rule).where(
            AmlAlert.case_id.in_([c.id for c in cases] or [-1])
        )
    ):
        rules.setdefault(cid, set()).add(r)
    names = _names(db, {c.customer_id for c in cases}, lang)
    staff = {u.id: u.name_for(lang) for u in compliance_officers(db)}
    return [
        {
            "id": c.id,
            "customer_id": c.customer_id,
            "customer": names.get(c.customer_id, ""),
            "status": c.status,
            "outcome": c.outcome,
            "assignee": staff.get(c.assignee_id or 0, ""),
            "alerts": counts.get(c.id, 0),
            "rules": sorted(rules.get(c.id, ())),
            "opened_at": c.opened_at,
            "report_due_on": c.report_due_on,
        }
        for c in cases
    ]


def compliance_officers(db: Session) -> list[User]:
    """Who may be assigned an AML case (active users holding aml.manage)."""
    users = db.scalars(select(User).where(User.is_active.is_(True)).order_by(User.id))
    return [u for u in users if can(u, "aml.manage")]


@dataclass
class CaseView:
    case: AmlCase
    customer: dict[str, Any]
    party_type: str
    alerts: list[AmlAlert]
    notes: list[tuple[AmlNote, str]]
    timeline: list[dict[str, Any]]
    snoozes: list[AmlSnooze]
    assignee: str


def _case(db: Session, case_id: int) -> AmlCase:
    case = db.get(AmlCase, case_id)
    if case is None:
        raise NotFound(key="aml.errors.case_missing", params={"id": case_id})
    return case


def case_view(db: Session, *, viewer: User, case_id: int, lang: str = "zh-CN") -> CaseView:
    """The case, its alerts and history, and the customer's timeline: transfers, trades,
    chats and tickets (the customers context's and the desk's public faces)."""
    require(viewer, "aml.read")
    case = _case(db, case_id)
    c360 = customers.customer_360(db, viewer=viewer, customer_id=case.customer_id, lang=lang)
    alerts = list(
        db.scalars(select(AmlAlert).where(AmlAlert.case_id == case.id).order_by(AmlAlert.id))
    )
    flagged = {ref for a in alerts for ref in a.txn_refs}
    timeline: list[dict[str, Any]] = []
    for f in c360["transfers"]:
        ref = f"transfer:{f['ref']}"
        timeline.append(
            {
                "at": f["at"],
                "kind": f["direction"],
                "group": "transfer_direction",
                "what": "",
                "what_code": ("transfer_channel", f["channel"]),
                "amount": f["amount"],
                "ref": f["ref"],
                "flagged": ref in flagged,
            }
        )
    for t in c360["trades"]:
        kind, group = (
            (t["side"], "side")
            if t["side"]
            else (t["direction"], "direction")
            if t["direction"]
            else (t["kind"], "trade_kind")
        )
        timeline.append(
            {
                "at": t["at"],
                "kind": kind,
                "group": group,
                "what": f"{t['symbol']} {t['name'] or ''}".strip(),
                # a stake is money; an order is a quantity at a price
                "amount": t["stake"],
                "qty": t["qty"] if not t["stake"] else None,
                "price": t["price"],
                "ref": t["ref"],
                "flagged": f"trade:{t['ref']}" in flagged,
            }
        )
    for cs in desk.list_cases(db, viewer=viewer, customer_id=case.customer_id, limit=20):
        timeline.append(
            {
                "at": cs.created_at.isoformat(),
                "kind": cs.channel,
                "group": "channel",
                "what": cs.subject,
                "ref": f"#{cs.id}",
                "flagged": False,
                "href": f"/desk/cases/{cs.id}",
            }
        )
    timeline.sort(key=lambda e: e["at"] or "", reverse=True)
    notes: list[tuple[AmlNote, User | None]] = [
        (n, u)
        for n, u in db.execute(
            select(AmlNote, User)
            .outerjoin(User, User.id == AmlNote.author_id)
            .where(AmlNote.case_id == case.id)
            .order_by(AmlNote.at, AmlNote.id)
        )
    ]
    party = db.get(AmlParty, case.customer_id)
    assignee = db.get(User, case.assignee_id) if case.assignee_id else None
    return CaseView(
        case=case,
        customer=c360,
        party_type=party.party_type if party else "individual",
        alerts=alerts,
        notes=[(n, u.name_for(lang) if u else "") for n, u in notes],
        timeline=timeline,
        snoozes=list(
            db.scalars(
                select(AmlSnooze)
                .where(AmlSnooze.customer_id == case.customer_id, AmlSnooze.until > utcnow())
                .order_by(AmlSnooze.id)
            )
        ),
        assignee=assignee.name_for(lang) if assignee else "",
    )


def _money(d: Decimal) -> str:
    """2 places unless the amount has finer ones (stored with 4)."""
    cents = d.quantize(Decimal("0.01"))
    return str(cents) if cents == d else str(d.normalize())


def _iso(d: date | None) -> str | None:
    return d.isoformat() if d else None


def _note(db: Session, case: AmlCase, actor: User, kind: str, body: str) -> AmlNote:
    n = AmlNote(case_id=case.id, author_id=actor.id, kind=kind, body=body, at=utcnow())
    db.add(n)
    return n


def _open(case: AmlCase) -> None:
    if case.status == "closed":
        raise Conflict(key="aml.errors.case_closed", params={"id": case.id})


def _text(value: str, field: str, limit: int = 2000) -> str:
    v, name = value.strip(), Phrase(f"aml.errors.fields.{field}", field)
    if not v or len(v) > limit:
        key = "aml.errors.too_long" if v else "aml.errors.required"
        params = {"field": name, "limit": limit}
        raise ValidationFailed(key=key, params=params, fields=[{"field": field}])
    return v


@action
def assign(db: Session, *, actor: User, case_id: int, assignee_id: int) -> AmlCase:
    require(actor, "aml.manage")
    case = _case(db, case_id)
    _open(case)
    who = db.get(User, assignee_id)
    if who is None or not can(who, "aml.manage"):
        raise ValidationFailed(key="aml.errors.not_officer", fields=[{"field": "assignee_id"}])
    old = case.assignee_id
    case.assignee_id = who.id
    _note(db, case, actor, "assign", who.name_for("zh"))
    audit.record(
        db,
        actor_id=actor.id,
        action=AmlAudit.case_assigned,
        entity="aml_case",
        entity_id=case.id,
        data={"old": old, "new": who.id},
    )
    return case


@action
def add_comment(db: Session, *, actor: User, case_id: int, body: str) -> AmlNote:
    require(actor, "aml.manage")
    case = _case(db, case_id)
    note = _note(db, case, actor, "comment", _text(body, "body"))
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=AmlAudit.case_commented,
        entity="aml_case",
        entity_id=case.id,
        data={"note_id": note.id, "body": note.body[:500]},
    )
    return note


@action
def escalate(db: Session, *, actor: User, case_id: int, reason: str) -> AmlCase:
    """Escalates to the AML reporting officer (the case stays open, marked escalated)."""
    require(actor, "aml.manage")
    case = _case(db, case_id)
    _open(case)
    text = _text(reason, "reason")
    old = case.status
    case.status, case.escalated_at = "escalated", utcnow()
    _note(db, case, actor, "escalate", text)
    audit.record(
        db,
        actor_id=actor.id,
        action=AmlAudit.case_escalated,
        entity="aml_case",
        entity_id=case.id,
        data={"old": old, "new": "escalated", "reason": text[:500]},
    )
    return case


@action
def close_case(db: Session, *, actor: User, case_id: int, outcome: str, reason: str) -> AmlCase:
    """Closes the case as a false positive or as confirmed (a confirmed case is reported)."""
    require(actor, "aml.manage")
    case = _case(db, case_id)
    _open(case)
    if outcome not in OUTCOMES:
        raise ValidationFailed(key="aml.errors.outcome", fields=[{"field": "outcome"}])
    text = _text(reason, "reason")
    old = case.status
    case.status, case.outcome, case.closed_at = "closed", outcome, utcnow()
    _note(db, case, actor, "close", f"{outcome}: {text}")
    audit.record(
        db,
        actor_id=actor.id,
        action=AmlAudit.case_closed,
        entity="aml_case",
        entity_id=case.id,
        data={"old": old, "new": "closed", "outcome": outcome, "reason": text[:500]},
    )
    return case


@action
def snooze_rule(
    db: Session, *, actor: User, case_id: int, rule: str, days: int, reason: str
) -> AmlSnooze:
    """Silences one rule for the case's customer for ``days`` (1–365) with a reason; alerts
    of other rules, and of other customers, are raised as before."""
    require(actor, "aml.manage")
    case = _case(db, case_id)
    if rule not in RULES:
        raise ValidationFailed(
            key="aml.errors.unknown_rule", params={"rule": repr(rule)}, fields=[{"field": "rule"}]
        )
    if not 1 <= days <= 365:
        raise ValidationFailed(key="aml.errors.days", fields=[{"field": "days"}])
    text = _text(reason, "reason", 500)
    until = utcnow() + timedelta(days=days)
    row = AmlSnooze(
        customer_id=case.customer_id, rule=rule, until=until, reason=text, created_by=actor.id
    )
    db.add(row)
    _note(db, case, actor, "snooze", f"{rule} {days}d: {text}")
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=AmlAudit.rule_snoozed,
        entity="aml_case",
        entity_id=case.id,
        data={
            "customer_id": case.customer_id,
            "rule": rule,
            "until": until.isoformat(),
            "reason": text,
        },
    )
    return row


@action
def export_report(db: Session, *, actor: User, case_id: int, lang: str = "zh-CN") -> dict[str, Any]:
    """The suspicious-transaction report of a case: the reporting institution's fields, the
    customer, every alert and transaction, and the deadline (large-value reports within the
    policy's working days of the transaction; a suspicious report within the same of the
    officer's confirmation). The export itself is on record."""
    require(actor, "aml.manage")
    view = case_view(db, viewer=actor, case_id=case_id, lang=lang)
    case = view.case
    policy = current_policy()
    large = [a for a in view.alerts if a.report_due_on is not None]
    suspicious = [a for a in view.alerts if a.report_due_on is None]
    confirmed_day = (
        case.closed_at.date() if case.closed_at and case.outcome == "confirmed" else None
    )
    holidays, workdays = working_calendar(db)
    str_due = (
        add_working_days(confirmed_day, policy.report_deadline_working_days, holidays, workdays)
        if confirmed_day and suspicious
        else None
    )
    c = view.customer
    report = {
        "case_id": case.id,
        "status": case.status,
        "outcome": case.outcome,
        "customer": {
            "code": c["code"],
            "name": c["name_zh"],
            "name_en": c["name_en"],
            "party_type": view.party_type,
            "id_type": c["id_type"],
            "id_number": c["id_number"],  # masked: the full number is revealed on its own
            "opened_on": c["opened_on"],
            "accounts": [a["number"] for a in c["accounts"]],
        },
        "large_value_due_on": _iso(min((d for a in large if (d := a.report_due_on)), default=None)),
        "suspicious_due_on": _iso(str_due),
        "deadline_rule": f"{policy.report_deadline_working_days} working days",
        "alerts": [
            {
                "id": a.id,
                "rule": a.rule,
                "report": "large_value" if a.report_due_on else "suspicious",
                "direction": a.direction,
                "amount": _money(a.amount),
                "currency": "CNY",
                "transactions": list(a.txn_refs),
                "window_start": a.window_start.isoformat(),
                "window_end": a.window_end.isoformat(),
                "due_on": a.report_due_on.isoformat() if a.report_due_on else None,
                "explanation": a.explanation(lang),
                "source": policy.sources.get(a.rule, ""),
            }
            for a in view.alerts
        ],
        "notes": [
            {"at": n.at.isoformat(), "by": who, "kind": n.kind, "body": n.body}
            for n, who in view.notes
        ],
        "prepared_by": actor.name_for(lang),
        "prepared_at": utcnow().isoformat(),
    }
    _note(db, case, actor, "export", "STR")
    audit.record(
        db,
        actor_id=actor.id,
        action=AmlAudit.report_exported,
        entity="aml_case",
        entity_id=case.id,
        data={"alerts": len(view.alerts), "large_value_due_on": report["large_value_due_on"]},
    )
    return report
