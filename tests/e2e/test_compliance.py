"""The compliance officer in a real browser: alert → case → review → suspicious-transaction
report, on the demo data's planted patterns, under the strict Content-Security-Policy."""

from __future__ import annotations

import pytest

from tests.e2e.conftest import Watched, login, shot

pytestmark = pytest.mark.e2e


def test_alert_to_case_to_review_to_report(browser, demo_server):
    w = Watched(browser)
    page = w.page
    try:
        login(page, demo_server, "compliance")
        page.click("[data-testid=nav-compliance]")
        page.wait_for_selector("[data-testid=alert-list]")
        assert page.locator("[data-testid=alert-row]").count() >= 7
        # filter to the large cash alert of 赵海涛 and open its case
        page.select_option("select[name=rule]", "large_cash")
        with page.expect_navigation():
            page.click("[data-testid=alert-filters] button")
        rows = page.locator("[data-testid=alert-row]")
        assert rows.count() >= 1 and "赵海涛" in rows.first.inner_text()
        with page.expect_navigation():
            rows.first.locator("a").click()
        page.wait_for_selector("[data-testid=aml-case]")
        assert "赵海涛" in page.inner_text("[data-testid=aml-case]")
        assert "transfer:DF0001" in page.inner_text("[data-testid=case-alerts]")
        assert page.locator("[data-testid=timeline] tr.aml-flagged").count() == 2

        with page.expect_navigation():
            page.click("[data-testid=assign]")
        assert page.inner_text("[data-testid=case-assignee]").strip() != "未分配"
        page.fill("[data-testid=comment-body]", "客户称为店铺营业款，已要求提供流水")
        with page.expect_navigation():
            page.click("[data-testid=comment]")
        page.fill("[data-testid=escalate-reason]", "现金来源无法核实")
        with page.expect_navigation():
            page.click("[data-testid=escalate]")
        assert "已上报" in page.inner_text("[data-testid=case-status]")
        notes = page.inner_text("[data-testid=notes]")
        assert "店铺营业款" in notes and "现金来源无法核实" in notes
        shot(page, "compliance.png")

        page.select_option("[data-testid=outcome]", "confirmed")
        page.fill("[data-testid=close-reason]", "确认可疑，按规定报送")
        with page.expect_navigation():
            page.click("[data-testid=close]")
        assert "已结案" in page.inner_text("[data-testid=case-status]")

        with page.expect_navigation():
            page.click("[data-testid=export-print]")
        page.wait_for_selector("[data-testid=str-report]")
        report = page.inner_text("[data-testid=str-report]")
        # deposits on Wednesday 2 December: five working days later is 9 December
        assert page.inner_text("[data-testid=large-due]").strip() == "2026-12-09"
        assert "DF0001" in report and "DF0002" in report and "2016" in report
        with page.expect_download() as dl:
            page.go_back()
            page.click("[data-testid=export-csv]")
        assert dl.value.suggested_filename.startswith("str-case-")
        w.assert_clean()
    finally:
        w.ctx.close()
