"""The e-mail channel in a real browser: a customer turns off the e-mails about answered tickets
on the portal, and an agent sees a case's e-mail record in the desk."""

from __future__ import annotations

import re

from tests.e2e.conftest import SHOTS, login
from tests.e2e.test_consoles import _contexts


def test_customer_turns_off_email_notifications_and_agent_sees_mail_record(browser, demo_server):
    ctx = _contexts(browser)
    page = ctx.new_page()
    dialogs: list[str] = []
    page.on("dialog", lambda d: (dialogs.append(d.message), d.dismiss()))
    try:
        login(page, demo_server, "customer20")
        box = page.locator("[data-testid=email-notify]")
        box.wait_for()
        # customer20 reads the portal in English (their own language setting)
        assert "On" in box.inner_text() and "***@example.com" in box.inner_text()
        with page.expect_navigation():
            page.click("[data-testid=email-notify-off]")
        page.locator("[data-testid=email-notify-on]").wait_for()
        assert "Off" in page.inner_text("[data-testid=email-notify]")
        page.screenshot(path=str(SHOTS / "email-notify.png"))
        with page.expect_navigation():
            page.click("[data-testid=email-notify-on]")
        page.locator("[data-testid=email-notify-off]").wait_for()
        ctx.clear_cookies()

        login(page, demo_server, "agent1")
        # the browser's own session reads the API like the desk's scripts do
        listed = page.request.get(f"{demo_server}/api/v1/cases?channel=email&limit=1")
        assert listed.ok, listed.text()
        case_id = listed.json()["items"][0]["id"]
        page.goto(f"{demo_server}/desk/cases/{case_id}?view=all")
        record = page.locator("[data-testid=mail-record]")
        record.wait_for()
        assert "邮件记录" in record.inner_text()  # agent1 works in Chinese
        assert re.search(r"/desk/cases/\d+", page.url)
        assert not dialogs, dialogs
    finally:
        ctx.close()
