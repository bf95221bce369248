"""The /academy console through HTTP: a trainee walks onboarding (lesson, quiz, role-play) to a
certificate that the public verification page confirms; the quiz form is refused after the
server's deadline; a trainer imports GIFT, edits a question and grades an essay; the role
checks of the trainer pages."""

from __future__ import annotations

import re
import sys
import types
from collections.abc import Iterator
from datetime import timedelta
from typing import Any

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.academy.models import Attempt
from kefu.core.db import Database
from tests import dbshare

from .conftest import People
from .test_programmes import JUDGE


@pytest.fixture(scope="module")
def _app(_academy_module: tuple[Database, tuple[int, ...]]) -> Iterator[TestClient]:
    """The app, started once for the module (its start-up load is part of the module's seed)."""
    # the role-play's judge with the fixture classifier (the QA scorer's is tested in
    # test_judge.py once the quality context is present)
    fake = types.ModuleType("kefu.academy.judge")
    fake.default_judge = lambda: JUDGE  # type: ignore[attr-defined]
    from kefu.web.app import create_app

    with pytest.MonkeyPatch.context() as mp:
        mp.setitem(sys.modules, "kefu.academy.judge", fake)
        with dbshare.started_app(create_app(_academy_module[0])) as client:
            yield client


@pytest.fixture
def web(_app: TestClient, database: Database, academy: tuple[Session, People]) -> TestClient:
    _app.cookies.clear()
    return _app


def _login(client: TestClient, username: str) -> str:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": "kefu-demo"})
    assert r.status_code == 200, r.text
    client.cookies.set("kefu_session", r.json()["token"])
    client.cookies.set("kefu_lang", "en")
    return str(r.json()["csrf_token"])


def _post(client: TestClient, url: str, csrf: str, **data: Any) -> Any:
    r = client.post(
        url, data={**data, "csrf": csrf}, headers={"Accept": "text/html"}, follow_redirects=False
    )
    assert r.status_code == 303, (url, r.status_code, r.text[:300])
    return r.headers["location"]


def _quiz_answers(page: str) -> dict[str, str]:
    """Right answers read from the rendered form and the fixture bank (by question text)."""
    right = {
        "Who pays stamp duty today?": ("radio", "The seller"),
        "Which of these are trading costs?": ("checkbox", ["commission", "stamp duty on a sale"]),
        "A-shares settle T+1.": ("tf", "true"),
        "What is 科创板 called in English?": ("text", "STAR Market"),
        "What happens to a bank transfer made outside trading hours?": (
            "radio",
            "It is processed the next trading day",
        ),
        "Explain why we never promise returns.": (
            "text",
            "Returns are never certain and promising them is forbidden.",
        ),
    }
    form: dict[str, Any] = {}
    for block in re.findall(r'<fieldset class="card question.*?</fieldset>', page, re.S):
        slot = re.search(r'data-testid="question-(\d+)"', block).group(1)  # type: ignore[union-attr]
        text = re.search(r'<p class="qtext">(.*?)</p>', block, re.S).group(1).replace("&amp;", "&")  # type: ignore[union-attr]
        if "100000" in text:
            form[f"q{slot}"] = "50"
            continue
        if "Match" in text:
            pairs = {"T+1": "settles next day", "ST": "risk warning", "科创板": "STAR Market"}
            for i, left in enumerate(re.findall(r'<label class="opt">(.*?) →', block)):
                form[f"q{slot}.{i}"] = pairs[left.strip().replace("&#43;", "+")]
            continue
        kind, value = right[text.strip()]
        if kind in ("radio", "checkbox"):
            options = dict(
                (t.strip(), v) for v, t in re.findall(r'value="(\d+)"[^>]*> (.*?)</label>', block)
            )
            form[f"q{slot}"] = (
                [options[v] for v in value] if isinstance(value, list) else options[value]
            )
        else:
            form[f"q{slot}"] = value
    return form


def test_a_trainee_completes_onboarding_and_gets_a_verifiable_certificate(
    web: TestClient, academy: tuple[Session, People]
) -> None:
    s, _ = academy
    csrf = _login(web, "trainee1")
    home = web.get("/academy")
    assert home.status_code == 200 and 'data-testid="enrol-onboarding"' in home.text
    _post(web, "/academy/programmes/onboarding/enrol", csrf)
    lesson = web.get("/academy/courses/fees-basics/lessons/01-stamp-duty")
    assert "0.05%" in lesson.text and 'href="/help/trading.fees"' in lesson.text
    _post(web, "/academy/courses/fees-basics/lessons/01-stamp-duty/done", csrf)
    where = _post(web, "/academy/courses/fees-basics/quiz", csrf)
    assert where.startswith("/academy/attempts/")
    page = web.get(where).text
    assert 'id="academy-timer"' in page
    answers = _quiz_answers(page)
    _post(web, where, csrf, finish="1", **answers)
    review = web.get(where).text
    assert 'data-testid="attempt-result"' in review
    # the essay waits for the trainer (the fixture quiz draws 5 of 8: it may hold one)
    attempt = s.scalar(select(Attempt).order_by(Attempt.id.desc()))
    s.expire_all()
    assert attempt is not None and attempt.score is not None
    if attempt.pending:
        tcsrf = _login(web, "trainer")
        essays = web.get("/academy/teach").text
        item = re.search(r"/academy/teach/essays/(\d+)", essays).group(1)  # type: ignore[union-attr]
        _post(web, f"/academy/teach/essays/{item}", tcsrf, points="4", out_of="4", comment="clear")
        csrf = _login(web, "trainee1")
    run = _post(web, "/academy/roleplay/deposit-missing", csrf)
    first = web.get(run).text
    assert "Where is my money?" in first or "我的钱" in first
    for reply in (
        "I understand how worrying this is. Did you send it during trading hours?",
        "Thank you. I will open a trace request now.",
    ):
        _post(web, run, csrf, text=reply)
    done = web.get(run).text
    assert 'data-testid="debrief"' in done and 'data-passed="yes"' in done
    home = web.get("/academy").text
    code = re.search(r"certificate-link\">.*?([A-Z2-9]{4}-[A-Z2-9]{4}-[A-Z2-9]{4})", home, re.S)
    assert code is not None
    web.cookies.clear()
    verify = web.get(f"/academy/verify/{code.group(1)}")
    assert verify.status_code == 200 and 'data-testid="verify-valid"' in verify.text
    assert web.get("/academy/verify/AAAA-BBBB-CCCC").status_code == 404


def test_the_quiz_form_is_refused_after_the_deadline(
    web: TestClient, academy: tuple[Session, People]
) -> None:
    s, _ = academy
    csrf = _login(web, "trainee1")
    where = _post(web, "/academy/courses/fees-basics/quiz", csrf)
    attempt = s.scalar(select(Attempt).order_by(Attempt.id.desc()))
    assert attempt is not None
    attempt.deadline_at = attempt.deadline_at - timedelta(hours=1)
    attempt.started_at = attempt.started_at - timedelta(hours=1)
    s.commit()
    _post(web, where, csrf, finish="0", q1="0")
    s.expire_all()
    assert attempt.state == "finished" and attempt.timed_out and attempt.score == 0


def test_trainer_pages_import_edit_and_refuse_trainees(
    web: TestClient, academy: tuple[Session, People]
) -> None:
    csrf = _login(web, "trainee1")
    assert web.get("/academy/teach", headers={"Accept": "text/html"}).status_code == 403
    csrf = _login(web, "trainer")
    where = _post(
        web,
        "/academy/teach/banks",
        csrf,
        bank="extra",
        gift_zh="::E-1::1+1=?{#2}\n\n::E-2::天是蓝的。{T}",
    )
    assert where.startswith("/academy/teach/banks/extra")
    page = web.get("/academy/teach/banks/extra").text
    assert "E-1" in page and "E-2" in page
    bad = _post(web, "/academy/teach/banks", csrf, bank="extra", gift_zh="::E-3::broken{=a")
    assert "kind=error" in bad and "never+closed" in bad
    _post(
        web,
        "/academy/teach/banks/extra/questions/E-2",
        csrf,
        gift_zh="天是绿的。{F}",
        gift_en="The sky is green.{F}",
    )
    assert (
        "v2" in web.get("/academy/teach/banks/extra").text
        or "E-2" in web.get("/academy/teach/banks/extra").text
    )
    gift_text = web.get("/academy/teach/banks/extra/export?fmt=gift&lang=en").text
    assert "::E-2::The sky is green." in gift_text
    stats = web.get("/academy/teach/courses/fees-basics")
    assert stats.status_code == 200 and 'data-testid="item-stats"' in stats.text
    assert web.get("/academy/teach/trainees").status_code == 200


def test_the_desk_include_lists_pending_updates_and_mentors_see_their_mentees(
    web: TestClient, academy: tuple[Session, People]
) -> None:
    from datetime import date

    from kefu.academy import programmes, updates

    s, people = academy
    updates.sync_updates(s, today=date(2023, 9, 1))
    programmes.assign_mentor(
        s, actor=people.trainer, trainee_id=people.trainee.id, mentor_id=people.mentor.id
    )
    s.commit()
    _login(web, "trainee1")
    box = web.get("/academy/updates/mine", headers={"HX-Request": "true"})
    assert box.status_code == 200 and 'data-testid="desk-updates"' in box.text
    assert "Stamp duty" in box.text
    _login(web, "mentor1")
    home = web.get("/academy").text
    assert 'data-testid="mentee-trainee1"' in home
    _login(web, "sup")
    progress = web.get("/academy/teach/trainees").text
    assert "trainee1" in progress and 'data-testid="update-completion"' in progress


def test_the_api_plays_a_role_play_one_reply_at_a_time(
    web: TestClient, academy: tuple[Session, People]
) -> None:
    r = web.post("/api/v1/auth/login", json={"username": "trainee1", "password": "kefu-demo"})
    auth = {"Authorization": f"Bearer {r.json()['token']}"}
    web.cookies.clear()
    assert [p["slug"] for p in web.get("/api/v1/academy/personas", headers=auth).json()] == [
        "deposit-missing"
    ]
    assert (
        web.get("/api/v1/academy/courses", headers=auth).json()[0]["lessons"][0]["slug"]
        == "01-stamp-duty"
    )
    run = web.post(
        "/api/v1/academy/runs", json={"persona": "deposit-missing", "lang": "en"}, headers=auth
    )
    assert run.status_code == 201 and run.json()["customer"].startswith("Where is my money?")
    url = f"/api/v1/academy/runs/{run.json()['id']}"
    first = web.post(f"{url}/replies", json={"text": "Please wait."}, headers=auth).json()
    assert (first["mood"], first["outcome"], first["turn"]) == (3, "in_progress", 1)
    for text in (
        "I understand how worrying this is. Did you send it during trading hours?",
        "Thank you. I will open a trace request now.",
    ):
        last = web.post(f"{url}/replies", json={"text": text}, headers=auth).json()
    assert last["outcome"] == "resolved" and last["debrief"]["passed"] is True
    again = web.post(f"{url}/replies", json={"text": "more"}, headers=auth)
    assert again.status_code == 409 and again.headers["content-type"].startswith(
        "application/problem+json"
    )
    missing = web.post("/api/v1/academy/runs", json={"persona": "nobody"}, headers=auth)
    assert missing.status_code == 404
