"""Binary-option settlement replay: what a recorded trade should have paid, from the ticks.

The settlement price is the last tick at or before the expiry time (a binary search over the
tick times, never a scan). A call wins above the strike, a put below; equal is a tie, and the
money of a tie follows the tie rule in force (``refund``: the stake comes back; ``loss``: it is
kept). Money is Decimal, rounded half-up to the cent. Kefu replays binary-option records for
disputes and refunds only; it offers no such product.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal
from typing import Any, Literal

import numpy as np

from kefu.market.series import Ticks, from_us, to_us

__all__ = [
    "DIRECTIONS",
    "TIE_RULES",
    "BinaryTrade",
    "Replay",
    "ReplayError",
    "replay",
]

Outcome = Literal["win", "loss", "tie"]
#: the record's direction: call/put, or up/down as some platforms write it
DIRECTIONS = {"call": "call", "up": "call", "put": "put", "down": "put"}
TIE_RULES = ("refund", "loss")
CENT = Decimal("0.01")


class ReplayError(ValueError):
    """A trade that cannot be replayed against the given ticks (the message says why)."""


@dataclass(frozen=True)
class BinaryTrade:
    direction: str  # call | put (up/down accepted)
    strike: Decimal
    stake: Decimal
    payout_rate: Decimal
    open_ts: datetime
    expiry_ts: datetime
    tie_rule: str = "refund"

    def checked(self) -> BinaryTrade:
        """The trade with its direction normalised; refuses what cannot be settled."""
        direction = DIRECTIONS.get(self.direction.lower())
        if direction is None:
            raise ReplayError(f"direction {self.direction!r} must be call or put (up or down)")
        if self.tie_rule not in TIE_RULES:
            raise ReplayError(f"tie_rule {self.tie_rule!r} must be refund or loss")
        if self.stake <= 0:
            raise ReplayError("stake must be positive")
        if self.strike <= 0:
            raise ReplayError("strike must be positive")
        if not Decimal(0) < self.payout_rate <= Decimal(10):
            raise ReplayError("payout_rate must be a fraction of the stake, e.g. 0.82")
        if self.open_ts.tzinfo is None or self.expiry_ts.tzinfo is None:
            raise ReplayError("open_ts and expiry_ts need a time zone")
        if self.expiry_ts <= self.open_ts:
            raise ReplayError("expiry_ts must be after open_ts")
        return BinaryTrade(
            direction,
            self.strike,
            self.stake,
            self.payout_rate,
            self.open_ts,
            self.expiry_ts,
            self.tie_rule,
        )


@dataclass(frozen=True)
class Replay:
    outcome: Outcome
    expiry_price: Decimal
    expiry_tick_ts: datetime
    returned: Decimal
    profit: Decimal
    evidence: tuple[tuple[datetime, Decimal], ...]
    settlement_index: int  # position of the settlement tick within ``evidence``
    tie_rule: str

    def as_dict(self) -> dict[str, Any]:
        """The JSON contract of ``kefu market replay``."""
        return {
            "outcome": self.outcome,
            "expiry_price": format(self.expiry_price, "f"),
            "expiry_tick_ts": self.expiry_tick_ts.isoformat(),
            "returned": format(self.returned, "f"),
            "profit": format(self.profit, "f"),
            "evidence": [
                {
                    "ts": ts.isoformat(),
                    "price": format(p, "f"),
                    "settlement": i == self.settlement_index,
                }
                for i, (ts, p) in enumerate(self.evidence)
            ],
        }


def _price(value: float) -> Decimal:
    # the shortest text that reads back as the same double: 1.26985, never 1.2698499999…
    return Decimal(repr(float(value)))


def replay(trade: BinaryTrade, ticks: Ticks, *, around: int = 5) -> Replay:
    """Settles ``trade`` against ``ticks``; ``around`` ticks each side of the settlement tick are
    kept as evidence. Expiry before the first tick or after the last one is refused: the feed
    does not cover it, so the settlement tick cannot be known."""
    t = trade.checked()
    expiry = to_us(t.expiry_ts)
    first, last = int(ticks.ts[0]), int(ticks.ts[-1])
    if expiry < first:
        raise ReplayError(
            f"expiry {t.expiry_ts.isoformat()} is before the first tick "
            f"({from_us(first).isoformat()})"
        )
    if expiry > last:
        raise ReplayError(
            f"expiry {t.expiry_ts.isoformat()} is after the last tick "
            f"({from_us(last).isoformat()}): a later tick at or before expiry may be missing"
        )
    i = int(np.searchsorted(ticks.ts, expiry, side="right")) - 1
    price = _price(ticks.price[i])
    diff = price - t.strike
    if diff == 0:
        outcome: Outcome = "tie"
    elif (diff > 0) == (t.direction == "call"):
        outcome = "win"
    else:
        outcome = "loss"
    stake = t.stake
    if outcome == "win":
        profit = (stake * t.payout_rate).quantize(CENT, ROUND_HALF_UP)
        returned = stake + profit
    elif outcome == "tie" and t.tie_rule == "refund":
        returned, profit = stake, Decimal("0.00")
    else:
        returned, profit = Decimal("0.00"), -stake
    lo, hi = max(0, i - around), min(len(ticks), i + around + 1)
    evidence = tuple((from_us(int(ticks.ts[j])), _price(ticks.price[j])) for j in range(lo, hi))
    return Replay(
        outcome=outcome,
        expiry_price=price,
        expiry_tick_ts=from_us(int(ticks.ts[i])),
        returned=returned.quantize(CENT),
        profit=profit.quantize(CENT),
        evidence=evidence,
        settlement_index=i - lo,
        tie_rule=t.tie_rule,
    )
