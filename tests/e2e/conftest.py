"""Browser tests: a real uvicorn server on 127.0.0.1 with the demo data, driven by Playwright
through Debian's Chromium. Without Chromium they skip with a reason, unless KEFU_REQUIRE_BROWSER=1
(CI), where they fail instead."""

from __future__ import annotations

import os
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest

CHROMIUM = os.environ.get("KEFU_CHROMIUM", "/usr/bin/chromium")
ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
]
SHOTS = Path(__file__).resolve().parents[2] / "docs" / "screenshots"


def _require_browser() -> None:
    missing = None
    if not Path(CHROMIUM).exists():
        missing = f"Chromium not found at {CHROMIUM} (apt-get install -y chromium fonts-noto-cjk)"
    else:
        try:
            import playwright.sync_api  # noqa: F401
        except ImportError:
            missing = "the playwright package is not installed (pip install -e '.[dev]')"
    if missing:
        if os.environ.get("KEFU_REQUIRE_BROWSER") == "1":
            pytest.fail(missing + " — KEFU_REQUIRE_BROWSER=1 makes this a failure")
        pytest.skip(missing)


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def start_server(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    proc = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "kefu.web.app:create_app",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "info",
        ],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    # a loaded machine (CI runners, shared hosts) may need longer: KEFU_E2E_START_SECONDS
    deadline = time.monotonic() + float(os.environ.get("KEFU_E2E_START_SECONDS", "30"))
    while time.monotonic() < deadline:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            pass
        if proc.poll() is not None:
            break
        time.sleep(0.2)
    proc.kill()
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


@pytest.fixture(scope="session")
def demo_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """Migrates a fresh SQLite database, loads the demo data with the CLI, serves it."""
    _require_browser()
    tmp = tmp_path_factory.mktemp("e2e")
    env = {
        **os.environ,
        "KEFU_DATABASE_URL": f"sqlite:///{tmp / 'kefu.db'}",
        "KEFU_SECRET_KEY": "e2e-secret",
        "KEFU_BROKER_URL": "memory://",
    }
    kefu = [sys.executable, "-m", "kefu.cli"]
    for cmd in (["migrate"], ["demo"]):
        subprocess.run([*kefu, *cmd], env=env, check=True, capture_output=True)
    port = free_port()
    SERVER_LOGS.append(tmp / "server.log")
    proc = start_server(env, port, tmp / "server.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


@pytest.fixture(scope="session")
def browser() -> Iterator[object]:
    _require_browser()
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=ARGS, headless=True)
        yield b
        b.close()


def login(page: Any, base: str, username: str) -> None:
    """Logs in through the form and waits until the browser has left /login, so the next step
    never races the redirect; a refused login fails here with what the page said."""
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", "kefu-demo")
    page.click("button[type=submit]")
    try:
        page.wait_for_url(lambda url: urlsplit(url).path != "/login", timeout=60_000)
    except Exception as exc:
        said = page.inner_text("body")[:500]
        raise AssertionError(f"login as {username} stayed on /login: {said!r}") from exc
    page.wait_for_load_state("networkidle")


#: the e2e servers' logs (access lines included), printed with any failing browser test
SERVER_LOGS: list[Path] = []


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    outcome = yield
    report = outcome.get_result()  # type: ignore[attr-defined]
    if report.failed and SERVER_LOGS:
        for log in SERVER_LOGS:
            if log.exists():
                tail = "\n".join(log.read_text(errors="replace").splitlines()[-80:])
                report.sections.append((f"server log {log.parent.name} (last 80 lines)", tail))


def shot(page: object, name: str) -> None:
    SHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SHOTS / name), full_page=False)  # type: ignore[attr-defined]


#: reports each securitypolicyviolation to the test, from before any page script runs
REPORT_VIOLATIONS = """
document.addEventListener("securitypolicyviolation", (e) => {
  window.kefuCspViolation({directive: e.effectiveDirective, blocked: e.blockedURI,
    sample: e.sample, source: e.sourceFile, line: e.lineNumber, page: location.pathname});
});
"""


class Watched:
    """A browser context whose pages report CSP violations, console errors and page errors."""

    def __init__(self, browser: object) -> None:
        self.violations: list[dict[str, object]] = []
        self.errors: list[str] = []
        self.dialogs: list[str] = []
        self.ctx = browser.new_context(  # type: ignore[attr-defined]
            viewport={"width": 1280, "height": 800}, locale="zh-CN"
        )
        self.ctx.expose_function("kefuCspViolation", lambda v: self.violations.append(v))
        self.ctx.add_init_script(REPORT_VIOLATIONS)
        self.page = self.ctx.new_page()
        self.page.on("console", self._console)
        self.page.on("pageerror", lambda e: self.errors.append(f"pageerror: {e}"))
        self.page.on("dialog", lambda d: (self.dialogs.append(d.message), d.dismiss()))

    def _console(self, message: object) -> None:
        kind, text = message.type, message.text  # type: ignore[attr-defined]
        if kind == "error" or "Content Security Policy" in text:
            self.errors.append(f"console.{kind}: {text}")

    def assert_clean(self) -> None:
        assert self.violations == [], self.violations
        assert self.errors == [], self.errors
        assert self.dialogs == [], self.dialogs


_ = shutil
