"""Suitability in a real browser: the customer takes the risk questionnaire in the portal, asks
for a product above their new category, reads the special risk warning and confirms; the agent's
360 panel then shows the mismatch the customer insisted on."""

from __future__ import annotations

import re

import pytest

from tests.e2e.conftest import SHOTS, Watched, login, shot

pytestmark = pytest.mark.e2e

#: option letters in the questionnaire's order: 31 points, C2 (tests/customers)
C2_SHEET = dict(
    zip(
        [
            "age",
            "income_source",
            "income",
            "investable_share",
            "debts",
            "assets",
            "knowledge",
            "experience",
            "experience_years",
            "horizon",
            "objective",
            "loss_tolerance",
        ],
        "edaaababaabb",
        strict=True,
    )
)


def test_questionnaire_warning_confirmation_and_the_desk_mismatch(browser, demo_server):
    cust, agent = Watched(browser), Watched(browser)
    try:
        page = cust.page
        login(page, demo_server, "customer5")
        with page.expect_navigation():
            page.click("[data-testid=nav-suitability]")
        # customer5's demo assessment (C3) is about to lapse: they take the questionnaire again
        for question, letter in C2_SHEET.items():
            page.check(f"[data-testid=q-{question}-{letter}]")
        with page.expect_navigation():
            page.click("[data-testid=suit-submit]")
        assert "C2 谨慎型" in page.inner_text("[data-testid=suit-flash]")
        assert page.inner_text("[data-testid=suit-allowed]") == "R1–R2"

        # an R3 fund is above C2: the special risk warning, and nothing bought yet
        with page.expect_navigation():
            page.click("[data-testid=suit-ask-INDEX-CSI300]")
        warning = page.wait_for_selector("[data-testid=suit-warning]")
        text = warning.inner_text()
        assert (
            "特别风险警示" in text and "C2 谨慎型" in text and "R3" in text and "第十九条" in text
        )
        shot(page, "suitability.png")
        # the confirmation needs the explicit acknowledgement
        page.check("[data-testid=suit-ack]")
        with page.expect_navigation():
            page.click("[data-testid=suit-confirm]")
        page.wait_for_selector("[data-testid=suit-confirmed]")

        # the customer asks the desk about it
        page.goto(f"{demo_server}/")
        page.fill("[data-testid=chat-first-message]", "我已经确认了风险警示，想买沪深300指数基金")
        page.click("[data-testid=start-chat]")
        page.wait_for_url(re.compile(r"/cases/\d+$"))
        case_id = int(page.url.rsplit("/", 1)[1])

        desk = agent.page
        login(desk, demo_server, "agent1")
        desk.goto(f"{demo_server}/desk/cases/{case_id}")
        outcome = desk.wait_for_selector("[data-testid=suit-desk-outcome]")
        assert outcome.inner_text() == "不匹配 · 客户坚持购买已确认"
        panel = desk.inner_text("[data-testid=suit-panel]")
        assert "沪深300指数基金" in panel and "C2 谨慎型" in panel and "R1–R2" in panel
        desk.locator("[data-testid=suit-panel]").screenshot(
            path=str(SHOTS / "suitability-desk.png")
        )
        cust.assert_clean()
        agent.assert_clean()
    finally:
        cust.ctx.close()
        agent.ctx.close()
