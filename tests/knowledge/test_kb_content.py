"""The shipped knowledge base: every slug issue 5 names exists in both languages, passes the
compliance guard as an agent reply, cites its rules, takes its rule numbers from the registry
(never typed by hand); the corrections of issue 18 hold; the evaluation set keeps its floor."""

from __future__ import annotations

import re
from datetime import date
from decimal import Decimal as D

import pytest

from kefu.compliance.content import screen
from kefu.knowledge.calculators import maintenance_ratio, margin_interest, trading_fees
from kefu.knowledge.content import eval_files, load_articles, rules, synonyms
from kefu.knowledge.evaluation import evaluate, load_questions
from kefu.knowledge.rules import hand_typed, references
from kefu.knowledge.search import KnowledgeIndex
from tests.knowledge import HOLDOUT_DIR

SLUGS = """account.open account.login-trouble account.password-reset account.sms-code
account.security account.phishing account.change-phone account.frozen account.kyc
account.risk-assessment account.close funds.deposit-methods funds.deposit-missing
funds.withdrawal-time funds.withdrawal-failed funds.bank-card funds.third-party funds.fees
trading.place-order trading.order-types trading.cancel-order trading.hours trading.t-plus-one
trading.lot-size trading.price-limit trading.fees trading.margin-interest trading.margin-ratio
trading.order-rejected binary.basics binary.expiry binary.payout binary.settlement
binary.dispute binary.risk platform.charts indicator.ma indicator.rsi indicator.bollinger
indicator.macd indicator.kdj indicator.cci indicator.bias indicator.williams
pattern.head-shoulders pattern.double-bottom analysis.volume tech.app-crash tech.browser
tech.network service.complaint service.contact risk.disclosure risk.responsible-trading
compliance.aml""".split()

ARTICLES = {a.slug: a for a in load_articles()}
RAW = {a.slug: a for a in load_articles(raw=True)}
RULES = rules()


def test_every_listed_slug_exists_in_both_languages():
    assert sorted(SLUGS) == sorted(ARTICLES)
    for a in ARTICLES.values():
        assert a.title_zh and a.title_en and len(a.body_zh) > 80 and len(a.body_en) > 200, a.slug
        assert a.sources, f"{a.slug} cites no rule"
        # the alternative questions are how customers' own words reach an article
        assert len(a.questions_zh) >= 16 and len(a.questions_en) >= 16, a.slug
        assert set(a.related) <= set(ARTICLES), f"{a.slug}: unknown related slug"


@pytest.mark.parametrize("slug", sorted(SLUGS))
def test_article_paragraphs_pass_the_guard_as_agent_replies(slug):
    a = ARTICLES[slug]
    for body in (a.body_zh, a.body_en):
        for para in (p for p in body.split("\n\n") if p.strip()):
            assert screen(para, "agent").verdict != "block", para


def test_product_articles_carry_a_risk_statement():
    for slug in ("binary.basics", "binary.payout", "binary.risk", "trading.margin-ratio"):
        a = ARTICLES[slug]
        assert "风险" in a.body_zh and "risk" in a.body_en.lower(), slug


@pytest.mark.parametrize("slug", sorted(SLUGS))
def test_rule_numbers_come_from_the_registry_not_typed_by_hand(slug):
    a = RAW[slug]
    texts = {
        "title_zh": a.title_zh,
        "title_en": a.title_en,
        "body_zh": a.body_zh,
        "body_en": a.body_en,
        **{f"sources[{i}]": s for i, s in enumerate(a.sources, start=1)},
    }
    typed = [
        f"{where}: {h.text!r} is {h.rule}.{h.field} — write {{{{rule:{h.rule}...}}}}"
        for where, text in texts.items()
        for h in hand_typed(text, RULES)
    ]
    assert not typed, "\n".join(typed)
    for text in texts.values():
        for ref in references(text):
            assert ref.rule in RULES.rules, f"{slug}: {ref.text} names an unknown rule"
    rendered = ARTICLES[slug]
    for text in (rendered.body_zh, rendered.body_en, *rendered.sources):
        assert "{{" not in text, f"{slug}: a placeholder was left unrendered"


def test_the_articles_use_the_registry():
    using = {slug for slug, a in RAW.items() if references(a.body_zh + a.body_en)}
    assert {
        "trading.price-limit",
        "trading.fees",
        "trading.hours",
        "trading.lot-size",
        "trading.margin-ratio",
        "trading.margin-interest",
        "compliance.aml",
        "account.close",
    } <= using


def _both(slug):
    a = ARTICLES[slug]
    return a.body_zh, a.body_en


OFFERING = [
    r"(仅|只)向.{0,12}C5",
    r"需\s*C5",
    r"needs? (risk )?grade C5",
    r"offers? them only",
    r"二元期权账户另设入金",
    r"own deposit channel",
]


def test_binary_options_are_never_offered_and_their_bans_are_stated():
    for slug, a in ARTICLES.items():
        for body in (a.body_zh, a.body_en):
            for pattern in OFFERING:
                assert not re.search(pattern, body), (slug, pattern)
        mentions_zh, mentions_en = "二元期权" in a.body_zh, "binary option" in a.body_en.lower()
        if mentions_zh or mentions_en:
            assert re.search("不提供|不是经批准|禁止", a.body_zh), slug
            assert re.search("do not offer|not an approved|ban", a.body_en), slug
    for slug in ("binary.basics", "binary.risk"):
        zh, en = _both(slug)
        for word in ("中国内地", "证监会", "欧盟", "英国", "澳大利亚", "C5"):
            assert word in zh, (slug, word)
        for word in ("mainland China", "CSRC", "ESMA", "FCA", "ASIC", "Australia", "C5"):
            assert word.lower() in en.lower(), (slug, word)
        assert "2018年7月2日" in zh and "2 April 2019" in en and "3 May 2021" in en
        assert "交易争议" in zh and "投诉" in zh and "Disputed trades" in en and "complaint" in en


def test_corrections_retention_promises_and_aml_thresholds():
    for slug in ("account.close", "compliance.aml"):
        zh, en = _both(slug)
        assert "第一百三十七条" in zh and "不少于20年" in zh, slug
        assert "art. 137" in en and "at least 20 years" in en, slug
    zh, en = _both("compliance.aml")
    assert "至少保存10年" in zh and "at least 10 years" in en  # the AML minimum
    for amount_zh, amount_en in (
        ("5万元", "¥50,000"),
        ("50万元", "¥500,000"),
        ("20万元", "¥200,000"),
        ("200万元", "¥2,000,000"),
    ):
        assert amount_zh in zh and amount_en in en
    zh, en = _both("risk.disclosure")
    assert "第一百三十五条" in zh and "第二十二条" not in zh
    assert "Art. 135" in en and "art. 22" not in en
    assert "广告法》第二十五条" in zh and "art. 25 of the Advertising Law" in en


def test_corrections_order_types_lots_and_access():
    zh, en = _both("trading.order-types")
    szse_zh = next(line for line in zh.splitlines() if "深交所" in line)
    for kind in (
        "对手方最优价格",
        "本方最优价格",
        "最优五档即时成交剩余撤销",
        "即时成交剩余撤销",
        "全额成交或撤销",
    ):
        assert kind in szse_zh
    assert "没有“最优五档即时成交剩余转限价”" in szse_zh
    szse_en = next(line for line in en.splitlines() if "SZSE" in line)
    assert 'no "best five, rest becomes a limit order"' in szse_en
    assert "科创板另可使用本方最优价格、对手方最优价格" in zh
    assert "创业板" not in next(line for line in zh.splitlines() if "保护限价" in line)
    zh, en = _both("trading.lot-size")
    assert "北交所**：每笔申报不少于100股，超过部分可按1股递增" in zh
    assert "科创板持仓不足200股时，须一次性全部卖出" in zh
    assert "a holding under 200 shares must be sold in one order" in en
    zh, en = _both("trading.order-rejected")
    assert "三者都需签署相应的风险揭示书" in zh and "All three also need a signed risk" in en
    zh, en = _both("trading.hours")
    assert "北交所另有 15:05–15:30 盘后固定价格交易" in zh
    assert "Beijing Stock Exchange also have after-hours fixed-price trading" in en


def test_corrections_margin_withdrawals_turnover_and_wording():
    zh, en = _both("trading.margin-interest")
    assert "计息天数（360或365）都以您的融资融券合同约定为准" in zh
    assert "day basis (360 or 365) are set by your margin contract" in en
    # the margin-call deadline is worded as the calculator words it
    call = maintenance_ratio(D("0"), D("100"), D("100"), D("0"), rules=RULES).message
    zh, en = _both("trading.margin-ratio")
    assert "T+2" not in zh + en
    assert "在2个交易日内" in zh and "须在2个交易日内" in call
    assert "within 2 trading days" in en and "within 2 trading days" in call
    for slug in ("funds.withdrawal-failed", "account.risk-assessment", "account.frozen"):
        zh, en = _both(slug)
        assert re.search("不影响转出|不会限制您把自己的资金转出", zh), slug
        assert re.search("never (blocks|stops you|withdrawing)", en), slug
    zh, en = _both("analysis.volume")
    assert "流通股本" in zh and "tradable shares" in en and "free-float" not in en
    zh, en = _both("binary.dispute")
    assert "一般在2个工作日内答复" in zh and "usually answer within 2 working days" in en
    a = ARTICLES["risk.responsible-trading"]
    assert "不借钱炒股" in a.title_zh and "do not trade with borrowed money" in a.title_en
    assert "you cannot repay" not in a.title_en


def test_worked_examples_match_the_calculators():
    today = date.today()
    sell = trading_fees("sell", D("10"), 1000, on=today, rules=RULES)
    buy = trading_fees("buy", D("10"), 1000, on=today, rules=RULES)
    zh, en = _both("trading.fees")
    assert f"合计{sell.total}元" in zh and f"合计{buy.total}元" in zh
    assert f"¥{sell.total} in all" in en and f"stamp duty: ¥{buy.total}" in en
    rate = RULES.decimal("demo_margin_rates.financing_rate")
    basis = int(RULES.decimal("demo_margin_rates.day_basis"))
    interest = margin_interest(D("100000"), rate, 10, basis)
    zh, en = _both("trading.margin-interest")
    assert f"= {interest}元" in zh and f"= ¥{interest}" in en
    assert f"{margin_interest(D('100000'), rate, 10, 365)}元" in zh


def _scores(questions):
    index = KnowledgeIndex.build(list(ARTICLES.values()), synonyms())
    result = evaluate(lambda q: [h.slug for h in index.search(q, top=10)], questions)
    return {k: result[k] for k in ("hit@1", "hit@3", "mrr")}


def test_evaluation_set_covers_every_article_and_keeps_its_floor():
    questions = load_questions(eval_files())
    assert len(questions) >= 200
    assert {q.slug for q in questions} == set(ARTICLES)
    result = _scores(questions)
    # measured 0.937 / 0.982 / 0.961 (docs/knowledge.md); a drop is a regression
    assert result["hit@1"] >= 0.92 and result["hit@3"] >= 0.975 and result["mrr"] >= 0.95, result


def test_held_out_questions_keep_their_floor():
    """Written without sight of the articles' questions and never used for tuning."""
    questions = load_questions(HOLDOUT_DIR.glob("*.yaml"))
    assert len(questions) >= 275 and {q.slug for q in questions} == set(ARTICLES)
    result = _scores(questions)
    # measured 0.920 / 0.989 / 0.957 (docs/knowledge.md)
    assert result["hit@1"] >= 0.89 and result["hit@3"] >= 0.975 and result["mrr"] >= 0.94, result
