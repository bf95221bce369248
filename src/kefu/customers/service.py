"""Customer use cases: create (PII encrypted), look up, the 360° view, audited PII reveal."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from sqlalchemy import bindparam, or_, select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.errors import Forbidden, NotFound, Phrase, ValidationFailed
from kefu.core.masking import mask_card, mask_email, mask_id_number, mask_phone
from kefu.core.security import Role, User, get_crypto, require
from kefu.customers.audit import CustomerAudit
from kefu.customers.models import (
    ACCOUNT_KINDS,
    KYC_STATUSES,
    RISK_LEVELS,
    BankCard,
    Customer,
    FundTransfer,
    KycRecord,
    Position,
    Trade,
    TradingAccount,
)

PiiField = Literal["phone", "email", "id_number", "card", "kyc_document"]


@action
def create_customer(
    db: Session,
    *,
    actor: User | None,
    code: str,
    name_zh: str,
    name_en: str = "",
    user_id: int | None = None,
    language: str = "zh",
    city: str = "",
    opened_on: date | None = None,
    phone: str = "",
    email: str = "",
    id_type: str = "resident_id",
    id_number: str = "",
    kyc_status: str = "pending",
    risk_level: str = "C1",
) -> Customer:
    if kyc_status not in KYC_STATUSES:
        raise ValidationFailed(
            f"kyc_status must be one of {', '.join(KYC_STATUSES)}",
            fields=[{"field": "kyc_status", "message": "unknown status"}],
        )
    if risk_level not in RISK_LEVELS:
        raise ValidationFailed(
            "risk_level must be C1..C5", fields=[{"field": "risk_level", "message": "unknown"}]
        )
    crypto = get_crypto()
    c = Customer(
        code=code,
        user_id=user_id,
        name_zh=name_zh,
        name_en=name_en,
        language=language,
        city=city,
        opened_on=opened_on,
        kyc_status=kyc_status,
        risk_level=risk_level,
        id_type=id_type,
    )
    if phone:
        c.phone_enc, c.phone_masked = crypto.encrypt(phone), mask_phone(phone)
        c.phone_index = crypto.blind_index(phone)
    if email:
        c.email_enc, c.email_masked = crypto.encrypt(email), mask_email(email)
        c.email_index = email_lookup_key(email)
    if id_number:
        c.id_number_enc, c.id_number_masked = crypto.encrypt(id_number), mask_id_number(id_number)
        c.id_number_index = crypto.blind_index(id_number)
    db.add(c)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=CustomerAudit.create,
        entity="customer",
        entity_id=c.id,
        data={"code": code, "kyc_status": kyc_status, "risk_level": risk_level},
    )
    return c


@action
def add_bank_card(
    db: Session,
    *,
    customer: Customer,
    bank_name_zh: str,
    bank_name_en: str,
    card: str,
    actor: User | None = None,
) -> BankCard:
    """Links a bank card (stored encrypted, shown masked); ``actor`` None is the back office."""
    crypto = get_crypto()
    row = BankCard(
        customer_id=customer.id,
        bank_name_zh=bank_name_zh,
        bank_name_en=bank_name_en,
        card_enc=crypto.encrypt(card),
        card_masked=mask_card(card),
        card_index=crypto.blind_index(card),
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=CustomerAudit.card_add,
        entity="customer",
        entity_id=customer.id,
        data={"card_id": row.id, "card": row.card_masked, "bank": bank_name_en},
    )
    return row


@action
def add_account(
    db: Session,
    /,
    *,
    customer: Customer,
    number: str,
    kind: str,
    actor: User | None = None,
    **values: Any,
) -> TradingAccount:
    """Opens a trading account record for a customer (fed by the back office)."""
    if kind not in ACCOUNT_KINDS:
        raise ValidationFailed(f"account kind must be one of {', '.join(ACCOUNT_KINDS)}")
    acct = TradingAccount(customer_id=customer.id, number=number, kind=kind, **values)
    db.add(acct)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=CustomerAudit.account_add,
        entity="customer",
        entity_id=customer.id,
        data={"account_id": acct.id, "number": number, "kind": kind},
    )
    return acct


#: session.info key: user id -> customer id, kept by :func:`remember_customers_of`
_CUSTOMER_OF = "kefu_customer_of_user"


def customer_for_user(db: Session, user: User) -> Customer | None:
    known: dict[int, int] = db.info.get(_CUSTOMER_OF, {})
    if user.id in known:
        return db.get(Customer, known[user.id])  # by primary key: from the session if loaded
    return db.scalar(select(Customer).where(Customer.user_id == user.id))


def remember_customers_of(db: Session, users: Iterable[User]) -> None:
    """Reads the customer-record ids of ``users`` in one query; for the rest of this session
    :func:`customer_id_for_user` answers them without a query (a customer record keeps the
    user it was created for). For code that serves many users in one session, such as the chat
    sockets' batched reader."""
    ids = {u.id for u in users}
    if not ids:
        return
    known = db.info.setdefault(_CUSTOMER_OF, {})
    for user_id, customer_id in db.execute(
        select(Customer.user_id, Customer.id).where(Customer.user_id.in_(ids))
    ):
        known[user_id] = customer_id


#: built once: its compiled form is cached (an IN list is one expanding parameter)
_USERS_WITH_CUSTOMERS = (
    select(User, Customer.id)
    .outerjoin(Customer, Customer.user_id == User.id)
    .where(User.id.in_(bindparam("ids", expanding=True)))
)


def users_with_customers(db: Session, user_ids: Iterable[int]) -> dict[int, User]:
    """The users of ``user_ids`` by id, read in one query with the ids of the customer records
    of the customers among them, which :func:`customer_id_for_user` then answers from the
    session."""
    ids = {i for i in user_ids if i}
    if not ids:
        return {}
    rows = db.execute(_USERS_WITH_CUSTOMERS, {"ids": sorted(ids)}).all()
    known = db.info.setdefault(_CUSTOMER_OF, {})
    users: dict[int, User] = {}
    for user, customer_id in rows:
        users[user.id] = user
        if customer_id is not None and user.role == Role.customer:
            known[user.id] = customer_id
    return users


def customer_id_for_user(db: Session, user: User) -> int | None:
    """The id of ``user``'s customer record (None for staff): from the session when
    :func:`users_with_customers` or :func:`remember_customers_of` read it, else one query."""
    known: dict[int, int] = db.info.get(_CUSTOMER_OF, {})
    if user.id in known:
        return known[user.id]
    return db.scalar(select(Customer.id).where(Customer.user_id == user.id))


def get_customer(db: Session, *, viewer: User, customer_id: int) -> Customer:
    """Staff with ``customer.read`` see any customer; a customer sees only themself (else 404)."""
    c = db.get(Customer, customer_id)
    if c is None:
        raise NotFound(key="customers.errors.customer_missing", params={"id": customer_id})
    if viewer.role == "customer":
        if c.user_id != viewer.id:
            raise NotFound(key="customers.errors.customer_missing", params={"id": customer_id})
    else:
        require(viewer, "customer.read")
    return c


def search_customers(db: Session, *, viewer: User, q: str = "", limit: int = 50) -> list[Customer]:
    require(viewer, "customer.read")
    stmt = select(Customer).order_by(Customer.id).limit(limit)
    q = q.strip()
    if q:
        crypto = get_crypto()
        digits = "".join(ch for ch in q if ch.isalnum())
        like = f"%{q}%"
        stmt = stmt.where(
            or_(
                Customer.name_zh.like(like),
                Customer.name_en.ilike(like),
                Customer.code == q,
                Customer.phone_index == crypto.blind_index(digits),
                Customer.id_number_index == crypto.blind_index(digits),
                Customer.accounts.any(TradingAccount.number == q),
            )
        )
    return list(db.scalars(stmt))


def _money(v: Decimal | None) -> str | None:
    return None if v is None else format(v, "f")


def _dt(v: datetime | None) -> str | None:
    return None if v is None else v.isoformat()


def customer_360(
    db: Session, *, viewer: User, customer_id: int, lang: str = "zh-CN"
) -> dict[str, Any]:
    """Everything an agent needs on one screen; PII masked."""
    c = get_customer(db, viewer=viewer, customer_id=customer_id)
    en = lang.startswith("en")
    accounts = list(db.scalars(select(TradingAccount).where(TradingAccount.customer_id == c.id)))
    acct_ids = [a.id for a in accounts]
    by_id = {a.id: a.number for a in accounts}
    trades = (
        list(
            db.scalars(
                select(Trade)
                .where(Trade.account_id.in_(acct_ids))
                .order_by(Trade.at.desc())
                .limit(20)
            )
        )
        if acct_ids
        else []
    )
    transfers = (
        list(
            db.scalars(
                select(FundTransfer)
                .where(FundTransfer.account_id.in_(acct_ids))
                .order_by(FundTransfer.at.desc())
                .limit(20)
            )
        )
        if acct_ids
        else []
    )
    positions = (
        list(db.scalars(select(Position).where(Position.account_id.in_(acct_ids))))
        if acct_ids
        else []
    )
    cards = list(db.scalars(select(BankCard).where(BankCard.customer_id == c.id)))
    return {
        "id": c.id,
        "code": c.code,
        "name": c.name_for(lang),
        "name_zh": c.name_zh,
        "name_en": c.name_en,
        "language": c.language,
        "city": c.city,
        "opened_on": c.opened_on.isoformat() if c.opened_on else None,
        "phone": c.phone_masked,
        "email": c.email_masked,
        "id_type": c.id_type,
        "id_number": c.id_number_masked,
        "kyc_status": c.kyc_status,
        "risk_level": c.risk_level,
        "bank_cards": [
            {
                "id": b.id,
                "bank": b.bank_name_en if en and b.bank_name_en else b.bank_name_zh,
                "card": b.card_masked,
            }
            for b in cards
        ],
        "accounts": [
            {
                "id": a.id,
                "number": a.number,
                "kind": a.kind,
                "currency": a.currency,
                "cash": _money(a.cash),
                "frozen": _money(a.frozen),
                "debt": _money(a.debt),
                "credit_limit": _money(a.credit_limit),
                "status": a.status,
            }
            for a in accounts
        ],
        "positions": [
            {
                "account": by_id[p.account_id],
                "symbol": p.symbol,
                "name": p.name_en if en and p.name_en else p.name_zh,
                "qty": p.qty,
                "avg_cost": _money(p.avg_cost),
                "last_price": _money(p.last_price),
                "market_value": _money((p.last_price * p.qty).quantize(Decimal("0.01"))),
            }
            for p in positions
        ],
        "trades": [
            {
                "ref": t.ref,
                "account": by_id[t.account_id],
                "at": _dt(t.at),
                "kind": t.kind,
                "symbol": t.symbol,
                "name": t.name_en if en and t.name_en else t.name_zh,
                "status": t.status,
                "reason": (t.reason_en if en else t.reason_zh) or None,
                "side": t.side,
                "qty": t.qty,
                "price": _money(t.price),
                "direction": t.direction,
                "stake": _money(t.stake),
                "payout_rate": _money(t.payout_rate),
                "entry_price": _money(t.entry_price),
                "expiry_at": _dt(t.expiry_at),
                "settle_price": _money(t.settle_price),
                "result": t.result,
            }
            for t in trades
        ],
        "transfers": [
            {
                "ref": f.ref,
                "account": by_id[f.account_id],
                "at": _dt(f.at),
                "direction": f.direction,
                "amount": _money(f.amount),
                "status": f.status,
                "channel": f.channel,
                "reason": (f.reason_en if en else f.reason_zh) or None,
            }
            for f in transfers
        ],
    }


@action
def reveal(
    db: Session,
    *,
    actor: User,
    customer_id: int,
    field: PiiField,
    reason: str,
    card_id: int | None = None,
) -> str:
    """Decrypts one PII field for a permitted user; writes the audit entry first."""
    require(actor, "pii.reveal")
    c = get_customer(db, viewer=actor, customer_id=customer_id)
    if not reason.strip():
        raise ValidationFailed(
            key="customers.errors.reveal_reason",
            fields=[{"field": "reason", "message": "required"}],
        )
    crypto = get_crypto()
    if field == "card":
        card = (
            db.scalar(select(BankCard).where(BankCard.customer_id == c.id, BankCard.id == card_id))
            if card_id is not None
            else db.scalar(select(BankCard).where(BankCard.customer_id == c.id))
        )
        if card is None:
            raise NotFound(key="customers.errors.no_card")
        cipher = card.card_enc
    elif field == "kyc_document":
        cipher = (
            db.scalar(select(KycRecord.doc_number_enc).where(KycRecord.customer_id == c.id)) or ""
        )
    else:
        cipher = {"phone": c.phone_enc, "email": c.email_enc, "id_number": c.id_number_enc}[field]
    if not cipher:
        raise NotFound(
            key="customers.errors.nothing_on_file",
            params={"field": Phrase(f"customers.errors.fields.{field}", field)},
        )
    audit.record(
        db,
        actor_id=actor.id,
        action=CustomerAudit.pii_reveal,
        entity="customer",
        entity_id=c.id,
        data={"field": field, "reason": reason.strip()[:500], "card_id": card_id},
    )
    return crypto.decrypt(cipher)


def customers_by_id(db: Session, ids: set[int] | list[int]) -> dict[int, Customer]:
    """Several customers in one query (for lists that show names); no permission check: callers
    list only what their viewer may already see."""
    if not ids:
        return {}
    return {c.id: c for c in db.scalars(select(Customer).where(Customer.id.in_(set(ids))))}


def customer_exists(db: Session, customer_id: int) -> bool:
    return db.get(Customer, customer_id) is not None


# --- e-mail -------------------------------------------------------------------------------------


def email_lookup_key(address: str) -> str:
    """The blind index of an e-mail address (trimmed, lower-cased). Hex-encoded first, because
    the generic blind index keeps letters and digits only and would make ``a.b@x.cn`` and
    ``ab@x.cn`` the same key."""
    return get_crypto().blind_index(address.strip().lower().encode().hex())


def customer_by_email(db: Session, address: str) -> Customer | None:
    """The customer whose stored address is ``address`` (exact, through the blind index); None
    when there is none, or more than one (an ambiguous sender is nobody's)."""
    if not address.strip():
        return None
    rows = list(
        db.scalars(
            select(Customer).where(Customer.email_index == email_lookup_key(address)).limit(2)
        )
    )
    return rows[0] if len(rows) == 1 else None


def email_of(customer: Customer) -> str:
    """The customer's address in clear, for the mail sender only (never shown in a view)."""
    return get_crypto().decrypt(customer.email_enc) if customer.email_enc else ""


@action
def set_email_notify(db: Session, *, actor: User, on: bool) -> Customer:
    """The customer's own choice: an e-mail when one of their tickets is answered, or none."""
    if actor.role != "customer":
        raise Forbidden(key="customers.errors.own_notifications")
    c = customer_for_user(db, actor)
    if c is None:
        raise NotFound(key="customers.errors.no_profile")
    if c.email_notify == on:
        unchanged(db)
        return c
    old, c.email_notify = c.email_notify, on
    audit.record(
        db,
        actor_id=actor.id,
        action=CustomerAudit.email_notify,
        entity="customer",
        entity_id=c.id,
        data={"old": {"email_notify": old}, "new": {"email_notify": on}},
    )
    return c
