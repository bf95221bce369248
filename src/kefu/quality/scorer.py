"""The QA scorer: a conversation and a scorecard in, an evaluation out.

Pure: given its policy (reply signals, glossary, checked facts — ``quality/content.py`` reads
``content/policies/quality.yaml`` and the rules registry) and a scorecard
(``content/policies/scorecards/*.yaml``). Every check is a rule of the product, named by the
scorecard's items; each item's points are either gained or lost, and every point gained or lost
is a :class:`Finding` that names the message that caused it.

Critical failures (a guard ``block`` finding in a message that reached the customer, a missing
risk disclosure the agent overrode, asking for a credential) fail the evaluation whatever the
rest: ``auto_fail`` is set, ``passed`` is False and ``score`` is 0 (``raw_score`` keeps what the
other items would have given), so a pleasant but non-compliant conversation never averages out.

Score = 100 × points earned ÷ points applicable (an item that cannot be measured — the timing
items of a transcript without timestamps — is left out of both), rounded to one decimal.

This module is the engine and the scorer's public face (``__all__``); its parts sit beside it:
``conversation.py`` (the input and its JSON form), ``signals.py`` (the policy and the reply
scan), ``facts.py`` (stated rates against the rules registry) and ``scorecard.py`` (scorecards,
findings, evaluations and ratings).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from kefu.quality.conversation import (
    ROLES,
    Conversation,
    QualityError,
    Screener,
    Turn,
    _lang,
    parse_conversation,
)
from kefu.quality.facts import FactCheck, _facts, _rule_title, check_facts, stated_fractions
from kefu.quality.scorecard import (
    CHECKS,
    CRITICAL,
    RATINGS,
    SECTIONS,
    Evaluation,
    Finding,
    Item,
    Scorecard,
    Section,
    _round1,
    card_for,
    parse_scorecard,
    rating,
    score_ratings,
)
from kefu.quality.signals import (
    SIGNALS,
    Fact,
    GlossaryTerm,
    QualityPolicy,
    ReplyScan,
    _fold,
    _scan,
    _terms_in,
    parse_policy,
    reply_signals,
    scan_reply,
)

__all__ = [
    "CHECKS",
    "CRITICAL",
    "RATINGS",
    "ROLES",
    "SECTIONS",
    "SIGNALS",
    "Conversation",
    "Evaluation",
    "Fact",
    "FactCheck",
    "Finding",
    "GlossaryTerm",
    "Item",
    "QualityError",
    "QualityPolicy",
    "ReplyScan",
    "Scorecard",
    "Screener",
    "Section",
    "Turn",
    "card_for",
    "check_facts",
    "contract_output",
    "parse_conversation",
    "parse_policy",
    "parse_scorecard",
    "rating",
    "reply_signals",
    "scan_reply",
    "score",
    "score_ratings",
    "stated_fractions",
]


class _Ledger:
    """The findings of one item: whatever is not lost of its points is gained."""

    def __init__(self, section: str, item: Item) -> None:
        self.section, self.item = section, item
        self.lost: list[Finding] = []
        self.remaining = item.points

    def lose(
        self,
        index: int | None,
        zh: str,
        en: str,
        rule: str,
        amount: Decimal | None = None,
        critical: bool = False,
    ) -> None:
        take = self.remaining if amount is None else min(amount, self.remaining)
        self.remaining -= take
        self.lost.append(Finding(self.section, index, -take, zh, en, rule, critical))

    def findings(self, index: int | None, zh: str, en: str) -> list[Finding]:
        out = list(self.lost)
        if self.remaining > 0:
            out.insert(0, Finding(self.section, index, self.remaining, zh, en, self.item.check))
        return out


def _verdict(turn: Turn, guard: Screener | None) -> tuple[str | None, tuple[str, ...]]:
    if turn.guard_verdict is not None or guard is None:
        return turn.guard_verdict, turn.guard_categories
    try:
        s = guard.screen(turn.text, "agent")
    except ValueError:  # text the guard refuses (empty, too long): nothing to judge
        return None, ()
    return str(s.verdict), tuple(str(f.category) for f in s.findings)


def _since(a: datetime, b: datetime) -> float:
    return (b - a).total_seconds()


def _mins(seconds: float) -> str:
    return f"{seconds / 60:.0f}"


def score(
    conv: Conversation,
    card: Scorecard,
    *,
    policy: QualityPolicy,
    guard: Screener | None = None,
    as_of: date | None = None,
) -> Evaluation:
    """Scores ``conv`` against ``card``. ``guard`` screens agent turns that carry no stored
    verdict (imported transcripts); ``as_of`` is the day facts are checked for (default: the
    day of the first timestamped message, else today)."""
    lang = _lang(conv.lang)
    turns = conv.turns
    agent = [i for i, t in enumerate(turns) if t.role == "agent"]
    if as_of is None:
        stamped = next((t.at for t in turns if t.at is not None), None)
        as_of = stamped.date() if stamped else date.today()
    # what each agent reply says (jargon is judged against what the customer said before)
    scans: dict[int, ReplyScan] = {}
    folded: dict[int, str] = {}
    known: set[str] = set()
    for i, t in enumerate(turns):
        if t.role == "customer":
            known.update(_terms_in(_fold(t.text), policy))
        elif t.role == "agent":
            folded[i] = norm = _fold(t.text)
            scans[i] = _scan(norm, lang, policy, known)
    first = agent[0] if agent else None
    last = agent[-1] if agent else None
    findings: list[Finding] = []
    earned: dict[str, Decimal] = {}
    applicable: dict[str, Decimal] = {}
    critical_hit = False
    items: dict[str, tuple[Decimal, Decimal]] = {}

    def with_signal(signal: str, among: Sequence[int]) -> int | None:
        return next((i for i in among if signal in scans[i].signals), None)

    for section in card.sections:
        for item in section.items:
            led = _Ledger(section.name, item)
            check = item.check
            gain_at = last
            zh = en = ""
            if check == "greeting":
                gain_at = first
                if first is None or "greeting" not in scans[first].signals:
                    led.lose(
                        first,
                        "首次回复没有问候客户。",
                        "The first reply does not greet the customer.",
                        check,
                    )
                zh, en = "首次回复问候了客户。", "The first reply greets the customer."
            elif check == "name":
                hit = with_signal("name", agent[:2])
                gain_at = hit
                if hit is None:
                    led.lose(
                        first,
                        "开场没有报出姓名或工号。",
                        "The agent does not give a name or staff id at the start.",
                        check,
                    )
                zh, en = "开场报出了姓名或工号。", "The agent gives a name or staff id."
            elif check == "empathy":
                hit = next((i for i in agent if scans[i].signals & {"empathy", "apology"}), None)
                gain_at = hit
                if hit is None:
                    led.lose(
                        first,
                        "没有回应客户的感受或确认问题。",
                        "No reply acknowledges the customer's feelings or problem.",
                        check,
                    )
                zh, en = (
                    "回应了客户的感受并确认了问题。",
                    "A reply acknowledges the customer's feelings and problem.",
                )
            elif check == "question":
                hit = with_signal("question", agent)
                gain_at = hit
                if hit is None:
                    led.lose(
                        first,
                        "没有提出澄清问题来确认客户的需求。",
                        "No clarifying question confirms what the customer needs.",
                        check,
                    )
                zh, en = "提出了澄清问题。", "A clarifying question is asked."
            elif check == "facts":
                per = item.per or item.points
                right: int | None = None
                for i in agent:
                    for fc in _facts(folded[i], policy, as_of):
                        if fc.correct:
                            right = i if right is None else right
                            continue
                        led.lose(
                            i,
                            f"「{fc.stated}」与规则库不符："
                            f"{_rule_title(policy, fc.rule, 'zh')}现为{fc.expected_zh}。",
                            f"“{fc.stated}” contradicts the rules registry: "
                            f"{_rule_title(policy, fc.rule, 'en')} is {fc.expected_en}.",
                            f"rule:{fc.rule}" + (f".{fc.field}" if fc.field else ""),
                            per,
                        )
                gain_at = right if right is not None else last
                if led.lost:
                    zh, en = (
                        "其余陈述的事实与规则库一致。",
                        "The other facts stated agree with the registry.",
                    )
                elif right is not None:
                    zh, en = (
                        "回复中的规则数字与规则库一致。",
                        "The rule figures stated agree with the rules registry.",
                    )
                else:
                    zh, en = (
                        "回复中没有与知识库或规则库矛盾的事实。",
                        "No stated fact contradicts the KB or the rules registry.",
                    )
            elif check == "guard":
                per = item.per or item.points
                for i in agent:
                    verdict, cats = _verdict(turns[i], guard)
                    if "credential" in cats:
                        crit = "credential_request" in card.critical
                        critical_hit |= crit
                        led.lose(
                            i,
                            "向客户索要密码或验证码。",
                            "The agent asks the customer for a password or code.",
                            "credential_request",
                            critical=crit,
                        )
                    elif verdict == "block":
                        crit = "guard_block" in card.critical
                        critical_hit |= crit
                        led.lose(
                            i,
                            f"发给客户的消息触发合规拦截（{'、'.join(cats) or 'block'}）。",
                            "A message that reached the customer has a guard block finding "
                            f"({', '.join(cats) or 'block'}).",
                            "guard_block",
                            critical=crit,
                        )
                    if verdict == "warn":
                        if turns[i].override and "disclosure" in cats:
                            crit = "disclosure_override" in card.critical
                            critical_hit |= crit
                            led.lose(
                                i,
                                "推介产品缺少风险揭示，坐席确认后仍然发送。",
                                "A product was pitched without the risk disclosure and the "
                                "agent overrode the warning.",
                                "disclosure_override",
                                per if not crit else None,
                                critical=crit,
                            )
                        else:
                            led.lose(
                                i,
                                f"消息有合规提示（{'、'.join(cats)}）。",
                                f"The message has a guard warning ({', '.join(cats)}).",
                                "guard_warn",
                                per,
                            )
                if led.lost:
                    zh, en = (
                        "其余回复通过合规检查。",
                        "The other replies pass the compliance guard.",
                    )
                else:
                    zh, en = "所有回复均通过合规检查。", "Every reply passes the compliance guard."
            elif check == "jargon":
                per = item.per or item.points
                for i in agent:
                    for g in scans[i].jargon:
                        led.lose(
                            i,
                            f"使用术语「{g.term}」未加解释（{g.zh}）。",
                            f"The term “{g.term}” is used without explanation ({g.en}).",
                            f"jargon:{g.term}",
                            per,
                        )
                if led.lost:
                    zh, en = "其余术语均有解释。", "Other terms are explained."
                else:
                    zh, en = "没有未加解释的专业术语。", "No jargon is left unexplained."
            elif check == "first_response":
                cust = next((i for i, t in enumerate(turns) if t.role == "customer"), None)
                if first is None:
                    led.lose(None, "客户没有得到任何回复。", "The customer got no reply.", check)
                elif (
                    cust is None
                    or cust > first
                    or turns[cust].at is None
                    or turns[first].at is None
                ):
                    continue  # not measurable: outside the score
                else:
                    at_c, at_a = turns[cust].at, turns[first].at
                    assert at_c is not None and at_a is not None
                    wait = _since(at_c, at_a)
                    gain_at = first
                    if wait > card.first_response_seconds:
                        led.lose(
                            first,
                            f"首次响应用时{_mins(wait)}分钟，超过{_mins(card.first_response_seconds)}分钟。",
                            f"First response took {_mins(wait)} min, "
                            f"over {_mins(card.first_response_seconds)} min.",
                            check,
                        )
                    zh = f"首次响应用时{_mins(wait)}分钟。"
                    en = f"First response in {_mins(wait)} min."
            elif check == "gaps":
                per = item.per or item.points
                measured = False
                pending: int | None = None
                for i, t in enumerate(turns):
                    if t.role == "customer" and pending is None and first is not None and i > first:
                        pending = i
                    elif t.role == "agent" and pending is not None:
                        a, b = turns[pending].at, t.at
                        if a is not None and b is not None:
                            measured = True
                            wait = _since(a, b)
                            if wait > card.gap_seconds:
                                led.lose(
                                    i,
                                    f"客户等待了{_mins(wait)}分钟才得到回复（上限{_mins(card.gap_seconds)}分钟）。",
                                    f"The customer waited {_mins(wait)} min for this reply "
                                    f"(limit {_mins(card.gap_seconds)} min).",
                                    check,
                                    per,
                                )
                        pending = None
                if not measured:
                    continue
                every_zh, every_en = ("其余", "The other") if led.lost else ("每次", "Every")
                zh = f"{every_zh}回复的间隔都在{_mins(card.gap_seconds)}分钟以内。"
                en = f"{every_en} replies came within {_mins(card.gap_seconds)} min."
            elif check == "resolved":
                if not conv.resolved:
                    esc = with_signal("escalate", agent)
                    if esc is not None:
                        led.lose(
                            esc,
                            "问题未解决，但为客户提供了升级或投诉渠道。",
                            "Not resolved, but the customer was offered escalation or a "
                            "complaint route.",
                            check,
                            item.points / 2,
                        )
                        gain_at = esc
                        zh, en = "提供了升级渠道。", "Escalation offered."
                    else:
                        led.lose(
                            last,
                            "问题未解决，也没有给出下一步。",
                            "Not resolved and no next step offered.",
                            check,
                        )
                else:
                    zh, en = "问题已解决。", "The problem was resolved."
            elif check == "closing":
                hit = next((i for i in reversed(agent[-2:]) if "closing" in scans[i].signals), None)
                gain_at = hit
                if hit is None:
                    led.lose(
                        last,
                        "结束时没有询问客户是否还需要其他帮助。",
                        "The close does not offer further help.",
                        check,
                    )
                zh, en = "结束时询问客户是否还需要其他帮助。", "The close offers further help."
            applicable[section.name] = applicable.get(section.name, Decimal(0)) + item.points
            earned[section.name] = earned.get(section.name, Decimal(0)) + led.remaining
            items[check] = (led.remaining, item.points)
            findings.extend(led.findings(gain_at, zh, en))
    total_app = sum(applicable.values(), Decimal(0))
    total_earned = sum(earned.values(), Decimal(0))
    raw = _round1(100 * total_earned / total_app) if total_app else 0.0
    sections = {
        s.name: _round1(100 * earned[s.name] / applicable[s.name])
        for s in card.sections
        if applicable.get(s.name)
    }
    final = 0.0 if critical_hit else raw
    findings.sort(key=lambda f: (f.message_index if f.message_index is not None else -1, f.points))
    return Evaluation(
        scorecard=card.name,
        score=final,
        raw_score=raw,
        passed=not critical_hit and Decimal(str(raw)) >= card.pass_mark,
        auto_fail=critical_hit,
        sections=sections,
        findings=tuple(findings),
        earned=total_earned,
        applicable=total_app,
        items=items,
    )


def contract_output(ev: Evaluation, lang: str) -> dict[str, Any]:
    """The evaluation in the shape `kefu qa score --json` promises: score, passed, auto_fail,
    sections and findings (section, message_index, points, reason in ``lang``)."""
    return {
        "score": ev.score,
        "passed": ev.passed,
        "auto_fail": ev.auto_fail,
        "sections": dict(ev.sections),
        "findings": [
            {
                "section": f.section,
                "message_index": f.message_index,
                "points": float(f.points),
                "reason": f.reason(lang),
            }
            for f in ev.findings
        ],
    }
