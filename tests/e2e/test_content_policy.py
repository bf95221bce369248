"""The consoles under their Content-Security-Policy, in a real browser: an agent works a case
and an admin changes a user while every policy violation, console error and uncaught exception
is recorded — there must be none, and the buttons and selects whose behaviour moved out of the
markup must still do what they did."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import Watched, login

pytestmark = pytest.mark.e2e


def test_an_agent_works_a_case_without_a_policy_violation(browser, demo_server):
    w = Watched(browser)
    page = w.page
    try:
        login(page, demo_server, "agent1")
        policy = page.request.get(f"{demo_server}/desk").headers["content-security-policy"]
        assert "script-src 'self';" in policy and "unsafe" not in policy

        # presence: a select that calls the API, then the page reloads with the new value
        with page.expect_navigation():
            page.select_option("[data-testid=presence]", "online")
        assert page.input_value("[data-testid=presence]") == "online"

        # the queue filters as the agent types (htmx, triggered from the search field)
        page.select_option("[data-testid=queue-view]", "all")
        with page.expect_response(lambda r: "/desk/queue" in r.url and "%E6%8F%90" in r.url):
            page.fill("[data-testid=queue-search]", "提现")
        page.wait_for_selector("[data-testid=queue-item]")

        # open a case the knowledge base has answers for; the chat socket connects under
        # connect-src
        page.goto(f"{demo_server}/desk?view=all&q=提现")
        page.click("[data-testid=queue-item] >> nth=0")
        page.wait_for_url(re.compile(r"/desk/cases/\d+"))
        case_id = int(re.search(r"/desk/cases/(\d+)", page.url).group(1))  # type: ignore[union-attr]
        page.wait_for_selector("text=已连接")

        # take the case and put it on pending: buttons that call the API and reload
        if page.query_selector("[data-testid=take]"):
            with page.expect_navigation():
                page.click("[data-testid=take]")
            assert page.inner_text("[data-testid=assignee]") != "—"
        with page.expect_navigation():
            page.click("[data-testid=set-pending]")
        assert page.input_value("[data-testid=status-select]") == "pending"
        with page.expect_navigation():
            page.select_option("[data-testid=status-select]", "open")
        assert page.input_value("[data-testid=status-select]") == "open"
        page.wait_for_selector("text=已连接")

        # the knowledge panel (an htmx fragment): insert puts the snippet in the reply box and
        # proposes the customer's words to the article
        page.wait_for_selector("[data-testid=kb-panel] [data-testid=kb-insert]")
        snippet = page.get_attribute("[data-testid=kb-insert] >> nth=0", "data-text") or ""
        with page.expect_response(lambda r: "/candidates" in r.url) as proposed:
            page.click("[data-testid=kb-insert] >> nth=0")
        assert proposed.value.ok
        assert snippet.strip() and snippet in page.input_value("[data-testid=reply]")

        # a canned reply, rendered for the case, is added below it
        before = page.input_value("[data-testid=reply]")
        with page.expect_response(lambda r: "/render" in r.url) as rendered:
            page.select_option("[data-testid=canned]", index=1)
        text = rendered.value.json()["text"]
        page.wait_for_function(
            "([sel, n]) => document.querySelector(sel).value.length > n",
            arg=["[data-testid=reply]", len(before)],
        )
        assert page.input_value("[data-testid=reply]") == before + "\n" + text
        assert page.input_value("[data-testid=canned]") == ""

        # calculators: choosing a kind shows its fields and drops the previous result
        panel = page.locator("[data-testid=calc-panel]")
        page.select_option("[data-testid=calc-kind]", "margin-interest")
        assert not panel.locator("[data-testid=calc-prev_close]").is_visible()
        page.fill("[data-testid=calc-amount]", "100000")
        page.fill("[data-testid=calc-annual_rate]", "6%")
        page.fill("[data-testid=calc-days]", "7")
        page.click("[data-testid=calc-go]")
        page.wait_for_selector("[data-testid=calc-out] [data-result=interest]")
        assert page.inner_text("[data-result=interest]") == "116.67"
        page.select_option("[data-testid=calc-kind]", "fees")
        assert page.inner_text("[data-testid=calc-out]") == ""
        assert panel.locator("[data-testid=calc-qty]").is_visible()

        # the customer 360° panel reveals a field through an htmx form
        page.fill("[data-testid=reveal-reason-phone]", "核实身份")
        page.click("[data-testid=reveal-phone]")
        page.wait_for_selector("[data-testid=pii-phone] [data-testid=revealed]")
        assert "*" not in page.inner_text("[data-testid=pii-phone]")

        # reply: the message is delivered over the socket and shown as sent
        page.fill("[data-testid=reply]", "您好，出金一般在一个工作日内到账，我们会继续跟进。")
        page.click("[data-testid=send]")
        page.wait_for_selector(
            "[data-testid=messages] .msg.mine[data-message-id] >> text=继续跟进", timeout=10_000
        )
        assert page.locator("[data-testid=messages] .msg[data-key]").count() == 0
        assert f"/desk/cases/{case_id}" in page.url
        w.assert_clean()
    finally:
        w.ctx.close()


def test_an_admin_adds_a_user_and_changes_the_role_without_a_policy_violation(browser, demo_server):
    w = Watched(browser)
    page = w.page
    try:
        login(page, demo_server, "admin")
        page.goto(f"{demo_server}/admin")
        page.wait_for_selector("[data-testid=admin-users]")
        form = page.locator("form[action='/admin/users']")
        form.locator("input[name=username]").fill("csp_check")
        form.locator("select[name=role]").select_option("agent")
        form.locator("input[name=password]").fill("Lantern-Harbour-42")
        with page.expect_navigation():
            form.locator("button").click()
        # the role select posts its form when it changes (no inline handler any more)
        with page.expect_navigation():
            page.select_option("[data-testid=role-csp_check]", "supervisor")
        assert page.input_value("[data-testid=role-csp_check]") == "supervisor"
        page.goto(f"{demo_server}/admin/kb")
        page.wait_for_selector("[data-testid=kb-admin]")
        w.assert_clean()
    finally:
        w.ctx.close()


def test_a_customer_searches_and_chats_without_a_policy_violation(browser, demo_server):
    w = Watched(browser)
    page = w.page
    try:
        login(page, demo_server, "customer5")
        page.fill("[data-testid=kb-search]", "提现多久能到账")
        page.wait_for_selector("[data-testid=kb-hit]")
        page.fill("[data-testid=chat-first-message]", "请问融资利息怎么算？")
        page.click("[data-testid=start-chat]")
        page.wait_for_url(re.compile(r"/cases/\d+$"))
        page.wait_for_selector("text=已连接")
        page.goto(f"{demo_server}/help")
        page.fill("[data-testid=kb-search]", "融资利息")
        page.wait_for_selector("[data-testid=kb-hit]")
        w.assert_clean()
    finally:
        w.ctx.close()


def test_the_api_explorer_works_under_the_same_policy(browser, demo_server):
    w = Watched(browser)
    page = w.page
    try:
        page.goto(f"{demo_server}/api/docs")
        page.wait_for_selector(".opblock-summary")
        spec = page.request.get(f"{demo_server}/openapi.json").json()
        operations = sum(len(ops) for ops in spec["paths"].values())
        assert page.locator(".opblock").count() == operations  # every REST operation is listed
        page.click(".opblock-summary >> nth=0")
        page.wait_for_selector(".try-out__btn")
        w.assert_clean()
    finally:
        w.ctx.close()


def test_the_recorder_sees_what_the_policy_blocks(browser, demo_server):
    """The tests above prove something only if a blocked inline handler would be reported:
    one is added to the login page, and the browser refuses it and reports it; an hx-on
    handler is refused by htmx itself, and kefu.js reports that."""
    w = Watched(browser)
    page = w.page
    try:
        page.goto(f"{demo_server}/login")
        directive = page.evaluate(
            """() => new Promise((done) => {
                 document.addEventListener("securitypolicyviolation",
                   (e) => done(e.effectiveDirective), {once: true});
                 const b = document.createElement("button");
                 b.setAttribute("onclick", "window.kefuRan = true");
                 document.body.append(b);
                 b.click();
               })"""
        )
        assert directive == "script-src-attr"
        assert page.evaluate("window.kefuRan") is None
        for _ in range(100):  # the report crosses to the test process: a few round trips
            if w.violations:
                break
            page.evaluate("0")
        assert [v["directive"] for v in w.violations] == ["script-src-attr"]
        assert any("Content Security Policy" in e for e in w.errors)
        # an hx-on handler is not run either, and kefu.js says so on the console
        w.errors.clear()
        with page.expect_console_message(lambda m: "htmx was asked" in m.text):
            page.evaluate(
                """() => { const b = document.createElement("button");
                   b.setAttribute("hx-on:click", "window.kefuRan = true");
                   document.body.append(b); htmx.process(b); b.click(); }"""
            )
        assert page.evaluate("window.kefuRan") is None
        assert any("htmx was asked" in e for e in w.errors)
    finally:
        w.ctx.close()
