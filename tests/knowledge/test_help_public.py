"""The help centre is public, asks "was this helpful?" (one answer per visitor and article,
capped per hour) and shows the editors the answers; an article offers the calculators it talks
about; a KB save refused by the guard keeps the editor's text and says why in their language;
an unknown page keeps the console's layout."""

from __future__ import annotations

import html
import re
from collections.abc import Iterator

import pytest
from fastapi.testclient import TestClient

from kefu.core.db import Database
from kefu.knowledge import feedback

SLUG = "trading.price-limit"


@pytest.fixture
def app(database: Database, seed: object) -> Iterator[TestClient]:
    from kefu.web.app import create_app

    with TestClient(create_app(database), follow_redirects=False) as c:
        yield c


def _login(client: TestClient, username: str) -> str:
    client.cookies.clear()
    r = client.post("/login", data={"username": username, "password": "kefu-demo"})
    assert r.status_code == 303, r.text
    page = client.get("/help").text
    found = re.search(r'name="csrf" value="([^"]+)"', page)
    assert found
    return found.group(1)


def _visitor(page: str) -> str:
    found = re.search(r'name="visitor" value="([^"]+)"', page)
    assert found, "the anonymous form carries the visitor cookie back"
    return found.group(1)


def _counts(client: TestClient) -> str:
    _login(client, "admin")
    page = client.get("/admin/kb").text
    cell = re.search(rf'data-testid="feedback-{re.escape(SLUG)}">(.*?)</td>', page, re.S)
    assert cell
    return re.sub(r"<[^>]+>", "", cell.group(1)).strip()


def test_help_is_public_and_feedback_is_one_answer_per_visitor(app: TestClient) -> None:
    app.cookies.clear()
    home = app.get("/help")
    assert home.status_code == 200 and f'href="/help/{SLUG}"' in home.text
    assert app.get("/portal/kb", params={"q": "涨停"}).status_code == 200
    page = app.get(f"/help/{SLUG}")
    assert page.status_code == 200 and 'data-testid="help-feedback"' in page.text
    visitor = _visitor(page.text)
    r = app.post(f"/help/{SLUG}/feedback", data={"helpful": "yes", "visitor": visitor})
    assert r.status_code == 303 and r.headers["location"].endswith("?voted=yes#feedback")
    assert 'data-testid="feedback-thanks"' in app.get(r.headers["location"].split("#")[0]).text
    # the same visitor answering again changes the answer, never adds one
    app.post(f"/help/{SLUG}/feedback", data={"helpful": "yes", "visitor": visitor})
    app.post(f"/help/{SLUG}/feedback", data={"helpful": "no", "visitor": visitor})
    # a second browser is a second visitor
    app.cookies.clear()
    other = _visitor(app.get(f"/help/{SLUG}").text)
    assert other != visitor
    app.post(f"/help/{SLUG}/feedback", data={"helpful": "yes", "visitor": other})
    # a logged-in customer answers as themselves (the session's CSRF token, no cookie)
    csrf = _login(app, "alice")
    r = app.post(f"/help/{SLUG}/feedback", data={"helpful": "yes", "csrf": csrf})
    assert r.status_code == 303
    assert _counts(app) == "👍 2 · 👎 1"


def test_an_answer_without_the_visitor_cookie_is_refused(app: TestClient) -> None:
    app.cookies.clear()
    visitor = _visitor(app.get(f"/help/{SLUG}").text)
    app.cookies.clear()  # another site's form: it cannot send the cookie's value
    r = app.post(f"/help/{SLUG}/feedback", data={"helpful": "yes", "visitor": visitor})
    assert r.status_code == 422
    assert _counts(app) == "—"


def test_answers_are_capped_per_visitor_and_hour(
    app: TestClient, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(feedback, "HOURLY_LIMIT", 2)
    app.cookies.clear()
    visitor = _visitor(app.get(f"/help/{SLUG}").text)
    for slug in (SLUG, "trading.hours"):
        r = app.post(f"/help/{slug}/feedback", data={"helpful": "yes", "visitor": visitor})
        assert r.status_code == 303
    r = app.post("/help/funds.fees/feedback", data={"helpful": "yes", "visitor": visitor})
    assert r.status_code == 429


def test_an_article_offers_the_calculators_it_talks_about(app: TestClient) -> None:
    app.cookies.clear()
    page = app.get(f"/help/{SLUG}").text
    assert 'data-testid="help-calc-price-limit"' in page
    assert "help-calc-fees" not in page
    assert 'data-testid="help-calc-fees"' in app.get("/help/funds.fees").text
    r = app.get("/help/calc", params={"kind": "price-limit", "prev_close": "10", "board": "main"})
    assert r.status_code == 200 and 'data-result="upper">11.00<' in r.text
    r = app.get("/help/calc", params={"kind": "price-limit", "prev_close": "x", "lang": "en"})
    assert "is not a number" in r.text


@pytest.mark.parametrize(
    ("lang", "said"),
    [
        ("zh-CN", "未保存：中文正文中的“保证收益”被合规检查拦截。"),
        ("en", "Not saved: the compliance check blocks “保证收益” in the Chinese body."),
    ],
)
def test_a_kb_save_refused_by_the_guard_keeps_the_text(
    app: TestClient, lang: str, said: str
) -> None:
    csrf = _login(app, "admin")
    page = app.get(f"/admin/kb/{SLUG}").text
    form = {
        name: html.unescape(value)
        for name, value in re.findall(r'<input name="(\w+)" value="([^"]*)"', page)
    }
    form |= {
        name: html.unescape(value)
        for name, value in re.findall(r'<textarea name="(\w+)"[^>]*>(.*?)</textarea>', page, re.S)
    }
    form["category"] = "trading"
    draft = "我的修改：这只股票保证收益。\n第二段草稿，不能丢。"
    form |= {"body_zh": draft, "csrf": csrf, "note": "草稿说明"}
    r = app.post(f"/admin/kb/{SLUG}?lang={lang}", data=form)
    assert r.status_code == 422
    assert said in html.unescape(r.text)
    assert html.escape(draft, quote=False) in r.text, "the editor's text is kept"
    assert 'value="草稿说明"' in r.text
    # nothing was stored
    assert "第二段草稿" not in app.get(f"/help/{SLUG}").text


def test_an_unknown_page_keeps_the_console_layout(app: TestClient) -> None:
    _login(app, "agent1")
    r = app.get("/desk/no-such-page", headers={"Accept": "text/html"})
    assert r.status_code == 404
    assert 'href="/desk"' in r.text and 'data-testid="nav-help"' in r.text  # the navigation
    assert "页面不存在" in r.text and "not-found" not in r.text.split("<main", 1)[1]
    app.cookies.clear()
    r = app.get("/no-such-page?lang=en", headers={"Accept": "text/html"})
    assert r.status_code == 404 and "Page not found" in r.text
