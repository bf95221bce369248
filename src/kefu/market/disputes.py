"""Disputes of binary-option records: replay against the stored ticks, compare with the record,
draft the reply (screened by the guard), and the supervisor's decision on a correction.

Kefu handles binary-option records for disputes, refunds and consumer protection only; it offers
no such product."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.compliance import service as compliance
from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.config import get_settings
from kefu.core.db import utcnow
from kefu.core.errors import Forbidden, NotFound, Phrase, ValidationFailed
from kefu.core.security import User, require
from kefu.customers import trades as customer_trades
from kefu.customers.trades import TradeRecord
from kefu.desk import service as desk
from kefu.market import prices
from kefu.market.audit import MarketAudit
from kefu.market.explain import ReplayFacts, draft_reply
from kefu.market.models import Correction, Dispute
from kefu.market.series import Ticks, from_us, to_us
from kefu.market.settlement import BinaryTrade, Replay, ReplayError, replay

__all__ = [
    "DisputeView",
    "ReplayView",
    "corrections",
    "decide_correction",
    "dispute_of",
    "draft",
    "open_dispute",
    "replay_trade",
]

CENT = Decimal("0.01")
#: how far around the trade the stored ticks are read for the replay and its chart
WINDOW = timedelta(minutes=10)


@dataclass(frozen=True)
class ReplayView:
    trade: TradeRecord
    feed: str
    tie_rule: str
    tie_rule_on_record: bool
    replay: Replay
    recorded_returned: Decimal
    matches: bool
    #: the ticks from the open to a minute after expiry, for the chart: (iso ts, price)
    chart: tuple[tuple[str, str], ...]

    @property
    def direction(self) -> str:
        return "call" if (self.trade.direction or "").lower() in ("call", "up") else "put"

    def as_dict(self) -> dict[str, Any]:
        t = self.trade
        return {
            "trade": {
                "ref": t.ref,
                "symbol": t.symbol,
                "account": t.account_number,
                "currency": t.currency,
                "direction": self.direction,
                "stake": format((t.stake or Decimal(0)).quantize(CENT), "f"),
                "payout_rate": format(t.payout_rate or 0, "f"),
                "strike": format(t.entry_price or 0, "f"),
                "open_ts": t.at.isoformat(),
                "expiry_ts": t.expiry_at.isoformat() if t.expiry_at else None,
                "recorded": {
                    "result": t.result,
                    "settle_price": format(t.settle_price, "f") if t.settle_price else None,
                    "settle_tick_ts": t.settle_tick_at.isoformat() if t.settle_tick_at else None,
                    "returned": format(self.recorded_returned, "f"),
                },
            },
            "feed": self.feed,
            "tie_rule": self.tie_rule,
            "tie_rule_on_record": self.tie_rule_on_record,
            "replay": self.replay.as_dict(),
            "matches": self.matches,
        }


def _returned(result: str | None, stake: Decimal, rate: Decimal, tie_rule: str) -> Decimal:
    if result == "win":
        return (stake + (stake * rate).quantize(CENT, ROUND_HALF_UP)).quantize(CENT)
    if result == "tie" and tie_rule == "refund":
        return stake.quantize(CENT)
    return Decimal("0.00")


def _status_word(status: str) -> Callable[[str], str]:
    """A correction's status: its code in English (as the API said it), in words in Chinese."""
    word = Phrase(f"market.errors.status.{status}", status)
    return lambda lang: status if lang.startswith("en") else word(lang)


def _replay(db: Session, t: TradeRecord) -> ReplayView:
    if t.expiry_at is None or t.entry_price is None or t.stake is None or t.payout_rate is None:
        raise ValidationFailed(key="market.errors.replay_fields", params={"ref": t.ref})
    inst = prices.get_instrument(db, viewer=None, code=t.symbol)
    feed = t.settle_feed or inst.feed
    ticks = prices.ticks_of(
        db, code=t.symbol, feed=feed, start=t.at - WINDOW, end=t.expiry_at + WINDOW
    )
    if ticks is None:
        raise ValidationFailed(
            key="market.errors.no_ticks",
            params={"feed": feed or "stored", "symbol": t.symbol, "ref": t.ref},
        )
    tie_rule = t.tie_rule or "refund"
    try:
        r = replay(
            BinaryTrade(
                direction=t.direction or "",
                strike=t.entry_price,
                stake=t.stake,
                payout_rate=t.payout_rate,
                open_ts=t.at,
                expiry_ts=t.expiry_at,
                tie_rule=tie_rule,
            ),
            ticks,
        )
    except ReplayError as exc:
        raise ValidationFailed(
            key="market.errors.replay_failed", params={"ref": t.ref, "reason": str(exc)}
        ) from exc
    recorded = _returned(t.result, t.stake, t.payout_rate, tie_rule)
    return ReplayView(
        trade=t,
        feed=feed,
        tie_rule=tie_rule,
        tie_rule_on_record=t.tie_rule is not None,
        replay=r,
        recorded_returned=recorded,
        matches=r.outcome == t.result and r.returned == recorded,
        chart=_chart(ticks, t),
    )


def _chart(ticks: Ticks, t: TradeRecord) -> tuple[tuple[str, str], ...]:
    assert t.expiry_at is not None
    lo = int(ticks.ts.searchsorted(to_us(t.at - timedelta(minutes=1))))
    hi = int(ticks.ts.searchsorted(to_us(t.expiry_at + timedelta(minutes=1)), side="right"))
    return tuple(
        (from_us(int(ticks.ts[i])).isoformat(), repr(float(ticks.price[i]))) for i in range(lo, hi)
    )


def replay_trade(db: Session, *, viewer: User, ref: str) -> ReplayView:
    """Replays a binary-option record against the stored ticks (a read: nothing is written)."""
    require(viewer, "market.read")
    return _replay(db, customer_trades.binary_trade(db, viewer=viewer, ref=ref))


@action
def open_dispute(db: Session, *, actor: User, ref: str, case_id: int | None = None) -> Dispute:
    """Opens a dispute on a record: the replay is kept with it; a replay that disagrees with the
    record opens a correction for a supervisor. A record already disputed returns its dispute."""
    require(actor, "market.dispute")
    view = replay_trade(db, viewer=actor, ref=ref)
    if case_id is not None:
        desk.visible_case(db, viewer=actor, case_id=case_id)
    existing = db.scalar(select(Dispute).where(Dispute.trade_id == view.trade.id))
    if existing is not None:
        unchanged(db)
        return existing
    r, t = view.replay, view.trade
    row = Dispute(
        trade_id=t.id,
        trade_ref=t.ref,
        case_id=case_id,
        opened_by=actor.id,
        opened_at=utcnow(),
        status="confirmed" if view.matches else "correction",
        feed=view.feed,
        tie_rule=view.tie_rule,
        recorded_result=t.result or "",
        recorded_returned=view.recorded_returned,
        outcome=r.outcome,
        expiry_price=r.expiry_price,
        expiry_tick_at=r.expiry_tick_ts,
        returned=r.returned,
        profit=r.profit,
        matches=view.matches,
        evidence=r.as_dict()["evidence"],
    )
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=MarketAudit.dispute_open,
        entity="trade",
        entity_id=t.id,
        data={
            "ref": t.ref,
            "dispute_id": row.id,
            "case_id": case_id,
            "recorded": t.result,
            "replay": r.outcome,
            "expiry_price": format(r.expiry_price, "f"),
            "expiry_tick_ts": r.expiry_tick_ts.isoformat(),
            "matches": view.matches,
        },
    )
    if not view.matches:
        amount = r.returned - view.recorded_returned
        corr = Correction(
            dispute_id=row.id,
            trade_ref=t.ref,
            account_number=t.account_number,
            currency=t.currency,
            amount=amount,
            status="pending",
            requested_by=actor.id,
            requested_at=utcnow(),
        )
        db.add(corr)
        db.flush()
        audit.record(
            db,
            actor_id=actor.id,
            action=MarketAudit.correction_request,
            entity="trade",
            entity_id=t.id,
            data={
                "ref": t.ref,
                "correction_id": corr.id,
                "account": t.account_number,
                "amount": format(amount, "f"),
                "currency": t.currency,
            },
        )
    return row


@dataclass(frozen=True)
class DisputeView:
    dispute: Dispute
    correction: Correction | None


def dispute_of(db: Session, *, viewer: User, ref: str) -> DisputeView | None:
    """The dispute of a record, if one was opened."""
    require(viewer, "market.read")
    t = customer_trades.binary_trade(db, viewer=viewer, ref=ref)
    row = db.scalar(select(Dispute).where(Dispute.trade_id == t.id))
    if row is None:
        return None
    corr = db.scalar(select(Correction).where(Correction.dispute_id == row.id))
    return DisputeView(row, corr)


def corrections(db: Session, *, viewer: User, status: str | None = "pending") -> list[Correction]:
    require(viewer, "market.correct")
    stmt = select(Correction).order_by(Correction.requested_at.desc())
    if status:
        stmt = stmt.where(Correction.status == status)
    return list(db.scalars(stmt.limit(200)))


@action
def decide_correction(
    db: Session,
    *,
    actor: User,
    correction_id: int,
    decision: Literal["approve", "reject"],
    note: str = "",
) -> Correction:
    """A supervisor approves (the adjustment is booked by the back office) or rejects (the record
    stands) a pending correction; the one who requested it may not decide it."""
    require(actor, "market.correct")
    corr = db.get(Correction, correction_id)
    if corr is None:
        raise NotFound(key="market.errors.correction_missing", params={"id": correction_id})
    if corr.status != "pending":
        raise ValidationFailed(
            key="market.errors.correction_decided",
            params={"id": correction_id, "status": _status_word(corr.status)},
        )
    if corr.requested_by == actor.id:
        raise Forbidden(key="market.errors.four_eyes")
    if decision not in ("approve", "reject"):
        raise ValidationFailed(key="market.errors.decision")
    if decision == "reject" and not note.strip():
        raise ValidationFailed(
            key="market.errors.reject_note", fields=[{"field": "note", "message": "required"}]
        )
    corr.status = "approved" if decision == "approve" else "rejected"
    corr.decided_by, corr.decided_at, corr.note = actor.id, utcnow(), note.strip()[:500]
    dispute = db.get(Dispute, corr.dispute_id)
    if dispute is not None:
        dispute.status = "corrected" if decision == "approve" else "upheld"
    audit.record(
        db,
        actor_id=actor.id,
        action=MarketAudit.correction_decide,
        entity="correction",
        entity_id=corr.id,
        data={
            "ref": corr.trade_ref,
            "old": {"status": "pending"},
            "new": {"status": corr.status},
            "amount": format(corr.amount, "f"),
            "currency": corr.currency,
            "note": corr.note,
        },
    )
    return corr


def _local(moment: datetime) -> str:
    return moment.astimezone(ZoneInfo(get_settings().timezone)).strftime("%Y-%m-%d %H:%M:%S")


def draft(view: ReplayView, lang: str) -> dict[str, Any]:
    """The reply to the customer in ``lang`` and the guard's verdict on it: the agent may insert
    it only when the guard does not block it (the desk screens it again when it is sent)."""
    t, r = view.trade, view.replay
    assert t.expiry_at is not None and t.entry_price is not None
    facts = ReplayFacts(
        ref=t.ref,
        symbol=t.symbol,
        direction=view.direction,
        strike=t.entry_price,
        expiry_local=_local(t.expiry_at),
        tick_local=_local(r.expiry_tick_ts),
        expiry_price=r.expiry_price,
        outcome=r.outcome,
        recorded_result=t.result or "",
        tie_rule=view.tie_rule,
        returned=r.returned,
        currency=t.currency,
        matches=view.matches,
    )
    text = draft_reply(facts, lang)
    verdict = compliance.screen_text(text, "agent")
    return {"lang": "en" if lang.startswith("en") else "zh", "text": text, "guard": verdict}
