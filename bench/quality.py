"""QA scorer throughput: 100,000 seeded conversations of realistic lengths scored in one process,
beside a named baseline in the same run.

Conversations: chat (4–16 messages), tickets (2–6) and call transcripts (6–14, no timestamps),
in zh (80%) and en, built from agent and customer lines that carry every signal the scorecards
check (greetings, names, empathy, questions, jargon with and without explanation, registry
figures right and wrong — stamp duty, price limits — closings, escalation). Agent messages carry
a stored guard verdict, as on the desk (the guard screens a reply when it is sent, not when it is
scored).

Baseline, "naive scan": the same scorer with its reply scan replaced by one ``re.search`` per
signal phrase, pattern and glossary term per reply (no Aho-Corasick automaton, no combined
pattern; Python's own regex cache still applies). Its evaluations are checked identical to the
scorer's on every conversation it scores.

    python bench/quality.py [--n 100000] [--baseline-n 10000]
"""

from __future__ import annotations

import argparse
import os
import random
import re
import time
from datetime import UTC, datetime, timedelta

from kefu.quality import content, scorer, signals
from kefu.quality.scorer import Conversation, QualityPolicy, ReplyScan, Turn, score

AGENT_ZH = [
    "您好，我是客服李娜，很高兴为您服务。",
    "您好，请问有什么可以帮您？",
    "理解您的心情，我来帮您查询这笔出金。",
    "非常抱歉让您久等了。",
    "请问您最近是否更换过绑定的银行卡？",
    "资金已退回证券账户，您绑定新卡后可以重新提现。",
    "创业板日涨跌幅限制为20%，委托价需在涨跌停价之间。",
    "主板涨跌幅限制为10%，超出范围的委托会被交易所拒绝。",
    "印花税目前按成交金额的千分之一收取，仅卖出时收取。",
    "卖出时收取万分之五的印花税，买入不收。",
    "您的维持担保比例低于平仓线会被强平。",
    "维持担保比例（资产总值除以负债）低于警戒线140%时需要追加担保物。",
    "期权到期时按结算价结算，OTM的期权没有价值。",
    "如果您对结果不认可，我可以为您转交主管复核。",
    "今天买入的股票需要T+1，也就是下一个交易日才能卖出。",
    "已为您提交工单，预计1个工作日内处理完毕。",
    "还有什么可以帮您的吗？",
    "如有其他问题欢迎随时联系，祝您投资顺利。",
]
AGENT_EN = [
    "Hello, this is Amy from the support team.",
    "Hi, my name is Tom. How can I help today?",
    "I understand how frustrating this is, let me check.",
    "Sorry for the wait.",
    "Could you confirm the time you placed the order?",
    "The funds were returned to your securities account.",
    "Stamp duty is 0.1% of the amount, charged on sells only.",
    "The ChiNext daily price limit is 20%.",
    "Your OTM option expired worthless.",
    "Your option was OTM, which means the strike was above the price.",
    "I can pass this to my supervisor for a review.",
    "Is there anything else I can help with?",
]
CUSTOMER_ZH = [
    "你好，我前天申请的3万元提现还没到账，很着急。",
    "我挂330买宁德时代，提示委托失败，为什么？",
    "两融账户收到短信说担保比例不够了，会怎样？",
    "为什么今天买的股票卖不了？",
    "换过卡了，旧卡注销了。",
    "好的，谢谢。",
    "那我该怎么办？",
    "你们这个结算是不是有问题？我要投诉。",
]
CUSTOMER_EN = [
    "Hi, my withdrawal has not arrived after two days.",
    "Why was my option settled as a loss?",
    "How much stamp duty do I pay when I sell?",
    "Yes, I changed my card.",
    "Thanks.",
    "This is unacceptable, I want to file a complaint.",
]


def conversations(n: int, seed: int = 13) -> list[Conversation]:
    rnd = random.Random(seed)
    out: list[Conversation] = []
    t0 = datetime(2026, 3, 2, 1, 0, tzinfo=UTC)
    for _ in range(n):
        zh = rnd.random() < 0.8
        agent, cust = (AGENT_ZH, CUSTOMER_ZH) if zh else (AGENT_EN, CUSTOMER_EN)
        kind = rnd.random()
        if kind < 0.6:
            channel, length, timed = "chat", rnd.randint(4, 16), True
        elif kind < 0.85:
            channel, length, timed = "web", rnd.randint(2, 6), True
        else:
            channel, length, timed = "phone", rnd.randint(6, 14), False
        at = t0 + timedelta(minutes=rnd.randint(0, 60 * 24 * 60))
        turns: list[Turn] = []
        for i in range(length):
            role = "customer" if i % 2 == 0 else "agent"
            text = rnd.choice(cust if role == "customer" else agent)
            at += timedelta(seconds=rnd.randint(20, 900))
            verdict = None
            cats: tuple[str, ...] = ()
            if role == "agent":
                verdict = "allow"
                if rnd.random() < 0.01:
                    verdict, cats = "block", ("promise",)
                elif rnd.random() < 0.02:
                    verdict, cats = "warn", ("disclosure",)
            turns.append(Turn(role, text, at if timed else None, verdict, cats, verdict == "warn"))
        out.append(Conversation(channel, rnd.random() < 0.8, tuple(turns), "zh" if zh else "en"))
    return out


def naive_scan(policy: QualityPolicy):  # type: ignore[no-untyped-def]
    """The baseline reply scan: one re.search per phrase, pattern and glossary term."""
    c = policy.compiled

    def word(w: str) -> str:
        f = signals._fold(w)
        if signals._latin_word(f):
            return rf"(?<![a-z0-9]){re.escape(f)}(?![a-z0-9])"
        return re.escape(f)

    def scan(norm: str, lg: str, policy: QualityPolicy, known: set[str]) -> ReplyScan:
        found: set[str] = set()
        for signal, by_lang in policy.phrases.items():
            for w in by_lang.get(lg, ()):
                if re.search(word(w), norm):
                    found.add(signal)
        for signal, by_lang in policy.patterns.items():
            for p in by_lang.get(lg, ()):
                if signal not in found and re.search(p, norm):
                    found.add(signal)
        if "question" not in found and "?" in norm:
            for sentence in signals._SENTENCES.findall(norm):
                if signals._Q_END.search(sentence) and not signals._closing_sentence(
                    sentence, lg, c
                ):
                    found.add("question")
                    break
        hits = []
        for g in policy.glossary:
            for m in re.finditer(word(g.term), norm):
                hits.append((signals._fold(g.term), m.start(), m.end()))
        jargon = []
        seen: set[str] = set()
        for key, start, end in sorted(hits, key=lambda h: h[1]):
            if key in seen or key in known:
                continue
            if any(k != key and s <= start and end <= e for k, s, e in hits):
                continue
            after = norm[end : end + c.window]
            if any(m in after for m in c.markers.get(lg, ())):
                continue
            if any(p in norm for p in c.plain.get(key, ())):
                continue
            seen.add(key)
            jargon.append(c.terms[key])
        if jargon:
            found.add("jargon")
        return ReplyScan(frozenset(found), tuple(jargon))

    return scan


def run(convs: list[Conversation], cards, policy) -> tuple[float, float, list[float]]:  # type: ignore[no-untyped-def]
    """Wall seconds, CPU seconds of this process, and the scores."""
    t, c = time.perf_counter(), time.process_time()
    scores = [score(cv, scorer.card_for(cv.channel, cards), policy=policy).score for cv in convs]
    return time.perf_counter() - t, time.process_time() - c, scores


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--baseline-n", type=int, default=10_000)
    args = ap.parse_args()
    policy, cards = content.policy(), content.scorecards()
    convs = conversations(args.n)
    msgs = sum(len(cv.turns) for cv in convs)
    print(f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f}")
    print(f"{args.n:,} conversations, {msgs:,} messages ({msgs / args.n:.1f} per conversation)")
    elapsed, cpu, fast = run(convs, cards, policy)
    rate, cpu_rate = args.n / elapsed, args.n / cpu
    print(
        f"kefu scorer:   {elapsed:7.2f} s wall {rate:9,.0f} conv/s | "
        f"{cpu:7.2f} s CPU {cpu_rate:9,.0f} conv/CPU-s"
    )
    sample = convs[: args.baseline_n]
    # score() looks the reply scan up in kefu.quality.scorer, so the baseline is swapped in there
    original = scorer._scan
    scorer._scan = naive_scan(policy)  # type: ignore[assignment]
    try:
        b_elapsed, b_cpu, slow = run(sample, cards, policy)
    finally:
        scorer._scan = original
    b_rate, b_cpu_rate = len(sample) / b_elapsed, len(sample) / b_cpu
    same = slow == fast[: len(sample)]
    print(
        f"naive scan:    {b_elapsed:7.2f} s wall {b_rate:9,.0f} conv/s | "
        f"{b_cpu:7.2f} s CPU {b_cpu_rate:9,.0f} conv/CPU-s "
        f"({len(sample):,} conversations; same scores: {same})"
    )
    print(f"ratio (CPU): {cpu_rate / b_cpu_rate:.1f}x the naive per-phrase regex scan")
    print(
        f"goal ≥ 2,000 conversations/s (per CPU-second): {'met' if cpu_rate >= 2000 else 'NOT met'}"
    )
    if not same:
        raise SystemExit("the baseline disagrees with the scorer")


if __name__ == "__main__":
    main()
