"""An agent answers a binary-option complaint: the replay against the recorded ticks, the chart
around expiry, the dispute and the drafted reply, in a real browser."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import login, shot

pytestmark = pytest.mark.e2e
LATE = "B2026111800107"  # customer11's record the demo platform settled on a late tick


def test_agent_replays_a_disputed_binary_trade_and_drafts_the_reply(browser, demo_server):
    ctx = browser.new_context(viewport={"width": 1440, "height": 960}, locale="zh-CN")
    page = ctx.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda e: errors.append(str(e)))
    try:
        login(page, demo_server, "agent1")
        found = page.request.get(f"{demo_server}/api/v1/cases?q=二元期权亏损").json()["items"]
        case = found[0]
        page.goto(f"{demo_server}/desk/cases/{case['id']}")
        page.click(f"[data-testid=replay-{LATE}]")
        # the ticks around expiry are drawn; the replay disagrees with the recorded loss
        page.wait_for_selector("[data-testid=ticks-chart][data-state=ready]")
        assert int(page.get_attribute("[data-testid=ticks-chart]", "data-ticks") or 0) > 100
        assert page.inner_text("[data-testid=replay-outcome]") == "盈利"
        assert page.inner_text("[data-testid=replay-price]") == "90952.4"
        assert "不一致" in page.inner_text("[data-testid=replay-verdict]")

        page.click("[data-testid=open-dispute]")
        page.wait_for_selector("[data-testid=draft]")
        page.wait_for_selector("[data-testid=ticks-chart][data-state=ready]")
        assert "待主管审核" in page.inner_text("[data-testid=dispute-status]")
        assert "925.00 USD" in page.inner_text("[data-testid=dispute-status]")
        assert "通过" in page.inner_text("[data-testid=draft-guard]")
        shot(page, "market.png")
        page.click("[data-testid=insert-draft]")  # closes the panel, fills the reply box
        page.wait_for_selector("[data-testid=market-dialog]", state="hidden")
        reply = page.input_value("[data-testid=reply]")
        assert "90952.4" in reply and "主管审核" in reply

        # the customer's own chart: candlesticks with their fills marked, zoomable
        page.goto(f"{demo_server}/desk/market/chart?symbol=600519&customer={case['customer_id']}")
        page.wait_for_selector("[data-testid=bars-chart][data-state=ready]")
        assert int(page.get_attribute("[data-testid=bars-chart]", "data-bars") or 0) > 100
        assert int(page.get_attribute("[data-testid=bars-chart]", "data-marks") or 0) >= 1
        page.select_option("[data-testid=chart-study]", "KDJ")
        page.wait_for_selector("[data-testid=bars-chart][data-state=ready]")
        shot(page, "market-chart.png")
        assert not errors, errors
    finally:
        ctx.close()
