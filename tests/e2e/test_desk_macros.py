"""Macros and attachments in a real browser: a supervisor writes a shared macro, applies it on a
case (the text lands in the reply box rendered for the customer, the case takes the macro's
priority, tag and assignee), then attaches a screenshot that shows inline in the conversation —
all under the strict Content-Security-Policy."""

from __future__ import annotations

import io

from PIL import Image, ImageDraw

from tests.e2e.conftest import Watched, login, shot


def _receipt_png() -> bytes:
    im = Image.new("RGB", (360, 200), "white")
    d = ImageDraw.Draw(im)
    d.rectangle((8, 8, 351, 191), outline=(200, 30, 30), width=3)
    for i, line in enumerate(("Bank transfer receipt", "CNY 50,000.00", "2026-12-07 10:32", "OK")):
        d.text((24, 28 + 36 * i), line, fill=(20, 20, 20))
    buf = io.BytesIO()
    im.save(buf, "PNG")
    return buf.getvalue()


#: the knowledge panel has answered (its first search builds the index: leave no request running)
KB_LOADED = "() => document.querySelector('[data-testid=kb-panel] div[hx-get]').children.length > 0"


def test_shared_macro_applied_then_screenshot_attached_inline(browser, demo_server):
    w = Watched(browser)
    page = w.page
    try:
        login(page, demo_server, "supervisor")
        page.goto(f"{demo_server}/desk/macros")
        page.fill("[data-testid=macro-name]", "出金核查中")
        page.fill(
            "[data-testid=macro-body-zh]",
            "{customer_name}您好，工单 {case_ref} 的出金正在核查，今天 17:00 前回复您。",
        )
        page.select_option("[data-testid=macro-priority]", "high")
        page.fill("[data-testid=macro-tags]", "出金核查")
        page.select_option("[data-testid=macro-assign]", "me")
        page.check("[data-testid=macro-shared]")
        with page.expect_navigation():
            page.click("[data-testid=macro-save]")
        page.wait_for_selector("[data-testid=macro-row]:has-text('出金核查中')")

        page.goto(f"{demo_server}/desk?view=all")
        first = page.locator("[data-testid=queue-item]").first
        case_id = first.get_attribute("data-case-id")
        page.goto(f"{demo_server}/desk/cases/{case_id}?view=all")
        page.wait_for_selector("[data-chat]")
        page.wait_for_function(KB_LOADED, timeout=120_000)
        with page.expect_navigation():
            page.select_option("[data-testid=macro]", label="出金核查中")
        reply = page.locator("[data-testid=reply]")
        page.wait_for_function(
            "() => document.querySelector('[data-testid=reply]').value.includes('出金正在核查')"
        )
        assert f"#{case_id}" in reply.input_value() and "{customer_name}" not in reply.input_value()
        assert "#出金核查" in page.inner_text("[data-testid=case-tags]")
        assert page.inner_text("[data-testid=assignee]") == "周敏"

        page.locator("[data-testid=attach]").set_input_files(
            files=[{"name": "转账回单.png", "mimeType": "image/png", "buffer": _receipt_png()}]
        )
        img = page.locator("[data-testid=messages] [data-testid=attachment-image]").last
        img.wait_for()
        page.wait_for_function(
            "() => { const i = [...document.querySelectorAll("
            "'[data-testid=messages] [data-testid=attachment-image]')].pop();"
            " return i && i.complete && i.naturalWidth === 360; }"
        )
        # the caption was the drafted reply; it went through the guard and was sent with the file
        assert page.locator("[data-testid=reply]").input_value() == ""
        page.wait_for_function(KB_LOADED, timeout=120_000)
        shot(page, "desk-macros.png")
        w.assert_clean()
    finally:
        w.ctx.close()
