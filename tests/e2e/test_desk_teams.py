"""Teams and escalation in a real browser: an agent escalates a customer's missing deposit to
funds operations with an internal note; the customer's page shows only that funds operations is
checking and by when; a funds-operations member answers from the team queue's thread; the agent
finds the answer on the case — all under the strict Content-Security-Policy."""

from __future__ import annotations

from tests.e2e.conftest import Watched, login, shot

SUBJECT = "入金5万显示处理中"
NOTE = "客户昨天 15:40 转入 5 万元，银行已扣款，证券账户未到账，请核查银企直连流水。"
ANSWER = "已核查：银行清算延迟，款项已于今天 10:05 入账，请告知客户刷新资产。"


def test_agent_escalates_team_answers_agent_sees_it(browser, demo_server):
    agent = Watched(browser)
    member = Watched(browser)
    customer = Watched(browser)
    try:
        page = agent.page
        login(page, demo_server, "agent1")
        page.goto(f"{demo_server}/desk?view=all&q={SUBJECT}")
        item = page.locator("[data-testid=queue-item]").first
        case_id = item.get_attribute("data-case-id")
        page.goto(f"{demo_server}/desk/cases/{case_id}?view=all")
        form = page.locator("[data-testid=escalate-form]")
        form.wait_for()
        team = page.locator("[data-testid=escalate-team] option", has_text="资金清算部门")
        page.select_option("[data-testid=escalate-team]", team.get_attribute("value"))
        page.fill("[data-testid=escalate-note]", NOTE)
        page.click("[data-testid=escalate-submit]")
        card = page.locator("[data-testid=escalation]").first
        card.wait_for()
        assert "资金清算部门" in card.inner_text()
        assert card.get_attribute("data-status") == "open"
        assert page.inner_text("[data-testid=escalation-note]") == NOTE

        # the customer: one case, a plain status, never the internal note
        login(customer.page, demo_server, "customer2")
        customer.page.goto(f"{demo_server}/cases/{case_id}")
        line = customer.page.inner_text("[data-testid=escalation-status-line]")
        assert line.startswith("已转交资金清算部门核查，预计") and line.endswith("前回复")
        assert "银企直连" not in customer.page.inner_text("body")

        # a funds-operations member answers from the team queue's thread
        mp = member.page
        login(mp, demo_server, "agent2")
        mp.goto(f"{demo_server}/desk/teams")
        row = mp.locator(f"[data-testid=team-queue-row]:has(a[href='/desk/cases/{case_id}'])")
        row.locator("[data-testid=team-queue-open]").click()
        detail = mp.locator("[data-testid=escalation-detail] [data-testid=escalation]")
        detail.wait_for()
        assert NOTE in detail.inner_text()
        mp.fill("[data-testid=escalation-detail] [data-testid=thread-body]", ANSWER)
        mp.click("[data-testid=escalation-detail] [data-testid=thread-answer]")
        mp.wait_for_selector(
            "[data-testid=escalation-detail] [data-testid=escalation][data-status=answered]"
        )

        # the agent finds the team's answer on the case; the customer's status is gone
        page.goto(f"{demo_server}/desk/cases/{case_id}?view=all")
        answer = page.locator("[data-testid=thread-message][data-kind=answer]")
        answer.wait_for()
        assert ANSWER in answer.inner_text()
        assert page.locator("[data-testid=escalation]").first.get_attribute("data-status") == (
            "answered"
        )
        assert page.inner_text("[data-testid=assignee]") == "李娜"  # the case stayed hers
        customer.page.goto(f"{demo_server}/cases/{case_id}")
        customer.page.wait_for_selector("[data-testid=messages]")
        assert customer.page.locator("[data-testid=escalation-status]").count() == 0
        page.locator("[data-testid=escalations-card]").scroll_into_view_if_needed()
        page.wait_for_load_state("networkidle")
        shot(page, "desk-escalation.png")
        # the supervisor sees it by team on the live view, and keeps the teams
        sup = Watched(browser)
        try:
            login(sup.page, demo_server, "supervisor")
            sup.page.goto(f"{demo_server}/desk/live")
            funds = sup.page.locator("[data-testid=live-team-row][data-team=funds_ops]")
            funds.wait_for()
            assert "资金清算部门" in funds.inner_text()
            sup.page.goto(f"{demo_server}/desk/teams?status=all")
            sup.page.wait_for_selector("[data-testid=team-add-member]")
            sup.assert_clean()
        finally:
            sup.ctx.close()
        for w in (agent, member, customer):
            w.assert_clean()
    finally:
        for w in (agent, member, customer):
            w.ctx.close()
