"""Cases: opening one (routed to a queue by triage when no category is given) and changing its
status, priority, category or subject — each change its own action with its own audit entry."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.orm import Session

from kefu.compliance.service import screen_message, screen_text
from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.db import utcnow
from kefu.core.errors import Forbidden, NotFound
from kefu.core.events import emit
from kefu.core.security import Role, User, get_crypto, require
from kefu.core.textsearch import index_text
from kefu.customers.service import customer_exists, customer_for_user
from kefu.desk import lifecycle, mailout, triage
from kefu.desk.access import visible_case
from kefu.desk.assignment import assign_automatically, assign_case
from kefu.desk.audit import DeskAudit
from kefu.desk.conversation import add_message
from kefu.desk.models import CATEGORIES, CHANNELS, PRIORITIES, Case
from kefu.desk.sla_policies import apply_sla
from kefu.desk.statuses import status_by_key
from kefu.desk.validation import check_body, check_choice, check_subject, field_error


def categories() -> tuple[str, ...]:
    """The case categories: the desk's queues."""
    return CATEGORIES


@action
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
    confirm_warning: bool = False,
) -> Case:
    """A new case. Without a ``category`` the routing model picks the queue from the subject and
    first message; the intent (the knowledge article that answers it) is recorded either way.
    A customer's words are masked for staff; staff's subject and first message reach the
    customer, so the guard screens them like any reply (a block refuses the whole case)."""
    require(actor, "case.create")
    check_choice("channel", channel, CHANNELS)
    if category is not None:
        check_choice("category", category, CATEGORIES)
    check_choice("priority", priority, PRIORITIES)
    subject = check_subject(subject)
    if actor.role == Role.customer:
        me = customer_for_user(db, actor)
        if me is None:
            raise Forbidden("this login is not linked to a customer profile")
        if customer_id not in (None, me.id):
            raise NotFound(f"customer {customer_id} does not exist")
        customer_id = me.id
    elif customer_id is None or not customer_exists(db, customer_id):
        raise field_error(
            "customer_id",
            f"customer {customer_id} does not exist",
            key="customer_missing",
            id=customer_id,
        )
    if body:
        check_body(body)
    if actor.role == Role.customer:
        subject = screen_text(subject, "customer")["redacted"]  # staff see it in every queue
    # a call transcript is stored with personal data masked; the words as heard are sealed
    heard = transcript
    if transcript:
        transcript = str(screen_text(transcript, "customer")["redacted"])
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
        transcript_sealed=get_crypto().encrypt(heard) if heard != transcript else None,
        call_minutes=call_minutes,
        search_text=index_text(subject, transcript),
    )
    db.add(case)
    db.flush()
    if actor.role != Role.customer:
        screen_message(
            db,
            actor=actor,
            case_id=case.id,
            body=subject,
            internal=False,
            confirm_warning=confirm_warning,
        )
    apply_sla(db, case)
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.case_create,
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
        add_message(
            db,
            case=case,
            actor=actor,
            kind="customer",
            body=body,
            at=now,
            redacted=redacted,
            guard=guard,
        )
    elif body:  # staff's first message: the customer reads it, so it is screened as a reply
        redacted, guard = screen_message(
            db,
            actor=actor,
            case_id=case.id,
            body=body,
            internal=False,
            confirm_warning=confirm_warning,
        )
        first = add_message(
            db,
            case=case,
            actor=actor,
            kind="agent",
            body=body,
            at=now,
            redacted=redacted,
            guard=guard,
        )
        mailout.queue_agent_message(db, case=case, message=first)
    if auto_assign and case.assignee_id is None and st.category == "open":
        assign_automatically(db, case=case, actor=None)
    emit(db, "desk", {"type": "case.created", "case_id": case.id})
    return case


def _editable(db: Session, *, actor: User, case_id: int) -> Case:
    case = visible_case(db, viewer=actor, case_id=case_id)
    require(actor, "case.update")
    return case


def _record_change(db: Session, *, actor: User, case: Case, field: str, old: Any, new: Any) -> None:
    case.updated_at = utcnow()
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.case_update,
        entity="case",
        entity_id=case.id,
        data={"old": {field: old}, "new": {field: new}},
    )
    emit(
        db, f"case:{case.id}", {"type": "case.updated", "case_id": case.id, "changes": {field: new}}
    )
    emit(db, "desk", {"type": "case.updated", "case_id": case.id})


@action
def set_case_status(db: Session, *, actor: User, case_id: int, status: str) -> Case:
    case = _editable(db, actor=actor, case_id=case_id)
    if not lifecycle.change_status(db, case=case, actor=actor, key=status):
        unchanged(db)
    return case


@action
def set_case_priority(db: Session, *, actor: User, case_id: int, priority: str) -> Case:
    """A new priority re-computes the SLA due times from the case's creation."""
    case = _editable(db, actor=actor, case_id=case_id)
    check_choice("priority", priority, PRIORITIES)
    if priority == case.priority:
        unchanged(db)
        return case
    old, case.priority = case.priority, priority
    apply_sla(db, case)
    _record_change(db, actor=actor, case=case, field="priority", old=old, new=priority)
    return case


@action
def set_case_category(db: Session, *, actor: User, case_id: int, category: str) -> Case:
    case = _editable(db, actor=actor, case_id=case_id)
    check_choice("category", category, CATEGORIES)
    if category == case.category:
        unchanged(db)
        return case
    old, case.category = case.category, category
    _record_change(db, actor=actor, case=case, field="category", old=old, new=category)
    return case


@action
def rename_case(
    db: Session, *, actor: User, case_id: int, subject: str, confirm_warning: bool = False
) -> Case:
    """A new subject; the customer sees it, so the guard screens it like a reply."""
    case = _editable(db, actor=actor, case_id=case_id)
    if not subject.strip() or len(subject) > 200:
        raise field_error("subject", "1–200 characters", key="subject_length")
    subject = subject.strip()
    if subject == case.subject:
        unchanged(db)
        return case
    screen_message(
        db,
        actor=actor,
        case_id=case.id,
        body=subject,
        internal=False,
        confirm_warning=confirm_warning,
    )
    old, case.subject = case.subject, subject
    case.search_text = index_text(case.subject, case.transcript)
    _record_change(db, actor=actor, case=case, field="subject", old=old, new=subject)
    return case


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
    confirm_warning: bool = False,
) -> Case:
    """Applies the changes of one edit (PATCH /cases/{id}, the desk's form), each through its
    own action; the caller's transaction makes them one unit."""
    case = _editable(db, actor=actor, case_id=case_id)
    if status is not None:
        set_case_status(db, actor=actor, case_id=case_id, status=status)
    if priority is not None:
        set_case_priority(db, actor=actor, case_id=case_id, priority=priority)
    if category is not None:
        set_case_category(db, actor=actor, case_id=case_id, category=category)
    if subject is not None:
        rename_case(
            db, actor=actor, case_id=case_id, subject=subject, confirm_warning=confirm_warning
        )
    if unassign or assignee_id is not None:
        assign_case(db, actor=actor, case=case, to=None if unassign else assignee_id)
    return case
