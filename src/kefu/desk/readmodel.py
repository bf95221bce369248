"""Reads that assemble what a viewer sees of cases and messages, for the JSON API, the consoles
and the chat socket alike; the masking rules themselves are in desk/schemas.py."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from sqlalchemy import ColumnElement, Integer, and_, bindparam, func, or_, select
from sqlalchemy.orm import Session

from kefu.core.errors import KefuError
from kefu.core.security import Role, User, can, get_crypto
from kefu.customers.models import Customer
from kefu.customers.service import customers_by_id
from kefu.desk import chat
from kefu.desk.access import visible_cases
from kefu.desk.attachments import attachments_of
from kefu.desk.conversation import message_payload
from kefu.desk.csat import survey_of
from kefu.desk.messages import visible_messages
from kefu.desk.models import Case, Message
from kefu.desk.schemas import message_view
from kefu.desk.sla_policies import PolicyBook, load_policies, sla_view
from kefu.identity import service as identity


def case_read(
    db: Session,
    case: Case,
    *,
    viewer: User,
    lang: str,
    users: dict[int, User] | None = None,
    customers: dict[int, Customer] | None = None,
    policies: PolicyBook | None = None,
) -> dict[str, Any]:
    """One case as ``viewer`` sees it (customer name in their language, SLA clocks, rating)."""
    users = users if users is not None else identity.users_by_id(db, [case.assignee_id])
    customer = (customers or {}).get(case.customer_id) or customers_by_id(
        db, [case.customer_id]
    ).get(case.customer_id)
    assignee = users.get(case.assignee_id) if case.assignee_id else None
    csat = survey_of(db, case.id) if case.status_category in ("resolved", "closed") else None
    return {
        "id": case.id,
        "subject": case.subject,
        "channel": case.channel,
        "category": case.category,
        "intent": case.intent,
        "priority": case.priority,
        "status": case.status.key,
        "status_name": case.status.name_en if lang == "en" else case.status.name_zh,
        "status_category": case.status_category,
        "language": case.language,
        "customer_id": case.customer_id,
        "customer_name": customer.name_for(lang) if customer else "",
        "assignee_id": case.assignee_id,
        "assignee": assignee.name_for(lang) if assignee else None,
        "created_at": case.created_at,
        "updated_at": case.updated_at,
        "first_response_at": case.first_response_at,
        "customer_read_id": case.customer_read_id,
        "agent_read_id": case.agent_read_id,
        "resolved_at": case.resolved_at,
        "sla": sla_view(db, case, policies=policies),
        # staff's labels are internal: a customer never receives them
        "tags": [] if viewer.role == Role.customer else case.tags,
        "call_minutes": case.call_minutes,
        "transcript": transcript_for(case, viewer=viewer),
        "csat": None
        if csat is None
        else {
            "score": csat.score,
            "comment": csat.comment,
            "requested_at": csat.requested_at.isoformat(),
        },
    }


def transcript_for(case: Case, *, viewer: User) -> str:
    """A call transcript is an internal record: customers do not receive it, and staff who may
    not reveal personal data read it with ID, card and phone numbers masked."""
    if viewer.role == Role.customer or not case.transcript:
        return ""
    if can(viewer, "pii.reveal") and case.transcript_sealed:
        return get_crypto().decrypt(case.transcript_sealed)
    return case.transcript


def cases_read(
    db: Session, cases: Sequence[Case], *, viewer: User, lang: str
) -> list[dict[str, Any]]:
    """A page of the queue, with names, customers and policies loaded once."""
    users = identity.users_by_id(db, [c.assignee_id for c in cases])
    customers = customers_by_id(db, {c.customer_id for c in cases})
    policies = load_policies(db)
    return [
        case_read(
            db, c, viewer=viewer, lang=lang, users=users, customers=customers, policies=policies
        )
        for c in cases
    ]


def message_payloads(db: Session, msgs: Sequence[Message]) -> list[dict[str, Any]]:
    """What the socket carries for stored messages (each viewer then gets message_view)."""
    authors = identity.users_by_id(db, [m.author_id for m in msgs])
    files = attachments_of(db, [m.id for m in msgs])
    return [message_payload(m, authors.get(m.author_id or 0), files.get(m.id, ())) for m in msgs]


def messages_read(
    db: Session, case: Case, *, viewer: User, lang: str, after_id: int = 0
) -> list[dict[str, Any]]:
    msgs = visible_messages(db, viewer=viewer, case=case, after_id=after_id)
    return [message_view(p, viewer=viewer, lang=lang) for p in message_payloads(db, msgs)]


def message_read(db: Session, msg: Message, *, viewer: User, lang: str) -> dict[str, Any]:
    (payload,) = message_payloads(db, [msg])
    return message_view(payload, viewer=viewer, lang=lang)


# --- what the chat socket replays ---------------------------------------------------------------


def delivered_floor(db: Session, *, case_id: int, last_seen_id: int) -> int:
    """The highest seq at or below a client's last seen message id: everything up to it counts
    as delivered when the client reconnects."""
    floor = db.execute(
        select(func.coalesce(func.max(Message.seq), 0)).where(
            Message.case_id == case_id, Message.id <= last_seen_id
        )
    ).scalar_one()
    return int(floor)


@dataclass(frozen=True)
class Replay:
    """What a socket's ``hello`` answers: the messages after the client's last seen one (as
    :func:`message_payloads`; a customer's without internal notes), the seq up to which the
    client has everything, the case's state, and for a customer where they stand in the
    queue."""

    payloads: list[dict[str, Any]]
    floor: int
    state: dict[str, Any]
    queue: dict[str, Any]


def case_state(case: Case) -> dict[str, Any]:
    """What a socket's ``case`` frame carries of a case."""
    return {
        "id": case.id,
        "status": case.status.key,
        "status_category": case.status_category,
        "assignee_id": case.assignee_id,
        "customer_read_id": case.customer_read_id,
        "agent_read_id": case.agent_read_id,
    }


def chat_replays(db: Session, wanted: Sequence[tuple[User, int, int]]) -> list[Replay | KefuError]:
    """The replays of many ``hello`` frames, (viewer, case id, last seen message id) each, in a
    few queries however many they are: the cases and their customers, the messages after each
    last seen id, their authors and files, the delivered floors, the queue. Per frame its
    :class:`Replay`, or the error its case answers for that viewer (404 for a case that does
    not exist or is another customer's) — one refusal leaves the others answered."""
    found = visible_cases(db, [(viewer, case_id) for viewer, case_id, _ in wanted])
    # per case, the messages after the lowest last-seen id any of its viewers sent
    after: dict[int, int] = {}
    for (_, case_id, last_seen), case in zip(wanted, found, strict=True):
        if isinstance(case, Case):
            after[case_id] = min(after.get(case_id, last_seen), last_seen)
    msgs: list[Message] = []
    if after:
        msgs = list(db.scalars(*_each_case("after", after)))
    payloads = dict(zip((m.id for m in msgs), message_payloads(db, msgs), strict=True))
    by_case: dict[int, list[Message]] = {}
    for m in msgs:
        by_case.setdefault(m.case_id, []).append(m)
    # the delivered floor of (case, last seen id) is the highest seq at or below that id: the
    # highest at or below the case's lowest last-seen id (one query for all), or one of the
    # messages just read (each after that lowest one), whichever is higher
    below = {c: a for c, a in after.items() if a}
    floors: dict[int, int] = {}
    if below:
        floors = {c: int(f) for c, f in db.execute(*_each_case("floor", below))}
    queues = chat.queue_infos(
        db,
        [
            c
            for (viewer, _, _), c in zip(wanted, found, strict=True)
            if isinstance(c, Case) and viewer.role == Role.customer
        ],
    )
    out: list[Replay | KefuError] = []
    for (viewer, case_id, last_seen), case in zip(wanted, found, strict=True):
        if not isinstance(case, Case):
            out.append(case)
            continue
        customer = viewer.role == Role.customer
        floor = floors.get(case_id, 0) if last_seen else 0
        mine = []
        for m in by_case.get(case_id, ()):
            if m.id <= last_seen:
                floor = max(floor, m.seq)
            elif not (customer and m.kind == "note"):  # customers never see internal notes
                mine.append(payloads[m.id])
        out.append(
            Replay(
                payloads=mine,
                floor=floor,
                state=case_state(case),
                queue=queues[case_id] if customer else {},
            )
        )
    return out


def _each_case(kind: str, wanted: dict[int, int]) -> tuple[Any, dict[str, int]]:
    """The statement and parameters of a read over many cases, each c with its own message id
    a: ``after`` — the messages with id > a, in order; ``floor`` — per case, the highest seq
    with id <= a. The statement has a power of two of ``(case_id = :c AND id … :a)`` terms (the
    last pair repeated), made once per size and kind: building and compiling an expression of
    hundreds of terms would cost more than running it."""
    terms = list(wanted.items())
    size = 1 << (len(terms) - 1).bit_length()
    terms += [terms[-1]] * (size - len(terms))
    params = {f"c{i}": c for i, (c, _) in enumerate(terms)}
    params.update({f"a{i}": a for i, (_, a) in enumerate(terms)})
    return _each_case_statement(kind, size), params


@lru_cache(maxsize=32)
def _each_case_statement(kind: str, size: int) -> Any:
    def term(i: int) -> ColumnElement[bool]:
        c, a = bindparam(f"c{i}", type_=Integer), bindparam(f"a{i}", type_=Integer)
        return and_(Message.case_id == c, Message.id > a if kind == "after" else Message.id <= a)

    where = or_(*(term(i) for i in range(size)))
    if kind == "after":
        return select(Message).where(where).order_by(Message.case_id, Message.seq, Message.id)
    return select(Message.case_id, func.max(Message.seq)).where(where).group_by(Message.case_id)


def message_payload_by_id(db: Session, message_id: int) -> list[dict[str, Any]]:
    m = db.get(Message, message_id)
    return message_payloads(db, [m]) if m is not None else []


def message_payloads_between(
    db: Session, *, case_id: int, after_seq: int, upto_seq: int
) -> list[dict[str, Any]]:
    """The messages of a case with after_seq < seq <= upto_seq, in order (a gap to refill)."""
    msgs = list(
        db.scalars(
            select(Message)
            .where(Message.case_id == case_id, Message.seq > after_seq, Message.seq <= upto_seq)
            .order_by(Message.seq)
        )
    )
    return message_payloads(db, msgs)
