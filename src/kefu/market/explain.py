"""Plain-language replies about a replayed binary-option record (zh / en).

Pure: the facts of the replay in, the text out. The reply explains the settlement rule (the last
price at or before expiry decides), states the figures, and — when the replay disagrees with the
record — says a supervisor reviews a correction, without promising its outcome.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = ["ReplayFacts", "draft_reply"]


@dataclass(frozen=True)
class ReplayFacts:
    ref: str
    symbol: str
    direction: str  # call | put
    strike: Decimal
    expiry_local: str  # expiry in the customer's zone, formatted
    tick_local: str  # the settlement tick's time, formatted
    expiry_price: Decimal
    outcome: str  # win | loss | tie
    recorded_result: str
    tie_rule: str  # refund | loss
    returned: Decimal
    currency: str
    matches: bool


_ZH_RESULT = {"win": "盈利", "loss": "亏损", "tie": "平局"}
_ZH_DIR = {"call": "看涨", "put": "看跌"}
_EN_DIR = {"call": "call (up)", "put": "put (down)"}


def _relation(f: ReplayFacts, lang: str) -> str:
    if f.expiry_price > f.strike:
        return "高于" if lang == "zh" else "above"
    if f.expiry_price < f.strike:
        return "低于" if lang == "zh" else "below"
    return "等于" if lang == "zh" else "equal to"


def _zh(f: ReplayFacts) -> str:
    rel = _relation(f, "zh")
    head = (
        f"您好，我们已用平台记录的逐笔报价重放了您的交易 {f.ref}（{f.symbol}，"
        f"{_ZH_DIR[f.direction]}，开仓价 {f.strike}，到期时间 {f.expiry_local}）。"
        f"结算价是到期时刻或之前的最后一笔报价：{f.tick_local} 的 {f.expiry_price}，"
        f"{rel}开仓价 {f.strike}。"
    )
    if f.outcome == "tie":
        rule = "退还本金" if f.tie_rule == "refund" else "按亏损处理"
        result = f"到期价等于开仓价为平局，按平台的平局规则{rule}"
    else:
        result = f"因此结果为{_ZH_RESULT[f.outcome]}"
    money = f"应返还金额为 {f.returned} {f.currency}。"
    rule_note = "结算只看到期时刻的价格，持仓期间的涨跌和到期之后的报价都不影响结果。"
    if f.matches:
        return f"{head}{result}，与系统记录一致，{money}{rule_note}"
    return (
        f"{head}{result}，与系统记录的“{_ZH_RESULT.get(f.recorded_result, f.recorded_result)}”"
        f"不一致，按重放{money}我们已提交更正申请，由主管审核，审核结果会第一时间通知您。"
        f"{rule_note}"
    )


def _en(f: ReplayFacts) -> str:
    rel = _relation(f, "en")
    head = (
        f"Hello, we replayed your trade {f.ref} ({f.symbol}, {_EN_DIR[f.direction]}, strike "
        f"{f.strike}, expiry {f.expiry_local}) against the platform's recorded prices. The "
        f"settlement price is the last price at or before expiry: {f.expiry_price} at "
        f"{f.tick_local}, {rel} the strike of {f.strike}."
    )
    if f.outcome == "tie":
        rule = "the stake is refunded" if f.tie_rule == "refund" else "a tie counts as a loss"
        result = f" Equal to the strike is a tie, and under the platform's tie rule {rule}"
    else:
        result = f" So the trade is a {f.outcome}"
    money = f"the amount due back is {f.returned} {f.currency}."
    rule_note = (
        " Only the price at expiry counts: moves while the trade was open, and prices after "
        "expiry, do not change the result."
    )
    if f.matches:
        return f"{head}{result}, as recorded; {money}{rule_note}"
    return (
        f"{head}{result}, not a {f.recorded_result} as recorded; by the replay {money} We have "
        f"asked a supervisor to review a correction and will tell you the decision as soon as "
        f"it is made.{rule_note}"
    )


def draft_reply(facts: ReplayFacts, lang: str) -> str:
    """The reply in ``lang`` (zh… or en…)."""
    return _en(facts) if lang.startswith("en") else _zh(facts)
