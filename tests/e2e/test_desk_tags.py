"""Tags and bulk work in the desk, in a real browser: a supervisor picks cases in the queue and
tags and re-prioritises them in one go, adds a tag from a case's header, and filters by it."""

from __future__ import annotations

import re

from tests.e2e.conftest import SHOTS, login
from tests.e2e.test_consoles import _contexts


def test_bulk_tag_and_priority_then_filter_by_tag(browser, demo_server):
    ctx = _contexts(browser)
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        login(page, demo_server, "supervisor")
        page.goto(f"{demo_server}/desk?view=all")
        boxes = page.locator("[data-testid=bulk-pick]")
        boxes.first.wait_for()
        picked = [boxes.nth(i).get_attribute("value") for i in range(2)]
        for i in range(2):
            boxes.nth(i).check()
        page.wait_for_selector("[data-role=bulk-count]:text-is('2')")
        page.select_option("[data-role=bulk-field][data-field=priority]", "high")
        page.fill("[data-testid=bulk-tag]", "回访")
        with page.expect_navigation():
            page.click("[data-testid=bulk-apply]")
        for cid in picked:
            item = page.locator(f"[data-testid=queue-item][data-case-id='{cid}']")
            assert "#回访" in item.inner_text()
            assert "高" in item.inner_text()
        page.screenshot(path=str(SHOTS / "desk-bulk.png"))

        page.goto(f"{demo_server}/desk/cases/{picked[0]}?view=all")
        page.fill("[data-testid=tag-input]", "#VIP")
        with page.expect_navigation():
            page.click("[data-testid=tag-add]")
        tags = page.inner_text("[data-testid=case-tags]")
        assert "#vip" in tags and "#回访" in tags

        page.fill("[data-testid=queue-tag]", "vip")
        page.wait_for_function(
            "() => document.querySelectorAll('[data-testid=queue-item]').length === 1"
        )
        only = page.locator("[data-testid=queue-item]").first.get_attribute("data-case-id")
        assert only == picked[0]
        assert not dialogs, dialogs
        assert re.search(r"/desk/cases/\d+", page.url)
    finally:
        ctx.close()
