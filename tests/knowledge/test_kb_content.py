"""The shipped knowledge base: every slug issue 5 names exists in both languages, passes the
compliance guard as an agent reply, cites its rules; the evaluation set keeps its floor."""

from __future__ import annotations

import pytest

from kefu.compliance.content import screen
from kefu.knowledge.content import eval_files, load_articles, synonyms
from kefu.knowledge.evaluation import evaluate, load_questions
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
