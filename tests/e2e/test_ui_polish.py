"""A Chinese UI without raw codes, in a real browser: the public help centre with its feedback
and calculator, the portal on a 390 px phone, live messages that read like loaded ones (the
customer's name, one time format), read-only roles without controls, refusals said on the page."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import SHOTS, Watched, login

pytestmark = pytest.mark.e2e
PHONE = {"width": 390, "height": 844}
STAMP = re.compile(r"· \d{2}-\d{2} \d{2}:\d{2}$")
#: the header's text nodes laid out on more than one line
WRAPPED_LABELS = """() => {
  const out = [];
  const header = document.querySelector("header.top");
  const walk = document.createTreeWalker(header, NodeFilter.SHOW_TEXT);
  for (let n = walk.nextNode(); n; n = walk.nextNode()) {
    if (!n.textContent.trim() || n.parentElement.closest("[hidden], select")) continue;
    const r = document.createRange(); r.selectNodeContents(n);
    const tops = new Set([...r.getClientRects()].map((x) => Math.round(x.top)));
    if (tops.size > 1) out.push(n.textContent.trim());
  }
  return out;
}"""


def test_help_is_public_with_feedback_and_a_calculator(browser, demo_server):
    w = Watched(browser)
    page = w.page
    try:
        page.goto(f"{demo_server}/help")  # nobody logged in
        assert "/login" not in page.url
        page.click("a[href='/help/trading.price-limit']")
        page.wait_for_selector("[data-testid=kb-article]")
        page.fill("[data-testid=help-calc-prev_close]", "10")
        page.click("[data-testid=help-calc-go]")
        page.wait_for_selector("[data-testid=help-calc-out] [data-result=upper]")
        out = page.inner_text("[data-testid=help-calc-out]")
        assert "11.00" in out and "9.00" in out and "±10%" in out
        assert "主板的涨跌幅限制为前收盘价的 ±10%" in out
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.locator("[data-testid=help-feedback]").scroll_into_view_if_needed()
        page.screenshot(path=str(SHOTS / "help-public.png"))
        with page.expect_navigation():
            page.click("[data-testid=feedback-yes]")
        page.wait_for_selector("[data-testid=feedback-thanks]")
        w.assert_clean()
    finally:
        w.ctx.close()


@pytest.mark.parametrize("path", ["/", "/help", "/help/funds.fees", "/portal/suitability"])
def test_the_portal_fits_a_390px_phone(browser, demo_server, path):
    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    try:
        login(page, demo_server, "customer1")
        page.goto(f"{demo_server}{path}")
        page.wait_for_load_state("networkidle")
        overflow = page.evaluate(
            "() => document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{path} is {overflow}px wider than the phone"
        header = page.locator("header.top").bounding_box()
        assert header and header["x"] + header["width"] <= PHONE["width"]
        # every link of the header is on the screen
        for box in page.locator("header.top .right a, header.top .right button").all():
            b = box.bounding_box()
            assert b and b["x"] + b["width"] <= PHONE["width"] + 0.5, box.inner_text()
        # and no label of the header is squeezed onto two lines ("客/服", "王/建/国")
        broken = page.evaluate(WRAPPED_LABELS)
        assert broken == [], f"{path}: header labels broken over lines: {broken}"
    finally:
        ctx.close()


def test_live_messages_read_like_loaded_ones(browser, demo_server):
    cust_ctx = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    agent_w = Watched(browser)
    customer, agent = cust_ctx.new_page(), agent_w.page
    try:
        login(customer, demo_server, "customer1")
        customer.click("a[href^='/cases/']")
        customer.wait_for_selector("text=已连接")
        case_id = customer.url.rsplit("/", 1)[1]
        login(agent, demo_server, "agent1")
        agent.goto(f"{demo_server}/desk/cases/{case_id}")
        agent.wait_for_selector("text=已连接")
        loaded = agent.locator("[data-testid=messages] .msg.customer .meta").first.inner_text()
        customer.fill("[data-testid=reply]", "请问现在处理到哪一步了？")
        customer.click("[data-testid=send]")
        agent.wait_for_selector("text=处理到哪一步了")
        live = agent.locator("[data-testid=messages] .msg.customer .meta").last.inner_text()
        # the customer's own name on the staff side, never "我", and one time format
        assert live.startswith("王建国 · "), live
        assert STAMP.search(live) and STAMP.search(loaded), (live, loaded)
        mine = customer.locator("[data-testid=messages] .msg.customer .meta").last.inner_text()
        assert STAMP.search(mine), mine
        agent_w.assert_clean()
    finally:
        cust_ctx.close()
        agent_w.ctx.close()


@pytest.mark.parametrize("role", ["compliance", "trainer"])
def test_read_only_roles_see_no_controls_they_cannot_use(browser, demo_server, role):
    w = Watched(browser)
    page = w.page
    try:
        login(page, demo_server, role)
        page.goto(f"{demo_server}/desk/cases/1")
        page.wait_for_selector("[data-testid=messages]")
        for control in ("reply", "send", "status-select", "resolve", "set-pending", "end-chat"):
            assert page.locator(f"[data-testid={control}]").count() == 0, control
        assert "只读" in page.inner_text("[data-testid=read-only]")
        # the knowledge panel suggests articles to read, with nothing to insert them into
        page.wait_for_selector("[data-testid=kb-hit]")
        assert page.locator("[data-testid=kb-insert]").count() == 0
        w.assert_clean()
    finally:
        w.ctx.close()


def test_a_refusal_is_said_on_the_page_not_in_an_alert(browser, demo_server):
    w = Watched(browser)
    page = w.page
    try:
        login(page, demo_server, "agent1")
        page.goto(f"{demo_server}/desk/cases/1")
        page.fill("[data-testid=tag-input]", "x" * 40)  # longer than a tag may be
        page.click("[data-testid=tag-add]")
        bar = page.wait_for_selector("[data-testid=refusal]")
        assert bar.inner_text().startswith("未完成")
        # and what is wrong reads in Chinese too: the console asks in the page's language
        assert "标签" in bar.inner_text() and "不能有空格" in bar.inner_text(), bar.inner_text()
        assert w.dialogs == []
        # legible shortcut badges: dark text on a light badge, light on the dark header
        colours = page.evaluate(
            """() => [...document.querySelectorAll('.kbd')].map((k) => {
                 const s = getComputedStyle(k); return [s.color, s.backgroundColor]; })"""
        )
        assert colours and all(c != b for c, b in colours), colours
        # the refused request is the only error the browser logs (its 422), no script failed
        assert w.violations == []
        assert [e for e in w.errors if "status of 422" not in e] == []
    finally:
        w.ctx.close()
