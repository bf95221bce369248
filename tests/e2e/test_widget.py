"""The embeddable widget: one <script> tag on a broker's own page opens the customer chat."""

from __future__ import annotations

import functools
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer

import pytest

from tests.e2e.conftest import Watched, free_port

pytestmark = pytest.mark.e2e


def test_widget_on_a_broker_page(browser, demo_server, tmp_path):
    (tmp_path / "index.html").write_text(
        "<!doctype html><html lang='zh-CN'><body><h1>某某证券 帮助中心</h1>"
        f"<script src='{demo_server}/static/widget.js' defer></script></body></html>",
        encoding="utf-8",
    )
    port = free_port()
    handler = functools.partial(SimpleHTTPRequestHandler, directory=str(tmp_path))
    httpd = ThreadingHTTPServer(("127.0.0.1", port), handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    # the broker's page has no policy of its own; the widget's pages in the frame have Kefu's
    watched = Watched(browser)
    ctx, page = watched.ctx, watched.page
    try:
        page.goto(f"http://127.0.0.1:{port}/index.html")
        page.click("[data-kefu-widget=button]")
        frame = page.frame_locator("[data-kefu-widget=panel]")
        frame.locator("#username").fill("customer6")
        frame.locator("#password").fill("kefu-demo")
        frame.locator("button[type=submit]").click()
        frame.locator("[data-testid=chat-first-message]").fill("从帮助中心发起的咨询")
        frame.locator("[data-testid=start-chat]").click()
        frame.locator("text=从帮助中心发起的咨询").first.wait_for()
        frame.locator("text=已连接").wait_for()
        assert watched.violations == []
    finally:
        ctx.close()
        httpd.shutdown()
