"""The QA scorer against conversations scored by hand (zh and en). Each test's docstring or
comments carry the hand computation against content/policies/scorecards/*.yaml."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from decimal import Decimal

import pytest

from kefu.compliance.content import default_guard
from kefu.quality import content
from kefu.quality.scorer import (
    Conversation,
    Evaluation,
    QualityError,
    Turn,
    check_facts,
    parse_scorecard,
    reply_signals,
    score,
)

T0 = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)


def at(minutes: float) -> datetime:
    return T0 + timedelta(minutes=minutes)


@pytest.fixture(scope="module")
def policy():  # type: ignore[no-untyped-def]
    return content.policy()


@pytest.fixture(scope="module")
def cards():  # type: ignore[no-untyped-def]
    return content.scorecards()


def by_rule(ev: Evaluation) -> dict[tuple[str, int | None], float]:
    out: dict[tuple[str, int | None], float] = {}
    for f in ev.findings:
        key = (f.rule, f.message_index)
        out[key] = out.get(key, 0.0) + float(f.points)
    return out


def assert_ledger(ev: Evaluation) -> None:
    """Every point of every applicable item is either gained or lost, on a message."""
    gained = sum(f.points for f in ev.findings if f.points > 0)
    lost = -sum(f.points for f in ev.findings if f.points < 0)
    assert gained == ev.earned
    assert gained + lost == ev.applicable


# --- reply signals ------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "lang", "expected"),
    [
        ("您好，王先生，我是客服李娜。", "zh", {"greeting", "name"}),
        ("理解您的心情，请问您是哪天换的卡？", "zh", {"empathy", "question"}),
        ("非常抱歉让您久等了。", "zh", {"apology", "empathy"}),
        ("您的维持担保比例低于平仓线。", "zh", {"jargon"}),
        ("维持担保比例（资产总值除以负债）低于130%时需要追加现金。", "zh", set()),
        ("如果您不认可，我可以为您转交主管复核。", "zh", {"escalate"}),
        ("还有什么可以帮您的吗？", "zh", {"closing"}),
        ("Hello, this is Amy from Kefu.", "en", {"greeting", "name"}),
        (
            "I understand how frustrating this is. Could you confirm the order time?",
            "en",
            {"empathy", "question"},
        ),
        ("Your OTM option expired worthless.", "en", {"jargon"}),
        ("Your option was OTM, which means the strike was above the price.", "en", set()),
        (
            "I'm sorry. I can pass this to my supervisor for a review.",
            "en",
            {"apology", "escalate"},
        ),
        ("Is there anything else I can help with?", "en", {"closing"}),
        # "hi" inside "this" and "which" is no greeting
        ("Which account is this about?", "en", {"question"}),
    ],
)
def test_reply_signals(text: str, lang: str, expected: set[str], policy) -> None:  # type: ignore[no-untyped-def]
    assert reply_signals(text, lang=lang, policy=policy) == frozenset(expected)


def test_facts_are_checked_against_the_registry_on_the_day(policy) -> None:  # type: ignore[no-untyped-def]
    text = "印花税是千分之一，创业板涨跌幅20%。"
    now = {
        (c.rule, c.stated, c.correct)
        for c in check_facts(text, policy=policy, as_of=date(2026, 3, 2))
    }
    # stamp duty was halved to 0.05% on 2023-08-28; ChiNext's 20% has held since 2020-08-24
    assert now == {("stamp_duty", "千分之一", False), ("price_limit_chinext", "20%", True)}
    before = {(c.rule, c.correct) for c in check_facts(text, policy=policy, as_of=date(2019, 1, 2))}
    assert before == {("stamp_duty", True), ("price_limit_chinext", False)}
    # a board's own limit, not the main board's, answers for a ChiNext sentence
    main = check_facts("主板涨跌幅限制是20%。", policy=policy, as_of=date(2026, 3, 2))
    assert [(c.rule, c.correct, c.expected_en) for c in main] == [
        ("price_limit_main", False, "10%")
    ]
    # a customer's own ratio is no rule figure
    assert check_facts(
        "目前您的维持担保比例约为135%，低于警戒线140%。", policy=policy, as_of=date(2026, 3, 2)
    )[0].correct


# --- whole conversations, scored by hand --------------------------------------------------------


def test_a_good_zh_chat_scores_100(policy, cards) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation(
        channel="chat",
        resolved=True,
        turns=(
            Turn("customer", "你好，我前天申请的3万元提现还没到账，很着急。", at(0)),
            Turn("agent", "您好，我是客服李娜。理解您的心情，请问您最近是否更换过银行卡？", at(1)),
            Turn("customer", "换过，旧卡注销了。", at(2)),
            Turn("agent", "查到资金因原卡注销已退回证券账户，您绑定新卡后可以重新提现。", at(4)),
            Turn("customer", "好的，谢谢。", at(5)),
            Turn("agent", "不客气，还有什么可以帮您的吗？", at(6)),
        ),
    )
    ev = score(conv, cards["chat"], policy=policy)
    assert (ev.score, ev.passed, ev.auto_fail) == (100.0, True, False)
    assert set(ev.sections.values()) == {100.0}
    r = by_rule(ev)
    # the opening, empathy and question are earned by message 1, the closing by message 5
    assert r[("greeting", 1)] == 6 and r[("name", 1)] == 4
    assert r[("empathy", 1)] == 8 and r[("question", 1)] == 7
    assert r[("first_response", 1)] == 5 and r[("closing", 5)] == 5
    assert_ledger(ev)


def test_a_poor_zh_chat_hand_worked(policy, cards) -> None:  # type: ignore[no-untyped-def]
    """Chat card. Message 1 (after 5 min): no greeting −6, no name −4, no empathy −8, no
    question −7, first response 300 s > 120 s −5, jargon 维持担保比例 −3 and 平仓 −3 (强平
    finds the item empty: −0; 两融 is the customer's own word). Message 3 answers 20 min after
    the customer: gap −2 of 4. Not resolved, no escalation −15, no closing −5. Earned: facts
    20 + guard 20 + gaps 2 = 42 of 100."""
    conv = Conversation(
        channel="chat",
        resolved=False,
        turns=(
            Turn("customer", "我的两融账户收到短信，说担保比例不够了，会怎样？", at(0)),
            Turn("agent", "两融账户的维持担保比例低于平仓线会被强平。", at(5)),
            Turn("customer", "那我该怎么办？", at(20)),
            Turn("agent", "您可以追加现金或担保证券，或者卖出部分证券还款。", at(40)),
        ),
    )
    ev = score(conv, cards["chat"], policy=policy)
    assert (ev.score, ev.passed, ev.auto_fail) == (42.0, False, False)
    assert ev.sections == {
        "opening": 0.0,
        "understanding": 0.0,
        "accuracy": 100.0,
        "compliance": 100.0,
        "communication": 13.3,
        "resolution": 0.0,
        "closing": 0.0,
    }
    r = by_rule(ev)
    assert r[("jargon:维持担保比例", 1)] == -3 and r[("jargon:平仓", 1)] == -3
    assert r[("jargon:强平", 1)] == 0
    assert ("jargon:两融", 1) not in r
    assert r[("first_response", 1)] == -5
    assert r[("gaps", 3)] == -2 + 2  # lost on message 3, the rest gained through message 3
    assert r[("resolved", 3)] == -15
    assert_ledger(ev)


def test_an_en_chat_with_an_outdated_stamp_duty(policy, cards) -> None:  # type: ignore[no-untyped-def]
    """Chat card: all but empathy −8 and one wrong figure −10 (of facts' 20): 82, a pass."""
    conv = Conversation(
        channel="chat",
        resolved=True,
        lang="en",
        turns=(
            Turn("customer", "Hi, how much stamp duty do I pay when I sell?", at(0)),
            Turn(
                "agent",
                "Hello, my name is Amy. Stamp duty is 0.1% of the amount, charged on "
                "sells only. Is this for an A-share sale?",
                at(1),
            ),
            Turn("customer", "Yes.", at(2)),
            Turn("agent", "Thanks. Anything else I can help with?", at(3)),
        ),
    )
    ev = score(conv, cards["chat"], policy=policy)
    assert (ev.score, ev.passed) == (82.0, True)
    assert ev.sections["accuracy"] == 50.0 and ev.sections["understanding"] == 46.7
    wrong = [f for f in ev.findings if f.rule == "rule:stamp_duty.rate"]
    assert [(f.message_index, f.points) for f in wrong] == [(1, Decimal(-10))]
    assert "0.05%" in wrong[0].reason_en and "0.05%" in wrong[0].reason_zh
    assert_ledger(ev)


def test_a_phone_transcript_leaves_timing_out(policy, cards) -> None:  # type: ignore[no-untyped-def]
    """Ticket card, no timestamps: first response (4) and gaps (3) are not applicable, 93
    points remain. Lost: empathy 8, half the facts (ChiNext stated as 10%) 12.5. Earned 72.5
    of 93 = 77.96 → 78.0, under the pass mark 80."""
    conv = Conversation(
        channel="phone",
        resolved=True,
        turns=(
            Turn("agent", "您好，我是客服王芳，请问有什么可以帮您？"),
            Turn("customer", "我想问创业板的涨跌幅是多少。"),
            Turn("agent", "创业板股票的涨跌幅限制是10%。"),
            Turn("customer", "好的。"),
            Turn("agent", "不客气，还有其他问题吗？"),
        ),
    )
    ev = score(conv, cards["ticket"], policy=policy, as_of=date(2026, 3, 2))
    assert (ev.score, ev.passed, ev.applicable) == (78.0, False, Decimal(93))
    assert ev.sections["communication"] == 100.0 and ev.sections["accuracy"] == 50.0
    assert not any(f.rule in ("first_response", "gaps") for f in ev.findings)
    assert by_rule(ev)[("rule:price_limit_chinext", 2)] == -12.5
    assert_ledger(ev)


def _pleasant(agent_turn: Turn) -> Conversation:
    return Conversation(
        channel="chat",
        resolved=True,
        lang="en",
        turns=(
            Turn("customer", "Hi, I want to grow my savings.", at(0)),
            Turn(
                "agent", "Hello, my name is Amy. I understand. Could you tell me your goal?", at(1)
            ),
            Turn("customer", "Retirement.", at(2)),
            agent_turn,
            Turn("agent", "Is there anything else I can help with?", at(4)),
        ),
    )


def test_a_pleasant_but_non_compliant_chat_fails_whatever_the_rest(policy, cards) -> None:  # type: ignore[no-untyped-def]
    guard = default_guard()
    promise = Turn("agent", "This fund is guaranteed to return 10% a year with no risk.", at(3))
    ev = score(_pleasant(promise), cards["chat"], policy=policy, guard=guard)
    assert ev.auto_fail and not ev.passed and ev.score == 0.0
    # everything else was earned: only the compliance section's 20 points are lost
    assert ev.raw_score == 80.0
    crit = [f for f in ev.findings if f.critical]
    assert [(f.rule, f.message_index, f.section) for f in crit] == [
        ("guard_block", 3, "compliance")
    ]


def test_a_credential_request_and_an_overridden_disclosure_are_critical(policy, cards) -> None:  # type: ignore[no-untyped-def]
    guard = default_guard()
    ask = Turn("agent", "Please send me your login password so I can check the account.", at(3))
    ev = score(_pleasant(ask), cards["chat"], policy=policy, guard=guard)
    assert ev.auto_fail and ev.score == 0.0
    assert any(f.critical and f.message_index == 3 for f in ev.findings)
    pitched = Turn(
        "agent",
        "Our fund has done well.",
        at(3),
        guard_verdict="warn",
        guard_categories=("disclosure",),
        override=True,
    )
    ev = score(_pleasant(pitched), cards["chat"], policy=policy)
    assert ev.auto_fail and [f.rule for f in ev.findings if f.critical] == ["disclosure_override"]
    # the same warning confirmed for another category costs its `per` (10) and passes review
    other = Turn(
        "agent",
        "Our fund has done well.",
        at(3),
        guard_verdict="warn",
        guard_categories=("advice",),
        override=True,
    )
    ev = score(_pleasant(other), cards["chat"], policy=policy)
    assert not ev.auto_fail and ev.score == 90.0 and ev.sections["compliance"] == 50.0


def test_no_agent_reply_at_all(policy, cards) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation("chat", False, (Turn("customer", "有人吗？", at(0)),))
    ev = score(conv, cards["chat"], policy=policy)
    assert ev.score < 50 and not ev.passed
    assert any(f.rule == "first_response" and f.message_index is None for f in ev.findings)
    assert_ledger(ev)


# --- scorecards ---------------------------------------------------------------------------------


def _card(**over: object) -> dict[str, object]:
    base: dict[str, object] = {
        "name": "x",
        "title": {"zh": "x", "en": "x"},
        "channels": ["chat"],
        "sections": {
            s: {"weight": w, "items": [{"check": c, "points": w}]}
            for s, w, c in [
                ("opening", 10, "greeting"),
                ("understanding", 10, "empathy"),
                ("accuracy", 20, "facts"),
                ("compliance", 20, "guard"),
                ("communication", 20, "jargon"),
                ("resolution", 15, "resolved"),
                ("closing", 5, "closing"),
            ]
        },
    }
    base.update(over)
    return base


def test_scorecard_validation_names_the_field() -> None:
    assert parse_scorecard(_card()).pass_mark == 80
    bad = _card()
    bad["sections"]["closing"]["weight"] = 6  # type: ignore[index]
    with pytest.raises(QualityError, match=r"'closing'.*sum to the weight"):
        parse_scorecard(bad)
    bad = _card()
    bad["sections"]["closing"] = {"weight": 6, "items": [{"check": "closing", "points": 6}]}  # type: ignore[index]
    with pytest.raises(QualityError, match="sum to 101, not 100"):
        parse_scorecard(bad)
    with pytest.raises(QualityError, match="'critical'"):
        parse_scorecard(_card(critical=["rudeness"]))
    bad = _card()
    bad["sections"]["closing"]["items"][0]["check"] = "smile"  # type: ignore[index]
    with pytest.raises(QualityError, match=r"closing.*item 1.*'check'"):
        parse_scorecard(bad)


def test_shipped_scorecards_weigh_100_with_critical_items(cards) -> None:  # type: ignore[no-untyped-def]
    assert {"chat", "ticket"} <= set(cards)
    for card in cards.values():
        assert sum(s.weight for s in card.sections) == 100
        assert set(card.critical) == {"guard_block", "disclosure_override", "credential_request"}


def test_a_zh_promise_of_returns_fails_a_polite_chat(policy, cards) -> None:  # type: ignore[no-untyped-def]
    conv = Conversation(
        channel="chat",
        resolved=True,
        turns=(
            Turn("customer", "你好，有什么理财推荐吗？", at(0)),
            Turn("agent", "您好，我是客服李娜，理解您的需求。请问您的投资期限是多久？", at(1)),
            Turn("customer", "一年左右。", at(2)),
            Turn("agent", "这款产品保证每年10%收益，稳赚不赔。", at(3)),
            Turn("agent", "还有什么可以帮您的吗？", at(4)),
        ),
    )
    ev = score(conv, cards["chat"], policy=policy, guard=default_guard())
    assert ev.auto_fail and ev.score == 0.0 and ev.raw_score == 80.0
    assert [f.message_index for f in ev.findings if f.critical] == [3]


def test_item_ratings_and_a_reviewers_score(policy, cards) -> None:  # type: ignore[no-untyped-def]
    from kefu.quality.scorer import score_ratings

    conv = Conversation(
        channel="chat",
        resolved=False,
        turns=(
            Turn("customer", "我的两融账户收到短信，说担保比例不够了，会怎样？", at(0)),
            Turn("agent", "两融账户的维持担保比例低于平仓线会被强平。", at(5)),
            Turn("customer", "那我该怎么办？", at(20)),
            Turn("agent", "您可以追加现金或担保证券，或者卖出部分证券还款。", at(40)),
        ),
    )
    ev = score(conv, cards["chat"], policy=policy)
    r = ev.ratings()
    assert (r["greeting"], r["gaps"], r["facts"], r["jargon"]) == (
        "missed",
        "partly",
        "met",
        "missed",
    )
    # the grader's ratings rescored: partly counts half (gaps 2 of 4 stays 2): 42
    assert score_ratings(cards["chat"], r) == 42.0
    # a reviewer who gives the greeting (6) and half the empathy (4) on top: 52
    assert score_ratings(cards["chat"], r | {"greeting": "met", "empathy": "partly"}) == 52.0
    with pytest.raises(QualityError, match="smile"):
        score_ratings(cards["chat"], {"smile": "met"})
