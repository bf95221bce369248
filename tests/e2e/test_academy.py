"""The academy in a real browser: a trainee walks onboarding — a lesson, a quiz against the
server's timer, a role-play with a simulated customer judged by the guard and the QA scorer —
and receives a certificate that the public verification page confirms. The server runs on the
repository's content with the academy replaced by the test fixture (one course, one persona, a
three-step onboarding) so the walk stays short."""

from __future__ import annotations

import os
import re
import shutil
import sqlite3
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.conftest import SERVER_LOGS, SHOTS, Watched, _require_browser, free_port

REPO = Path(__file__).resolve().parents[2]
FIXTURE = REPO / "tests" / "academy" / "fixtures" / "academy"


@pytest.fixture(scope="module")
def academy_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    _require_browser()
    tmp = tmp_path_factory.mktemp("academy-e2e")
    content = tmp / "content"
    shutil.copytree(REPO / "content", content, ignore=shutil.ignore_patterns("academy", "demo"))
    shutil.copytree(FIXTURE, content / "academy")
    course = content / "academy" / "courses" / "fees-basics" / "course.yaml"
    # three questions of the duty category (no essay: the certificate needs no trainer here)
    course.write_text(
        re.sub(
            r"quiz: \{.*\}",
            "quiz: {questions: 3, minutes: 10, attempts: 2, per_category: {fees-basics/duty: 3}}",
            course.read_text(encoding="utf-8"),
        ),
        encoding="utf-8",
    )
    db = tmp / "kefu.db"
    env = {
        **os.environ,
        "KEFU_DATABASE_URL": f"sqlite:///{db}",
        "KEFU_SECRET_KEY": "e2e-secret",
        "KEFU_BROKER_URL": "memory://",
        "KEFU_CONTENT_DIR": str(content),
    }
    kefu = [sys.executable, "-m", "kefu.cli"]
    subprocess.run([*kefu, "migrate"], env=env, check=True, capture_output=True)
    subprocess.run([*kefu, "content", "sync"], env=env, check=True, capture_output=True)
    subprocess.run(
        [*kefu, "user", "add", "trainee1", "--role", "agent", "--name", "王小雨"],
        env=env, input=PASSWORD.encode() + b"\n", check=True, capture_output=True,
    )  # fmt: skip
    with sqlite3.connect(db) as conn:
        conn.execute("UPDATE users SET is_trainee = 1 WHERE username = 'trainee1'")
    port = free_port()
    SERVER_LOGS.append(tmp / "server.log")
    proc = _serve(env, port, tmp / "server.log")
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _serve(env: dict[str, str], port: int, log: Path) -> subprocess.Popen[bytes]:
    """uvicorn on the port, waited for up to two minutes (a loaded CI machine starts slowly)."""
    cmd = [sys.executable, "-m", "uvicorn", "kefu.web.app:create_app", "--factory"]
    proc = subprocess.Popen(
        [*cmd, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=log.open("wb"),
        stderr=subprocess.STDOUT,
    )
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and proc.poll() is None:
        try:
            if httpx.get(f"http://127.0.0.1:{port}/healthz", timeout=1).status_code == 200:
                return proc
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise RuntimeError(f"server did not start: {log.read_text()[-2000:]}")


PASSWORD = "kefu-academy-e2e"
RIGHT = {"现行印花税向谁征收？": ["卖方"], "以下哪些是交易成本？": ["佣金", "卖出时的印花税"]}


def test_a_trainee_completes_onboarding_and_gets_a_certificate(
    browser: object, academy_server: str
) -> None:
    w = Watched(browser)
    page = w.page
    base = academy_server
    try:
        page.goto(f"{base}/login")
        page.fill("#username", "trainee1")
        page.fill("#password", PASSWORD)
        with page.expect_navigation():
            page.click("button[type=submit]")
        page.click("[data-testid=nav-academy]")
        with page.expect_navigation():
            page.click("[data-testid=enrol-onboarding]")
        # step 1: the lesson, with the rule number from the registry and a help-centre link
        page.click("[data-testid=step-1] a")
        lesson = page.locator("[data-testid=lesson]")
        assert "0.05%" in lesson.inner_text()
        assert (
            page.locator("[data-testid=lesson] .kb-body a[href='/help/trading.fees']").count() == 1
        )
        with page.expect_navigation():
            page.click("[data-testid=lesson-done]")
        # step 2: the quiz; the page counts down the server's deadline
        with page.expect_navigation():
            page.click("[data-testid=start-quiz]")
        timer = "document.querySelector('[data-testid=quiz-timer]').textContent"
        page.wait_for_function(f"() => /\\d+:\\d\\d/.test({timer})")
        for fs in page.locator("fieldset.question").all():
            text = fs.locator(".qtext").inner_text().strip()
            if fs.get_attribute("data-kind") == "numeric":
                fs.locator("input[type=text]").fill("50")
                continue
            for label in RIGHT[text]:
                fs.locator("label.opt", has_text=label).first.locator("input").check()
        with page.expect_navigation():
            page.click("[data-testid=finish-quiz]")
        assert page.get_attribute("[data-testid=attempt-result]", "data-passed") == "yes"
        # step 3: the role-play, one reply at a time
        page.goto(f"{base}/academy")
        with page.expect_navigation():
            page.click("[data-testid=play-deposit-missing]")
        assert "一个小时了还没到" in page.inner_text("[data-testid=customer-line]")
        for reply in (
            "您好，我是客服小李，非常理解您的着急。请问您是在交易时段内转账的吗？",
            "谢谢您。我马上为您提交核查单，一个工作日内给您回复。还有其他需要帮忙的吗？",
        ):
            page.fill("[data-testid=reply-text]", reply)
            with page.expect_navigation():
                page.click("[data-testid=reply-send]")
        debrief = page.locator("[data-testid=debrief]")
        assert debrief.get_attribute("data-passed") == "yes", debrief.inner_text()
        assert page.locator("[data-testid=roleplay]").get_attribute("data-outcome") == "resolved"
        SHOTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(SHOTS / "academy.png"), full_page=True)
        # the certificate: printable, with a code the public page verifies
        page.goto(f"{base}/academy")
        assert page.locator("[data-testid=step-3]").get_attribute("data-done") == "yes"
        with page.expect_navigation():
            page.click("[data-testid=certificate-link] a")
        code = page.inner_text("[data-testid=certificate-code]")
        assert page.inner_text("[data-testid=certificate-holder]") == "王小雨"
        page.screenshot(path=str(SHOTS / "academy-certificate.png"))
        anonymous = browser.new_context()  # type: ignore[attr-defined]
        try:
            check = anonymous.new_page()
            check.goto(f"{base}/academy/verify/{code}")
            assert check.locator("[data-testid=verify-valid]").count() == 1
        finally:
            anonymous.close()
        w.assert_clean()
    finally:
        w.ctx.close()
