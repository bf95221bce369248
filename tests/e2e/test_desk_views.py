"""Saved views and merging in the desk, in a real browser: a supervisor filters the queue, saves
the filters as a shared view, finds it again after a reload with its live count, renames it; then
merges two cases of one customer from a case's header and lands on the merged case."""

from __future__ import annotations

import re
from collections import defaultdict

from tests.e2e.conftest import login, shot
from tests.e2e.test_consoles import _contexts


def test_save_a_view_reload_it_with_its_count_and_merge_two_cases(browser, demo_server):
    ctx = _contexts(browser)
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.accept()))
    try:
        login(page, demo_server, "supervisor")
        page.goto(f"{demo_server}/desk?view=all")
        page.locator("[data-testid=queue-item]").first.wait_for()
        # every case, newest first (the further filters fold away under "more")
        page.click("[data-testid=more-filters]")
        with page.expect_response(lambda r: "/desk/queue" in r.url):
            page.select_option("[data-testid=queue-sort]", "newest")
        page.fill("[data-testid=view-name]", "全部·最新")
        page.check("[data-testid=view-shared]")
        with page.expect_navigation():
            page.click("[data-testid=view-save]")
        assert re.search(r"/desk\?saved=\d+$", page.url), page.url

        page.reload()
        view = page.locator("[data-testid=saved-view]", has_text="全部·最新")
        view.wait_for()
        count = int(view.locator("[data-testid=saved-view-count]").inner_text())
        shown = page.locator("[data-testid=queue-item]").count()
        assert count == shown and count > 0, (count, shown)
        assert "共享" in view.inner_text()
        # newest first: the queue's case numbers go down
        ids = [
            int(x)
            for x in page.locator("[data-testid=queue-item]").evaluate_all(
                "els => els.map(e => e.dataset.caseId)"
            )
        ]
        assert ids == sorted(ids, reverse=True)
        shot(page, "desk-saved-views.png")

        # the owner renames it
        page.fill("[data-testid=view-rename-name]", "最新工单")
        with page.expect_navigation():
            page.click("[data-testid=view-rename] button")
        page.locator("[data-testid=saved-view]", has_text="最新工单").wait_for()

        # two cases of one customer, from the API the page itself uses
        cases = page.evaluate(
            "async () => (await (await fetch("
            "'/api/v1/cases?limit=200&status_category=open,pending')).json()).items"
        )
        by_customer: dict[int, list[int]] = defaultdict(list)
        for c in cases:
            by_customer[c["customer_id"]].append(c["id"])
        pair = next(sorted(v)[:2] for v in by_customer.values() if len(v) >= 2)
        target, source = pair
        page.goto(f"{demo_server}/desk/cases/{source}")
        page.select_option("[data-testid=merge-target]", str(target))
        with page.expect_navigation():
            page.click("[data-testid=merge-go]")
        assert page.url.endswith(f"/desk/cases/{target}"), page.url
        assert any(f"#{source}" in d and f"#{target}" in d for d in dialogs), dialogs
        page.locator("[data-testid=messages]", has_text=f"#{source}").wait_for()
        page.goto(f"{demo_server}/desk/cases/{source}")
        banner = page.locator("[data-testid=merged-banner]")
        assert f"#{target}" in banner.inner_text()
        assert page.locator("[data-testid=merge-form]").count() == 0
    finally:
        ctx.close()
