"""Desk use cases. Actions change state, write the audit entry and queue the event together."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import func, select, text, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from kefu.compliance.service import screen_message, screen_text
from kefu.core import audit
from kefu.core.config import get_settings
from kefu.core.db import utcnow
from kefu.core.errors import Conflict, Forbidden, NotFound, PayloadTooLarge, ValidationFailed
from kefu.core.events import emit
from kefu.core.i18n import t
from kefu.core.security import Role, User, require
from kefu.core.textsearch import fts5_query, index_text, tsquery_terms
from kefu.customers.service import customer_exists, customer_for_user, customers_by_id
from kefu.desk import routing, sla, triage
from kefu.desk.models import (
    CATEGORIES,
    CHANNELS,
    PRIORITIES,
    AgentProfile,
    BusinessCalendar,
    CannedReply,
    Case,
    CaseStatus,
    CsatSurvey,
    Message,
    SlaPolicy,
)

BUILTIN_STATUSES = (
    # key, category, zh, en
    ("new", "open", "新建", "New"),
    ("open", "open", "处理中", "Open"),
    ("pending", "pending", "等待客户", "Waiting on customer"),
    ("on_hold", "pending", "挂起", "On hold"),
    ("resolved", "resolved", "已解决", "Resolved"),
    ("closed", "closed", "已关闭", "Closed"),
)


def _field_error(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", fields=[{"field": field, "message": message}])


def ensure_builtin_statuses(db: Session) -> None:
    existing = set(db.scalars(select(CaseStatus.key)))
    for pos, (key, cat, zh, en) in enumerate(BUILTIN_STATUSES):
        if key not in existing:
            db.add(
                CaseStatus(
                    key=key, category=cat, name_zh=zh, name_en=en, position=pos, is_builtin=True
                )
            )
    db.flush()


def status_by_key(db: Session, key: str) -> CaseStatus:
    st = db.scalar(select(CaseStatus).where(CaseStatus.key == key))
    if st is None:
        ensure_builtin_statuses(db)
        st = db.scalar(select(CaseStatus).where(CaseStatus.key == key))
    if st is None:
        keys = ", ".join(db.scalars(select(CaseStatus.key).order_by(CaseStatus.position)))
        raise _field_error("status", f"unknown status {key!r}; known: {keys}")
    return st


def create_status(
    db: Session, *, actor: User, key: str, category: str, name_zh: str, name_en: str
) -> CaseStatus:
    require(actor, "sla.manage")
    if category not in ("open", "pending", "resolved", "closed"):
        raise _field_error("category", "must be open, pending, resolved or closed")
    if not re.fullmatch(r"[a-z][a-z0-9_]{1,31}", key):
        raise _field_error("key", "lowercase letters, digits and _ (2–32 characters)")
    if db.scalar(select(CaseStatus).where(CaseStatus.key == key)):
        raise Conflict(f"status {key!r} already exists")
    pos = (db.scalar(select(func.max(CaseStatus.position))) or 0) + 1
    st = CaseStatus(key=key, category=category, name_zh=name_zh, name_en=name_en, position=pos)
    db.add(st)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action="status.create",
        entity="case_status",
        entity_id=st.id,
        data={"key": key, "category": category},
    )
    return st


# --- SLA ---------------------------------------------------------------------------------------


def calendar_of(row: BusinessCalendar) -> sla.Calendar:
    return sla.Calendar.from_dict(
        {
            "name": row.name,
            "timezone": row.timezone,
            "hours": row.hours,
            "holidays": row.holidays,
            "workdays": row.workdays,
        }
    )


@dataclass(frozen=True)
class Policy:
    priority: str
    first_response_minutes: int
    resolution_minutes: int
    calendar: sla.Calendar
    near_percent: int


def policy_for(db: Session, priority: str) -> Policy | None:
    row = db.scalar(select(SlaPolicy).where(SlaPolicy.priority == priority))
    if row is None:
        return None
    return Policy(
        row.priority,
        row.first_response_minutes,
        row.resolution_minutes,
        calendar_of(row.calendar),
        row.near_breach_percent,
    )


def _apply_sla(db: Session, case: Case, *, now: datetime) -> None:
    """(Re)computes the due times after creation or a priority change."""
    pol = policy_for(db, case.priority)
    if pol is None:
        case.first_response_due = case.resolution_due = None
    else:
        if case.first_response_at is None:
            case.first_response_due = sla.add_business_minutes(
                pol.calendar, case.created_at, pol.first_response_minutes
            )
        case.resolution_due = sla.add_business_minutes(
            pol.calendar, case.created_at, pol.resolution_minutes
        )
        if case.sla_paused_at is not None and case.resolution_due is not None:
            pass  # paused: dues are shifted on resume
    _refresh_next_due(case)


def _refresh_next_due(case: Case) -> None:
    if case.status_category != "open" or case.sla_paused_at is not None:
        case.next_due_at = None
        return
    dues = [
        d
        for d in (
            case.first_response_due if case.first_response_at is None else None,
            case.resolution_due,
        )
        if d is not None
    ]
    case.next_due_at = min(dues) if dues else None


def sla_view(
    db: Session,
    case: Case,
    *,
    now: datetime | None = None,
    policies: dict[str, Policy | None] | None = None,
) -> dict[str, Any]:
    now = now or utcnow()
    pol = (
        (policies or {}).get(case.priority)
        if policies is not None
        else policy_for(db, case.priority)
    )
    if pol is None:
        return {"first_response": _clock_dict(None), "resolution": _clock_dict(None)}
    paused = case.sla_paused_at
    fr = sla.sla_state(
        pol.calendar,
        started=case.created_at,
        due=case.first_response_due,
        now=now,
        completed_at=case.first_response_at,
        paused_at=None,
        near_percent=pol.near_percent,
    )
    done = case.resolved_at if case.status_category in ("resolved", "closed") else None
    rs = sla.sla_state(
        pol.calendar,
        started=case.created_at,
        due=case.resolution_due,
        now=now,
        completed_at=done,
        paused_at=paused,
        near_percent=pol.near_percent,
    )
    return {"first_response": _clock_dict(fr), "resolution": _clock_dict(rs)}


def _clock_dict(c: sla.SlaClock | None) -> dict[str, Any]:
    if c is None:
        return {"due": None, "state": "none", "remaining_minutes": None}
    return {
        "due": c.due.isoformat() if c.due else None,
        "state": c.state,
        "remaining_minutes": c.remaining_minutes,
    }


# --- cases -------------------------------------------------------------------------------------


def _check_choice(field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise _field_error(field, f"{value!r} is not one of {', '.join(allowed)}")


def _check_body(body: str) -> str:
    limit = get_settings().max_message_chars
    if len(body) > limit:
        raise PayloadTooLarge(
            f"message is {len(body)} characters; the limit is {limit}",
            limit=limit,
            fields=[{"field": "body", "message": "too long"}],
        )
    if not body.strip():
        raise _field_error("body", "must not be empty")
    bad = [ch for ch in body if ord(ch) < 32 and ch not in "\n\r\t"]
    if bad:
        raise _field_error("body", f"contains control character U+{ord(bad[0]):04X}")
    return body


def create_case(
    db: Session,
    *,
    actor: User,
    customer_id: int | None = None,
    channel: str = "web",
    subject: str,
    category: str | None = None,
    priority: str = "normal",
    language: str = "zh",
    body: str = "",
    transcript: str = "",
    call_minutes: int | None = None,
    external_ref: str | None = None,
    created_at: datetime | None = None,
    status: str = "new",
    auto_assign: bool = True,
) -> Case:
    """A new case. Without a ``category`` the routing model picks the queue from the subject and
    first message; the intent (the knowledge article that answers it) is recorded either way."""
    require(actor, "case.create")
    _check_choice("channel", channel, CHANNELS)
    if category is not None:
        _check_choice("category", category, CATEGORIES)
    _check_choice("priority", priority, PRIORITIES)
    subject = subject.strip()
    if not subject:
        raise _field_error("subject", "must not be empty")
    if len(subject) > 200:
        raise _field_error("subject", "at most 200 characters")
    if actor.role == Role.customer:
        me = customer_for_user(db, actor)
        if me is None:
            raise Forbidden("this login is not linked to a customer profile")
        if customer_id not in (None, me.id):
            raise NotFound(f"customer {customer_id} does not exist")
        customer_id = me.id
    elif customer_id is None or not customer_exists(db, customer_id):
        raise _field_error("customer_id", f"customer {customer_id} does not exist")
    if body:
        _check_body(body)
    if actor.role == Role.customer:
        subject = screen_text(subject, "customer")["redacted"]  # staff see it in every queue
    now = created_at or utcnow()
    st = status_by_key(db, status)
    routed = triage.route(db, f"{subject}\n{body or transcript}", categories=CATEGORIES)
    category_source = "given" if category is not None else "routing"
    category = category or routed.category
    case = Case(
        external_ref=external_ref,
        customer_id=customer_id,
        channel=channel,
        subject=subject,
        category=category,
        intent=routed.intent,
        priority=priority,
        status_id=st.id,
        status=st,
        status_category=st.category,
        language="en" if language.startswith("en") else "zh",
        created_by_id=actor.id,
        created_at=now,
        updated_at=now,
        transcript=transcript,
        call_minutes=call_minutes,
        search_text=index_text(subject, transcript),
    )
    db.add(case)
    db.flush()
    _apply_sla(db, case, now=now)
    audit.record(
        db,
        actor_id=actor.id,
        action="case.create",
        entity="case",
        entity_id=case.id,
        data={
            "channel": channel,
            "category": category,
            "category_source": category_source,
            "routing_confidence": routed.confidence,
            "intent": routed.intent,
            "priority": priority,
            "customer_id": customer_id,
            "subject": subject,
        },
    )
    if body and actor.role == Role.customer:
        # a customer's first message is screened like every later one: personal data masked
        # for staff, a report when someone posed as staff
        redacted, guard = screen_message(
            db, actor=actor, case_id=case.id, body=body, internal=False
        )
        _add_message(
            db,
            case=case,
            actor=actor,
            kind="customer",
            body=body,
            at=now,
            redacted=redacted,
            guard=guard,
        )
    elif body:  # an agent's call notes or the customer's words as the agent took them down
        _add_message(db, case=case, actor=actor, kind="agent", body=body, at=now)
    if auto_assign and case.assignee_id is None and st.category == "open":
        assign_automatically(db, case=case, actor=None)
    emit(db, "desk", {"type": "case.created", "case_id": case.id})
    return case


def visible_case(db: Session, *, viewer: User, case_id: int) -> Case:
    """The tenancy rule: a customer reaches only their own cases; another's id answers 404."""
    case = db.get(Case, case_id)
    if case is None:
        raise NotFound(f"case {case_id} does not exist")
    if viewer.role == Role.customer:
        me = customer_for_user(db, viewer)
        if me is None or case.customer_id != me.id:
            raise NotFound(f"case {case_id} does not exist")
    else:
        require(viewer, "case.read_all")
    return case


def categories() -> tuple[str, ...]:
    """The case categories: the desk's queues."""
    return CATEGORIES


def last_customer_text(case: Case) -> str:
    """What the customer said last (personal data masked), or the subject when they have not
    written yet: what the knowledge panel answers."""
    last = next((m for m in reversed(case.messages) if m.kind == "customer"), None)
    return last.redacted if last else case.subject


def visible_messages(db: Session, *, viewer: User, case: Case, after_id: int = 0) -> list[Message]:
    stmt = select(Message).where(Message.case_id == case.id, Message.id > after_id)
    if viewer.role == Role.customer:
        stmt = stmt.where(Message.kind != "note")
    return list(db.scalars(stmt.order_by(Message.seq, Message.id)))


def _add_message(
    db: Session,
    *,
    case: Case,
    actor: User | None,
    kind: str,
    body: str,
    at: datetime | None = None,
    idempotency_key: str | None = None,
    redacted: str | None = None,
    guard: dict[str, Any] | None = None,
) -> Message:
    at = at or utcnow()
    # the case row is the per-conversation lock: concurrent writers to one case take turns, so
    # seq order, id order and commit order agree and sockets can deliver strictly in order
    seq = db.execute(
        update(Case)
        .where(Case.id == case.id)
        .values(last_seq=Case.last_seq + 1)
        .returning(Case.last_seq)
    ).scalar_one()
    case.last_seq = seq
    msg = Message(
        case_id=case.id,
        seq=seq,
        kind=kind,
        author_id=actor.id if actor else None,
        body=body,
        redacted=body if redacted is None else redacted,
        created_at=at,
        idempotency_key=idempotency_key,
        guard=guard,
        search_text=index_text(body if redacted is None else redacted),
    )
    db.add(msg)
    db.flush()
    case.updated_at = at
    case.last_message_at = at
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=f"message.{kind}",
        entity="case",
        entity_id=case.id,
        data={"message_id": msg.id, "body": msg.redacted},
    )
    emit(
        db,
        f"case:{case.id}",
        {
            "type": "message",
            "case_id": case.id,
            "message_id": msg.id,
            "message": message_payload(msg, actor),
        },
    )
    emit(db, "desk", {"type": "case.updated", "case_id": case.id})
    return msg


def message_payload(msg: Message, author: User | None) -> dict[str, Any]:
    """What sockets push: both the body and its redacted form (each viewer gets the right one)."""
    return {
        "id": msg.id,
        "seq": msg.seq,
        "case_id": msg.case_id,
        "kind": msg.kind,
        "author_id": msg.author_id,
        "author": author.display_name if author else None,
        "author_en": (author.display_name_en or author.display_name) if author else None,
        "body": msg.body,
        "redacted": msg.redacted,
        "created_at": msg.created_at.isoformat(),
        "guard": msg.guard,
    }


def post_message(
    db: Session,
    *,
    actor: User,
    case_id: int,
    body: str,
    internal: bool = False,
    idempotency_key: str | None = None,
    confirm_warning: bool = False,
) -> tuple[Message, bool]:
    """Adds a reply or note. Returns (message, created); a repeated idempotency key returns the
    first message and ``created=False`` without writing anything."""
    case = visible_case(db, viewer=actor, case_id=case_id)
    if idempotency_key is not None:
        if not (1 <= len(idempotency_key) <= 64):
            raise _field_error("idempotency_key", "1–64 characters")
        prior = db.scalar(
            select(Message).where(
                Message.case_id == case.id, Message.idempotency_key == idempotency_key
            )
        )
        if prior is not None:
            if prior.author_id != actor.id:
                raise Conflict("this idempotency key was used by someone else")
            return prior, False
    _check_body(body)
    if internal:
        require(actor, "message.note")
        kind = "note"
    else:
        require(actor, "message.reply")
        kind = "customer" if actor.role == Role.customer else "agent"
    if case.status_category == "closed" and kind != "note":
        raise Conflict("the case is closed; open a new case instead")
    redacted, guard = screen_message(
        db,
        actor=actor,
        case_id=case.id,
        body=body,
        internal=internal,
        confirm_warning=confirm_warning,
    )
    now = utcnow()
    try:
        with db.begin_nested():
            msg = _add_message(
                db,
                case=case,
                actor=actor,
                kind=kind,
                body=body,
                at=now,
                idempotency_key=idempotency_key,
                redacted=redacted,
                guard=guard,
            )
    except IntegrityError:
        # a concurrent retry with the same key won the race: return its message
        prior = db.scalar(
            select(Message).where(
                Message.case_id == case.id, Message.idempotency_key == idempotency_key
            )
        )
        if prior is None:
            raise
        return prior, False
    if kind == "agent" and case.first_response_at is None:
        case.first_response_at = now
    if kind == "customer" and case.status_category in ("pending", "resolved"):
        # the customer answered: the case is live again and its clock runs
        _set_status(db, case=case, actor=actor, new=status_by_key(db, "open"), now=now)
    _refresh_next_due(case)
    return msg, True


def _set_status(
    db: Session, *, case: Case, actor: User | None, new: CaseStatus, now: datetime
) -> None:
    old_cat = case.status_category
    case.status_id, case.status, case.status_category = new.id, new, new.category
    if new.category == "pending" and case.sla_paused_at is None:
        case.sla_paused_at = now
    elif new.category != "pending" and case.sla_paused_at is not None:
        pol = policy_for(db, case.priority)
        if pol is not None:
            if case.resolution_due is not None:
                case.resolution_due = sla.resume_due(
                    pol.calendar,
                    due=case.resolution_due,
                    paused_at=case.sla_paused_at,
                    resumed_at=now,
                )
            if case.first_response_at is None and case.first_response_due is not None:
                case.first_response_due = sla.resume_due(
                    pol.calendar,
                    due=case.first_response_due,
                    paused_at=case.sla_paused_at,
                    resumed_at=now,
                )
        case.sla_paused_at = None
    if new.category == "resolved" and old_cat != "resolved":
        case.resolved_at = now
        _add_message(
            db,
            case=case,
            actor=None,
            kind="system",
            body=t("system.case_resolved", case.language) + " " + t("csat.request", case.language),
            at=now,
        )
        survey = db.scalar(select(CsatSurvey).where(CsatSurvey.case_id == case.id))
        if survey is None:
            db.add(CsatSurvey(case_id=case.id, requested_at=now))
    elif new.category == "closed":
        case.closed_at = now
        case.resolved_at = case.resolved_at or now
    elif new.category in ("open", "pending"):
        case.resolved_at = None
        case.closed_at = None
    case.updated_at = now
    _refresh_next_due(case)


def update_case(
    db: Session,
    *,
    actor: User,
    case_id: int,
    status: str | None = None,
    priority: str | None = None,
    category: str | None = None,
    assignee_id: int | None = None,
    unassign: bool = False,
    subject: str | None = None,
) -> Case:
    case = visible_case(db, viewer=actor, case_id=case_id)
    require(actor, "case.update")
    now = utcnow()
    old: dict[str, Any] = {}
    new: dict[str, Any] = {}
    if status is not None and status != case.status.key:
        st = status_by_key(db, status)
        old["status"], new["status"] = case.status.key, st.key
        _set_status(db, case=case, actor=actor, new=st, now=now)
    if priority is not None and priority != case.priority:
        _check_choice("priority", priority, PRIORITIES)
        old["priority"], new["priority"] = case.priority, priority
        case.priority = priority
        _apply_sla(db, case, now=now)
    if category is not None and category != case.category:
        _check_choice("category", category, CATEGORIES)
        old["category"], new["category"] = case.category, category
        case.category = category
    if subject is not None and subject.strip() != case.subject:
        if not subject.strip() or len(subject) > 200:
            raise _field_error("subject", "1–200 characters")
        old["subject"], new["subject"] = case.subject, subject.strip()
        case.subject = subject.strip()
        case.search_text = index_text(case.subject, case.transcript)
    if unassign or assignee_id is not None:
        target = None if unassign else assignee_id
        if target != case.assignee_id:
            if target is not None:
                if target != actor.id:
                    require(actor, "case.assign")
                agent = db.get(User, target)
                if agent is None or agent.role not in (Role.agent, Role.supervisor):
                    raise _field_error("assignee_id", f"user {target} is not an agent")
            old["assignee_id"], new["assignee_id"] = case.assignee_id, target
            case.assignee_id = target
            if target is not None:
                prof = db.get(AgentProfile, target)
                if prof is not None:
                    prof.last_assigned_at = now
    if not new:
        return case
    case.updated_at = now
    audit.record(
        db,
        actor_id=actor.id,
        action="case.update",
        entity="case",
        entity_id=case.id,
        data={"old": old, "new": new},
    )
    emit(db, f"case:{case.id}", {"type": "case.updated", "case_id": case.id, "changes": new})
    emit(db, "desk", {"type": "case.updated", "case_id": case.id})
    return case


# --- assignment --------------------------------------------------------------------------------


def agent_slots(db: Session) -> list[routing.AgentSlot]:
    rows = db.execute(
        select(Case.assignee_id, func.count())
        .where(Case.status_category.in_(("open", "pending")), Case.assignee_id.is_not(None))
        .group_by(Case.assignee_id)
    ).all()
    loads: dict[int, int] = {int(r[0] or 0): int(r[1]) for r in rows}
    slots = []
    for p in db.scalars(select(AgentProfile)):
        slots.append(
            routing.AgentSlot(
                agent_id=p.user_id,
                presence=p.presence,
                open_cases=int(loads.get(p.user_id, 0)),
                capacity=p.capacity,
                languages=frozenset(p.languages or ()),
                categories=frozenset(p.categories or ()),
                last_assigned_at=p.last_assigned_at,
            )
        )
    return slots


def assign_automatically(db: Session, *, case: Case, actor: User | None) -> int | None:
    """Round-robin among online agents with room, matching language (hard) and category (soft)."""
    if db.get_bind().dialect.name == "postgresql":
        # serialise concurrent auto-assignments so two workers never overfill one agent
        db.execute(text("SELECT pg_advisory_xact_lock(4242)"))
    chosen = routing.choose_agent(agent_slots(db), language=case.language, category=case.category)
    if chosen is None:
        return None
    now = utcnow()
    case.assignee_id = chosen
    prof = db.get(AgentProfile, chosen)
    if prof is not None:
        prof.last_assigned_at = now
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action="case.assign",
        entity="case",
        entity_id=case.id,
        data={"assignee_id": chosen, "how": "round_robin"},
    )
    emit(db, f"user:{chosen}", {"type": "case.assigned", "case_id": case.id})
    return chosen


def assign_waiting(db: Session) -> int:
    """Hands unassigned open cases (oldest due first) to agents with room; returns how many."""
    n = 0
    waiting = db.scalars(
        select(Case)
        .where(Case.assignee_id.is_(None), Case.status_category == "open")
        .order_by(Case.next_due_at.asc().nulls_last(), Case.id)
        .limit(200)
    ).all()
    for case in waiting:
        if assign_automatically(db, case=case, actor=None) is not None:
            n += 1
    return n


def set_presence(db: Session, *, actor: User, presence: str) -> AgentProfile:
    require(actor, "presence.set")
    _check_choice("presence", presence, ("online", "away", "offline"))
    prof = db.get(AgentProfile, actor.id)
    if prof is None:
        prof = AgentProfile(user_id=actor.id, languages=["zh"], categories=list(CATEGORIES))
        db.add(prof)
    old = prof.presence
    prof.presence, prof.presence_at = presence, utcnow()
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action="agent.presence",
        entity="user",
        entity_id=actor.id,
        data={"old": old, "new": presence},
    )
    emit(db, "desk", {"type": "presence", "user_id": actor.id, "presence": presence})
    if presence == "online":
        assign_waiting(db)
    return prof


# --- queues and search ------------------------------------------------------------------------


def search_case_ids(db: Session, q: str, *, limit: int = 200) -> list[int]:
    """Cases whose subject/transcript or any message matches every term of ``q`` (zh or en)."""
    dialect = db.get_bind().dialect.name
    if dialect == "sqlite":
        match = fts5_query(q)
        if match is None:
            return []
        rows = db.execute(
            text(
                "SELECT id FROM (SELECT rowid AS id FROM cases_fts WHERE cases_fts MATCH :m "
                "UNION SELECT m.case_id FROM messages_fts f JOIN messages m ON m.id = f.rowid "
                "WHERE messages_fts MATCH :m) ORDER BY id DESC LIMIT :n"
            ),
            {"m": match, "n": limit},
        )
        return [r[0] for r in rows]
    terms = tsquery_terms(q)
    if not terms:
        return []
    tsq = " & ".join(terms)
    # Newest first, widening the window: a common term is answered from the most recent rows
    # (GIN bitmap AND-ed with a primary-key range), a rare one falls through to the full index.
    # The bounds are integers we computed, inlined so the planner can combine the two indexes.
    db.execute(text("SET LOCAL work_mem = '32MB'"))
    max_m = int(db.scalar(select(func.max(Message.id))) or 0)
    max_c = int(db.scalar(select(func.max(Case.id))) or 0)
    found: list[int] = []
    for window in (200_000, 2_000_000, None):
        lo_m = max(0, max_m - window) if window else 0
        lo_c = max(0, max_c - window // 5) if window else 0
        params = {"q": tsq, "n": limit}
        case_hits = [
            r[0]
            for r in db.execute(
                text(
                    f"SELECT id FROM cases WHERE id > {lo_c:d} AND "
                    "to_tsvector('simple', search_text) @@ to_tsquery('simple', :q) "
                    "ORDER BY id DESC LIMIT :n"
                ),
                params,
            )
        ]
        msg_hits = [
            r[0]
            for r in db.execute(
                text(
                    f"SELECT case_id FROM messages WHERE id > {lo_m:d} AND "
                    "to_tsvector('simple', search_text) @@ to_tsquery('simple', :q) "
                    "ORDER BY id DESC LIMIT :n"
                ),
                params,
            )
        ]
        found = sorted(set(case_hits) | set(msg_hits), reverse=True)[:limit]
        # a window that filled either list holds the newest `limit` hits of that table
        saturated = len(case_hits) >= limit or len(msg_hits) >= limit
        if saturated or window is None or (lo_m == 0 and lo_c == 0):
            break
    return found


def list_cases(
    db: Session,
    *,
    viewer: User,
    status_category: str | None = None,
    status: str | None = None,
    assignee: str | None = None,
    category: str | None = None,
    priority: str | None = None,
    channel: str | None = None,
    customer_id: int | None = None,
    q: str | None = None,
    limit: int = 50,
    offset: int = 0,
) -> list[Case]:
    """The queue: open work first by the earliest running SLA deadline, then newest."""
    stmt = select(Case)
    if viewer.role == Role.customer:
        me = customer_for_user(db, viewer)
        if me is None:
            return []
        stmt = stmt.where(Case.customer_id == me.id)
    else:
        require(viewer, "case.read_all")
        if customer_id is not None:
            stmt = stmt.where(Case.customer_id == customer_id)
    if status_category:
        cats = [c for c in status_category.split(",") if c]
        for c in cats:
            _check_choice("status_category", c, ("open", "pending", "resolved", "closed"))
        stmt = stmt.where(Case.status_category.in_(cats))
    if status:
        stmt = stmt.where(Case.status_id == status_by_key(db, status).id)
    if category:
        _check_choice("category", category, CATEGORIES)
        stmt = stmt.where(Case.category == category)
    if priority:
        _check_choice("priority", priority, PRIORITIES)
        stmt = stmt.where(Case.priority == priority)
    if channel:
        _check_choice("channel", channel, CHANNELS)
        stmt = stmt.where(Case.channel == channel)
    if assignee == "me":
        stmt = stmt.where(Case.assignee_id == viewer.id)
    elif assignee == "none":
        stmt = stmt.where(Case.assignee_id.is_(None))
    elif assignee:
        if not assignee.isdigit():
            raise _field_error("assignee", "me, none or a user id")
        stmt = stmt.where(Case.assignee_id == int(assignee))
    if q and q.strip():
        ids = search_case_ids(db, q, limit=500)
        if not ids:
            return []
        stmt = stmt.where(Case.id.in_(ids))
    # matches ix_cases_queue (status_category, next_due_at, id): the first page is an index walk
    stmt = stmt.order_by(Case.next_due_at.asc().nulls_last(), Case.id)
    return list(db.scalars(stmt.limit(min(max(limit, 1), 200)).offset(max(offset, 0))))


# --- canned replies, CSAT -----------------------------------------------------------------------

_VAR = re.compile(r"\{([a-z_]+)\}")


def render_canned(
    db: Session, *, actor: User, key: str, lang: str, variables: dict[str, str]
) -> str:
    require(actor, "canned.use")
    row = db.scalar(select(CannedReply).where(CannedReply.key == key))
    if row is None:
        raise NotFound(f"canned reply {key!r} does not exist")
    template = row.body_en if lang.startswith("en") else row.body_zh
    values = {"today": date.today().isoformat(), **variables}
    # unknown variables stay visible (e.g. "{account_number}") rather than vanish silently
    return _VAR.sub(lambda m: str(values.get(m.group(1), m.group(0))), template)


def case_variables(db: Session, case: Case, agent: User) -> dict[str, str]:
    customer = customers_by_id(db, [case.customer_id]).get(case.customer_id)
    lang = case.language
    return {
        "customer_name": customer.name_for(lang) if customer else "",
        "agent_name": agent.name_for(lang),
        "case_ref": f"#{case.id}",
        "account_number": customer.accounts[0].number if customer and customer.accounts else "",
    }


def submit_csat(
    db: Session, *, actor: User, case_id: int, score: int, comment: str = ""
) -> CsatSurvey:
    require(actor, "csat.submit")
    case = visible_case(db, viewer=actor, case_id=case_id)
    if case.status_category not in ("resolved", "closed"):
        raise Conflict("a case can be rated once it is resolved")
    if not 1 <= score <= 5:
        raise _field_error("score", "must be 1–5")
    if len(comment) > 2000:
        raise PayloadTooLarge("comment is over 2000 characters", limit=2000)
    survey = db.scalar(select(CsatSurvey).where(CsatSurvey.case_id == case.id))
    if survey is None:
        survey = CsatSurvey(case_id=case.id, requested_at=utcnow())
        db.add(survey)
    if survey.score is not None:
        raise Conflict("this case has already been rated")
    survey.score, survey.comment, survey.answered_at = score, comment.strip(), utcnow()
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action="csat.submit",
        entity="case",
        entity_id=case.id,
        data={"score": score, "comment": comment.strip()},
    )
    emit(db, "desk", {"type": "csat", "case_id": case.id, "score": score})
    return survey


# --- administration ----------------------------------------------------------------------------


def update_sla_policy(
    db: Session,
    *,
    actor: User,
    policy_id: int,
    first_response_minutes: int,
    resolution_minutes: int,
    calendar_id: int,
    near_breach_percent: int,
) -> SlaPolicy:
    require(actor, "sla.manage")
    row = db.get(SlaPolicy, policy_id)
    if row is None:
        raise NotFound(f"SLA policy {policy_id} does not exist")
    if db.get(BusinessCalendar, calendar_id) is None:
        raise _field_error("calendar_id", f"calendar {calendar_id} does not exist")
    if not (0 < first_response_minutes <= resolution_minutes):
        raise _field_error(
            "first_response_minutes", "must be > 0 and not above the resolution target"
        )
    if not 1 <= near_breach_percent <= 99:
        raise _field_error("near_breach_percent", "1–99")
    old = {
        "first_response_minutes": row.first_response_minutes,
        "resolution_minutes": row.resolution_minutes,
        "calendar_id": row.calendar_id,
        "near_breach_percent": row.near_breach_percent,
    }
    row.first_response_minutes, row.resolution_minutes = first_response_minutes, resolution_minutes
    row.calendar_id, row.near_breach_percent = calendar_id, near_breach_percent
    new = {
        "first_response_minutes": first_response_minutes,
        "resolution_minutes": resolution_minutes,
        "calendar_id": calendar_id,
        "near_breach_percent": near_breach_percent,
    }
    audit.record(
        db,
        actor_id=actor.id,
        action="sla.update",
        entity="sla_policy",
        entity_id=row.id,
        data={"old": old, "new": new},
    )
    return row


def set_calendar_day(
    db: Session, *, actor: User, calendar_id: int, day: date, kind: str
) -> BusinessCalendar:
    """Marks a date as a holiday, a make-up workday (调休), or back to normal ("remove")."""
    require(actor, "sla.manage")
    cal = db.get(BusinessCalendar, calendar_id)
    if cal is None:
        raise NotFound(f"calendar {calendar_id} does not exist")
    _check_choice("kind", kind, ("holiday", "workday", "remove"))
    iso = day.isoformat()
    holidays = [d for d in cal.holidays if d != iso]
    workdays = [d for d in cal.workdays if d != iso]
    if kind == "holiday":
        holidays.append(iso)
    elif kind == "workday":
        workdays.append(iso)
    cal.holidays, cal.workdays = sorted(holidays), sorted(workdays)
    calendar_of(cal)  # still valid
    audit.record(
        db,
        actor_id=actor.id,
        action="calendar.day",
        entity="calendar",
        entity_id=cal.id,
        data={"day": iso, "kind": kind},
    )
    return cal


def add_canned(
    db: Session,
    *,
    actor: User,
    key: str,
    category: str,
    title_zh: str,
    title_en: str,
    body_zh: str,
    body_en: str,
) -> CannedReply:
    require(actor, "canned.manage")
    if not re.fullmatch(r"[a-z0-9_.\-]{2,64}", key):
        raise _field_error("key", "2–64 of a-z 0-9 _ . -")
    if db.scalar(select(CannedReply).where(CannedReply.key == key)):
        raise Conflict(f"canned reply {key!r} already exists")
    for field, value in (
        ("title_zh", title_zh),
        ("title_en", title_en),
        ("body_zh", body_zh),
        ("body_en", body_en),
    ):
        if not value.strip():
            raise _field_error(field, "must not be empty")
    row = CannedReply(
        key=key,
        category=category,
        title_zh=title_zh.strip(),
        title_en=title_en.strip(),
        body_zh=body_zh.strip(),
        body_en=body_en.strip(),
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action="canned.create",
        entity="canned_reply",
        entity_id=row.id,
        data={"key": key},
    )
    return row
