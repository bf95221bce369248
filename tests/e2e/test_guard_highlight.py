"""The desk shows why the guard stopped a draft: the words of each class that fired are
highlighted in the agent's own draft, and the finding lists them."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import login, shot

pytestmark = pytest.mark.e2e


def test_the_desk_highlights_the_class_words_of_a_blocked_draft(browser, demo_server):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    agent = ctx.new_page()
    try:
        login(agent, demo_server, "agent2")
        agent.click("[data-testid=queue-item] >> nth=0")
        agent.wait_for_selector("text=已连接")
        # advice by counterfactual: COUNTERFACTUAL × TRADE_ACTION × INSTRUMENT, no fixed phrase
        agent.fill("[data-testid=reply]", "您好，如果是我就买点半导体ETF，仅供参考")
        preview = "[data-testid=guard] .draft-preview"
        word = agent.locator(f"{preview} mark.word[data-class=COUNTERFACTUAL]")
        word.wait_for(timeout=10_000)
        assert word.inner_text() == "如果是我"
        instrument = agent.locator(f"{preview} mark.word[data-class=INSTRUMENT]")
        assert instrument.inner_text() == "半导体"
        assert "拦截" in agent.inner_text("[data-testid=guard]")
        shot(agent, "guard-highlight.png")
    finally:
        ctx.close()
