"""Monitoring against the database: the engine over the stored history, alerts recorded into
the customer's open AML case (the batch scan and the streaming check share this path)."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from functools import lru_cache
from pathlib import Path

import polars as pl
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.aml.audit import AmlAudit
from kefu.aml.content import load_policy, policy_path
from kefu.aml.models import AmlAlert, AmlCase, AmlNote, AmlParty, AmlSnooze
from kefu.aml.monitor import (
    CUSTOMER_SCHEMA,
    TXN_SCHEMA,
    UNIT,
    Alert,
    Policy,
    add_working_days,
    alerts,
    local_day,
)
from kefu.core import audit
from kefu.core.actions import action
from kefu.core.db import utcnow
from kefu.core.events import emit
from kefu.core.security import User, require
from kefu.customers import backoffice
from kefu.customers import service as customers
from kefu.desk import service as desk

__all__ = [
    "LARGE_VALUE_RULES",
    "Outcome",
    "check_new",
    "current_policy",
    "history_frames",
    "record_alerts",
    "report_due",
    "scan_database",
    "working_calendar",
]

#: alerts that are large-value reports, due within the policy's working days
LARGE_VALUE_RULES = ("large_cash", "large_transfer")
#: how far back the streaming check reads: the longest window (7 days) plus a calendar day
LOOKBACK = timedelta(days=8)


@lru_cache(maxsize=8)
def _policy_at(path: Path, stamp: int, day: date) -> Policy:
    return load_policy(path, as_of=day)


def current_policy() -> Policy:
    """The configured policy with today's registry values (re-read when the file changes)."""
    path = policy_path()
    return _policy_at(path, path.stat().st_mtime_ns, date.today())


def history_frames(
    db: Session, *, customer_ids: Sequence[int] | None = None, since: datetime | None = None
) -> tuple[pl.DataFrame, pl.DataFrame]:
    """The stored history as the engine's two frames (ids as text; amounts in units)."""
    cols = backoffice.history(db, customer_ids=customer_ids, since=since)
    txns = pl.DataFrame(
        {
            "txn_id": cols["txn_id"],
            "customer_id": [str(c) for c in cols["customer_id"]],
            "ts": cols["ts"],
            "kind": cols["kind"],
            "amount": pl.Series(cols["amount"], dtype=pl.Decimal(24, 4)),
            "method": cols["method"],
            "counterparty_name": cols["counterparty_name"],
        },
        schema_overrides={"ts": pl.Datetime("us", "UTC")},
    ).with_columns((pl.col("amount") * UNIT).cast(pl.Int64))
    ids = sorted({int(c) for c in cols["customer_id"]})
    people = customers.customers_by_id(db, ids)
    stmt = select(AmlParty.customer_id, AmlParty.party_type).where(AmlParty.customer_id.in_(ids))
    parties = {cid: kind for cid, kind in db.execute(stmt)} if ids else {}
    cust = pl.DataFrame(
        {
            "customer_id": [str(i) for i in ids],
            "name": [people[i].name_zh if i in people else "" for i in ids],
            "type": [parties.get(i, "individual") for i in ids],
            "alt_name": [(people[i].name_en or None) if i in people else None for i in ids],
        },
        schema={**CUSTOMER_SCHEMA, "alt_name": pl.String},
    )
    return cust, txns.select([pl.col(c).cast(t) for c, t in TXN_SCHEMA.items()])


def working_calendar(db: Session) -> tuple[frozenset[date], frozenset[date]]:
    cals = desk.list_calendars(db)
    if not cals:
        return frozenset(), frozenset()
    cal = cals[0]
    return (
        frozenset(date.fromisoformat(d) for d in cal.holidays or []),
        frozenset(date.fromisoformat(d) for d in cal.workdays or []),
    )


def report_due(db: Session, a: Alert | AmlAlert, policy: Policy) -> date | None:
    """A large-value report is due within the policy's working days of the transaction day."""
    if a.rule not in LARGE_VALUE_RULES:
        return None
    holidays, workdays = working_calendar(db)
    return add_working_days(
        local_day(a.window_start, policy.timezone),
        policy.report_deadline_working_days,
        holidays,
        workdays,
    )


@dataclass
class Outcome:
    raised: list[AmlAlert]
    updated: list[AmlAlert]
    snoozed: int


def _open_case(db: Session, customer_id: int, actor_id: int | None) -> AmlCase:
    case = db.scalar(
        select(AmlCase)
        .where(AmlCase.customer_id == customer_id, AmlCase.status != "closed")
        .order_by(AmlCase.id)
    )
    if case is None:
        case = AmlCase(customer_id=customer_id, status="open", opened_at=utcnow())
        db.add(case)
        db.flush()
        audit.record(
            db,
            actor_id=actor_id,
            action=AmlAudit.case_opened,
            entity="aml_case",
            entity_id=case.id,
            data={"customer_id": customer_id},
        )
    return case


def record_alerts(
    db: Session, found: Sequence[Alert], *, actor_id: int | None, raised_by: str, policy: Policy
) -> Outcome:
    """Stores new alerts (each opens or joins its customer's open case), grows the alerts a
    later transaction extends, and leaves out what a snooze silences. Runs inside the action
    that found them (a feed batch, a scan); each alert has its own audit entry."""
    out = Outcome([], [], 0)
    if not found:
        return out
    now = utcnow()
    keys = [a.key for a in found]
    existing = {r.key: r for r in db.scalars(select(AmlAlert).where(AmlAlert.key.in_(keys)))}
    cids = sorted({int(a.customer_id) for a in found})
    snoozed = {
        (s.customer_id, s.rule)
        for s in db.scalars(
            select(AmlSnooze).where(AmlSnooze.customer_id.in_(cids), AmlSnooze.until > now)
        )
    }
    for a in found:
        cid = int(a.customer_id)
        row = existing.get(a.key)
        if row is not None:
            if list(a.txn_ids) != list(row.txn_refs):
                case = db.get(AmlCase, row.case_id)
                if case is None or case.status == "closed":
                    continue  # reviewed and closed: the officer's verdict stands
                old = {"txn_refs": row.txn_refs, "amount": str(row.amount)}
                row.txn_refs, row.amount, row.txn_count = list(a.txn_ids), a.amount, a.count
                row.window_start, row.window_end = a.window_start, a.window_end
                row.explanation_zh, row.explanation_en = a.explanation["zh"], a.explanation["en"]
                audit.record(
                    db,
                    actor_id=actor_id,
                    action=AmlAudit.alert_updated,
                    entity="aml_alert",
                    entity_id=row.id,
                    data={"old": old, "new": {"txn_refs": row.txn_refs, "amount": str(a.amount)}},
                )
                out.updated.append(row)
            continue
        if (cid, a.rule) in snoozed:
            out.snoozed += 1
            continue
        case = _open_case(db, cid, actor_id)
        due = report_due(db, a, policy)
        row = AmlAlert(
            key=a.key,
            customer_id=cid,
            case_id=case.id,
            rule=a.rule,
            direction=a.direction,
            txn_refs=list(a.txn_ids),
            amount=a.amount,
            txn_count=a.count,
            window_start=a.window_start,
            window_end=a.window_end,
            explanation_zh=a.explanation["zh"],
            explanation_en=a.explanation["en"],
            raised_at=now,
            raised_by=raised_by,
            report_due_on=due,
        )
        db.add(row)
        if due is not None and (case.report_due_on is None or due < case.report_due_on):
            case.report_due_on = due
        db.flush()
        db.add(AmlNote(case_id=case.id, author_id=None, kind="alert", body=a.rule, at=now))
        audit.record(
            db,
            actor_id=actor_id,
            action=AmlAudit.alert_raised,
            entity="aml_alert",
            entity_id=row.id,
            data={
                "case_id": case.id,
                "customer_id": cid,
                "rule": a.rule,
                "txn_refs": list(a.txn_ids)[:50],
                "amount": str(a.amount),
            },
        )
        # compliance only: the desk is never told (no tipping off)
        emit(db, "compliance", {"type": "aml.alert", "alert_id": row.id, "case_id": case.id})
        out.raised.append(row)
    db.flush()
    return out


def check_new(
    db: Session,
    *,
    new_refs: dict[int, list[tuple[str, datetime]]],
    actor_id: int | None,
    policy: Policy | None = None,
) -> Outcome:
    """The streaming check: the rules over each affected customer's recent history (from the
    database, back to the longest window before their earliest new transaction), keeping the
    alerts that involve a new transaction. ``new_refs``: customer id -> [(txn id, ts)]."""
    if not new_refs:
        return Outcome([], [], 0)
    policy = policy or current_policy()
    since = min(ts for refs in new_refs.values() for _, ts in refs) - LOOKBACK
    cust, txns = history_frames(db, customer_ids=sorted(new_refs), since=since)
    fresh = {ref for refs in new_refs.values() for ref, _ in refs}
    found = [a for a in alerts(cust, txns, policy) if fresh.intersection(a.txn_ids)]
    return record_alerts(db, found, actor_id=actor_id, raised_by="stream", policy=policy)


@action
def scan_database(db: Session, *, actor: User | None) -> tuple[list[Alert], Outcome]:
    """Every rule over the whole stored history; new alerts are recorded (``actor`` None: the
    command line)."""
    if actor is not None:
        require(actor, "aml.manage")
    policy = current_policy()
    cust, txns = history_frames(db)
    found = alerts(cust, txns, policy)
    outcome = record_alerts(
        db, found, actor_id=actor.id if actor else None, raised_by="scan", policy=policy
    )
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=AmlAudit.scan,
        entity="aml",
        entity_id="database",
        data={
            "transactions": txns.height,
            "alerts": len(found),
            "raised": len(outcome.raised),
            "updated": len(outcome.updated),
            "snoozed": outcome.snoozed,
        },
    )
    return found, outcome
