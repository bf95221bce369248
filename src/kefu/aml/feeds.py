"""Feeds from the back office: customers, trades and fund transfers, in batches of up to
10,000 records, idempotent on the source's own ids, one transaction per batch. Every stored
trade and transfer goes through monitoring before the batch commits."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from typing import Annotated, Any, Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, StringConstraints
from sqlalchemy.orm import Session

from kefu.aml.alerts import check_new
from kefu.aml.audit import AmlAudit
from kefu.aml.models import AmlParty
from kefu.core import audit
from kefu.core.actions import action
from kefu.core.errors import ValidationFailed
from kefu.core.security import User, require
from kefu.customers import backoffice

__all__ = [
    "KINDS",
    "MAX_BATCH",
    "CustomerRecord",
    "FeedResult",
    "TradeRecord",
    "TransferRecord",
    "ingest",
    "record_model",
]

MAX_BATCH = 10_000
KINDS = ("customers", "trades", "transfers")
Code = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=16, pattern=r"^\S+$")
]
Ref = Annotated[
    str, StringConstraints(strip_whitespace=True, min_length=1, max_length=32, pattern=r"^\S+$")
]
Account = Annotated[str, StringConstraints(strip_whitespace=True, max_length=24)]


class _Record(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class CustomerRecord(_Record):
    customer_id: Code
    name: str = Field(min_length=1, max_length=64)
    name_en: str = Field(default="", max_length=128)
    type: Literal["individual", "entity"]
    opened_at: date | None = None
    risk_level: Literal["C1", "C2", "C3", "C4", "C5"] = "C1"
    account: Account = ""


class TransferRecord(_Record):
    transfer_id: Ref
    customer_id: Code
    account: Account = ""
    ts: AwareDatetime
    kind: Literal["deposit", "withdrawal"]
    amount: Decimal = Field(gt=0, max_digits=18, decimal_places=4)
    currency: Literal["CNY"] = "CNY"
    method: Literal["cash", "bank_transfer", "card"]
    counterparty_name: str = Field(default="", max_length=128)
    status: Literal["completed", "pending", "rejected", "failed", "cancelled"] = "completed"


class TradeRecord(_Record):
    trade_id: Ref
    customer_id: Code
    account: Account = ""
    ts: AwareDatetime
    side: Literal["buy", "sell"]
    symbol: str = Field(min_length=1, max_length=16)
    qty: int = Field(gt=0, le=10**12)
    price: Decimal = Field(gt=0, max_digits=24, decimal_places=8)
    currency: Literal["CNY"] = "CNY"
    status: Literal["filled", "rejected", "cancelled"] = "filled"


_MODELS: dict[str, type[_Record]] = {
    "customers": CustomerRecord,
    "trades": TradeRecord,
    "transfers": TransferRecord,
}
_ID_FIELD = {"customers": "customer_id", "trades": "trade_id", "transfers": "transfer_id"}


def record_model(kind: str) -> type[_Record]:
    return _MODELS[kind]


@dataclass(frozen=True)
class FeedResult:
    kind: str
    received: int
    created: int
    existing: int
    alerts_raised: int
    alerts_updated: int

    def as_json(self) -> dict[str, Any]:
        return {
            "kind": self.kind,
            "received": self.received,
            "created": self.created,
            "existing": self.existing,
            "alerts_raised": self.alerts_raised,
            "alerts_updated": self.alerts_updated,
        }


class _Errors:
    """Collects what is wrong with a batch, naming each record by its index (or CSV line)."""

    def __init__(self, where: Sequence[str] | None) -> None:
        self.where = where
        self.items: list[dict[str, Any]] = []

    def add(self, i: int, field: str, message: str) -> None:
        name = f"{self.where[i]}: {field}" if self.where else f"records.{i}.{field}"
        self.items.append({"field": name, "record": i, "message": message})

    def raise_any(self) -> None:
        if self.items:
            first = self.items[0]
            more = f" (and {len(self.items) - 1} more)" if len(self.items) > 1 else ""
            raise ValidationFailed(
                f"{first['field']}: {first['message']}{more}; nothing was stored",
                fields=self.items[:200],
            )


@action
def ingest(
    db: Session,
    *,
    actor: User | None,
    kind: str,
    records: Sequence[_Record],
    where: Sequence[str] | None = None,
) -> FeedResult:
    """Stores a validated batch (``actor`` None: the command line). Records whose source id is
    stored already are left as they are; anything wrong refuses the whole batch, naming each
    record (``where``: a label per record, e.g. "file.csv:12"; default "records.<index>")."""
    if actor is not None:
        require(actor, "feeds.write")
    if kind not in KINDS:
        raise ValidationFailed(
            key="aml.errors.unknown_feed", params={"kind": repr(kind)}, fields=[{"field": "kind"}]
        )
    if len(records) > MAX_BATCH:
        raise ValidationFailed(
            key="aml.errors.batch_size",
            params={"max": MAX_BATCH, "n": len(records)},
            fields=[{"field": "records", "message": f"at most {MAX_BATCH}"}],
        )
    errors = _Errors(where)
    id_field = _ID_FIELD[kind]
    seen: dict[str, int] = {}
    for i, r in enumerate(records):
        ref = getattr(r, id_field)
        if ref in seen:
            errors.add(i, id_field, f"{ref!r} repeats record {seen[ref]} of this batch")
        seen.setdefault(ref, i)
    errors.raise_any()
    stored = backoffice.existing_refs(db, kind, list(seen))
    fresh = [(i, r) for i, r in enumerate(records) if getattr(r, id_field) not in stored]
    outcome = None
    if kind == "customers":
        _customers(db, fresh, errors)  # type: ignore[arg-type]
    else:
        outcome = _movements(db, kind, fresh, errors, actor)
    result = FeedResult(
        kind=kind,
        received=len(records),
        created=len(fresh),
        existing=len(records) - len(fresh),
        alerts_raised=len(outcome.raised) if outcome else 0,
        alerts_updated=len(outcome.updated) if outcome else 0,
    )
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=AmlAudit.feed_batch,
        entity="feed",
        entity_id=kind,
        data={
            **result.as_json(),
            "first": getattr(records[0], id_field) if records else None,
            "last": getattr(records[-1], id_field) if records else None,
        },
    )
    return result


def _customers(db: Session, fresh: list[tuple[int, CustomerRecord]], errors: _Errors) -> None:
    numbers: dict[str, int] = {}
    for i, r in fresh:
        number = r.account or r.customer_id
        if number in numbers:
            errors.add(i, "account", f"account {number!r} repeats record {numbers[number]}")
        numbers.setdefault(number, i)
    taken = set(backoffice.accounts_of_numbers(db, list(numbers)))
    for number in taken:
        errors.add(numbers[number], "account", f"account {number!r} belongs to another customer")
    errors.raise_any()
    made = backoffice.add_customers(
        db,
        [
            backoffice.NewCustomer(
                code=r.customer_id,
                name=r.name,
                name_en=r.name_en,
                opened_on=r.opened_at,
                risk_level=r.risk_level,
                account=r.account or r.customer_id,
            )
            for _, r in fresh
        ],
    )
    db.add_all(
        AmlParty(customer_id=c.id, party_type=r.type) for c, (_, r) in zip(made, fresh, strict=True)
    )
    db.flush()


def _movements(
    db: Session,
    kind: str,
    fresh: list[tuple[int, Any]],
    errors: _Errors,
    actor: User | None,
) -> Any:
    ids = backoffice.ids_of_codes(db, (r.customer_id for _, r in fresh))
    accounts = backoffice.accounts_of_codes(db, ids)
    placed: list[tuple[int, Any, int]] = []  # (customer id, record, account id)
    for i, r in fresh:
        own = accounts.get(r.customer_id)
        if r.customer_id not in ids:
            errors.add(i, "customer_id", f"unknown customer {r.customer_id!r}")
        elif not own:
            errors.add(i, "customer_id", f"customer {r.customer_id!r} has no trading account")
        elif r.account and r.account not in own:
            errors.add(i, "account", f"{r.account!r} is not an account of {r.customer_id!r}")
        else:
            acct = own[r.account] if r.account else next(iter(own.values()))
            placed.append((ids[r.customer_id], r, acct))
    errors.raise_any()
    new_refs: dict[int, list[tuple[str, Any]]] = {}
    if kind == "transfers":
        backoffice.add_transfers(
            db,
            [
                backoffice.NewTransfer(
                    ref=r.transfer_id,
                    account_id=acct,
                    at=r.ts,
                    direction=r.kind,
                    amount=r.amount,
                    method=r.method,
                    counterparty_name=r.counterparty_name,
                    status=r.status,
                )
                for _, r, acct in placed
            ],
        )
        for cid, r, _ in placed:
            if r.status not in backoffice.NOT_DONE:
                new_refs.setdefault(cid, []).append((f"transfer:{r.transfer_id}", r.ts))
    else:
        backoffice.add_trades(
            db,
            [
                backoffice.NewTrade(
                    ref=r.trade_id,
                    account_id=acct,
                    at=r.ts,
                    side=r.side,
                    symbol=r.symbol,
                    qty=r.qty,
                    price=r.price,
                    status=r.status,
                )
                for _, r, acct in placed
            ],
        )
        for cid, r, _ in placed:
            if r.status not in backoffice.NOT_DONE:
                new_refs.setdefault(cid, []).append((f"trade:{r.trade_id}", r.ts))
    return check_new(db, new_refs=new_refs, actor_id=actor.id if actor else None)
