"""The consoles speak words, not codes: the staff and customer pages of the demo, rendered in
Chinese and English, show no stored code value (verified, a_share, buy, deposit, completed,
role codes, weekday codes …) and no money with four decimals; admin flashes and the desk's
calculator speak the page's language."""

from __future__ import annotations

import re
import shutil
from collections.abc import Iterator
from html.parser import HTMLParser

import pytest
from fastapi.testclient import TestClient

from kefu.core.config import get_settings
from kefu.core.db import Database
from tests.conftest import PG_URL, demo_password_hash

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="renders pages only; SQLite is enough")

#: code values stored in the data that once reached the pages as they are
RAW_CODES = {
    "verified",
    "pending",
    "a_share",
    "margin",
    "binary_option",
    "active",
    "frozen",
    "buy",
    "sell",
    "up",
    "down",
    "filled",
    "rejected",
    "win",
    "loss",
    "tie",
    "deposit",
    "withdrawal",
    "completed",
    "failed",
    "customer",
    "agent",
    "supervisor",
    "compliance",
    "trainer",
    "admin",
    "trainee",
    "inactive",
    "mon",
    "tue",
    "wed",
    "thu",
    "fri",
    "sat",
    "sun",
    "debt",
    "safe",
    "warning",
    "call",
}
FOUR_DECIMALS = re.compile(r"(?<![\d.])\d{3,}\.\d{4}(?!\d)")


class _Text(HTMLParser):
    """The text a person sees, node by node: no tags, no script or style, no attribute values,
    nothing marked ``translate="no"`` (user names, slugs, keys: identifiers, not words)."""

    def __init__(self) -> None:
        super().__init__()
        self.nodes: list[str] = []
        self._stack: list[tuple[str, bool]] = []

    def _hidden(self) -> bool:
        return any(skip for _, skip in self._stack)

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in VOID:
            return
        skip = tag in ("script", "style", "template") or ("translate", "no") in attrs
        self._stack.append((tag, skip))

    def handle_endtag(self, tag: str) -> None:
        for i in range(len(self._stack) - 1, -1, -1):
            if self._stack[i][0] == tag:
                del self._stack[i:]
                break

    def handle_data(self, data: str) -> None:
        if not self._hidden() and data.strip():
            self.nodes.append(data.strip())


VOID = {"area", "br", "col", "embed", "hr", "img", "input", "link", "meta", "source", "wbr"}


def raw_codes(html: str) -> tuple[str, set[str]]:
    """The page's visible text, and the code values it shows as they are stored: a text node
    whose every Latin word is a known code ("sell 100@12.3", "verified", "mon 09:00-12:00"),
    so English prose that happens to use such a word ("settled as a loss") does not count."""
    p = _Text()
    p.feed(html)
    found: set[str] = set()
    for node in p.nodes:
        words = set(re.findall(r"[A-Za-z_]+", node))
        if words and words <= RAW_CODES:
            found |= words
    return " ".join(p.nodes), found


@pytest.fixture(scope="module")
def demo_app(tmp_path_factory: pytest.TempPathFactory, _template: str) -> Iterator[TestClient]:
    """The demo data behind `make run`, loaded once for the module (every login shares one
    password hash, as in tests/conftest.py)."""
    import kefu.demo as demo
    from kefu.web.app import create_app

    path = tmp_path_factory.mktemp("words") / "kefu.db"
    shutil.copy(_template, path)
    database = Database(f"sqlite:///{path}")
    mp = pytest.MonkeyPatch()
    mp.setattr(demo, "hash_password", lambda _password: demo_password_hash())
    try:
        with database.session() as db:
            demo.load_demo(db, get_settings().content_dir / "demo")
    finally:
        mp.undo()
    with TestClient(create_app(database)) as c:
        yield c
    database.engine.dispose()


def _as(client: TestClient, username: str) -> TestClient:
    client.cookies.clear()
    r = client.post("/login", data={"username": username, "password": "kefu-demo"})
    assert r.status_code in (200, 303), r.text
    return client


def _pages(client: TestClient) -> dict[str, list[str]]:
    """The pages each role opens, by login."""
    _as(client, "customer1")
    portal = client.get("/").text
    case_ids = sorted(set(re.findall(r'href="/cases/(\d+)"', portal)))
    assert case_ids, "customer1 has cases in the demo"
    return {
        "agent1": ["/desk", f"/desk/cases/{case_ids[0]}", "/desk/customers", "/desk/customers/1"],
        "admin": ["/admin", "/admin/kb"],
        "customer1": ["/", f"/cases/{case_ids[0]}", "/portal/suitability", "/help"],
    }


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_pages_show_no_raw_code_and_no_four_decimal_money(demo_app: TestClient, lang: str) -> None:
    found: list[str] = []
    for user, paths in _pages(demo_app).items():
        _as(demo_app, user)
        for path in paths:
            r = demo_app.get(path, params={"lang": lang})
            assert r.status_code == 200, (user, path, r.status_code)
            text, raw = raw_codes(r.text)
            if raw:
                found.append(f"{user} {path} ({lang}): raw codes {sorted(raw)}")
            money = FOUR_DECIMALS.findall(text)
            if money:
                found.append(f"{user} {path} ({lang}): four-decimal money {money[:3]}")
    assert found == [], "\n".join(found)


def test_money_has_thousands_separators_and_two_decimals(demo_app: TestClient) -> None:
    _as(demo_app, "agent1")
    text, _ = raw_codes(demo_app.get("/desk/customers/1").text)
    # customer1's A-share account holds 297,499.07 yuan after the demo's transfers
    assert re.search(r"CNY \d{1,3}(,\d{3})+\.\d{2}\b", text), text[:2000]


def test_admin_flashes_speak_the_page_language(demo_app: TestClient) -> None:
    _as(demo_app, "admin")
    admin = demo_app.get("/admin")
    csrf = re.search(r'name="csrf" value="([^"]+)"', admin.text)
    assert csrf
    cal = re.search(r'action="/admin/calendars/(\d+)/days"', admin.text)
    assert cal
    r = demo_app.post(
        f"/admin/calendars/{cal.group(1)}/days",
        data={"day": "2027-01-01", "kind": "holiday", "csrf": csrf.group(1)},
        follow_redirects=True,
    )
    assert "2027-01-01 已设为节假日" in r.text
    r = demo_app.post(
        f"/admin/calendars/{cal.group(1)}/days?lang=en",
        data={"day": "2027-01-01", "kind": "remove", "csrf": csrf.group(1)},
        follow_redirects=True,
    )
    assert "2027-01-01 is an ordinary day again" in r.text


@pytest.mark.parametrize(
    ("query", "lang", "shown"),
    [
        # the percentage fields take what their placeholder shows: 6.5 is 6.5 %, 85 is 85 %
        (
            "kind=margin-interest&amount=100000&annual_rate=6.5&days=10&basis=360",
            "zh-CN",
            'data-result="interest">180.56<',
        ),
        (
            "kind=binary-payout&stake=100&payout_rate=85&outcome=win",
            "zh-CN",
            'data-result="returned">185.00<',
        ),
        # the maintenance ratio is labelled as itself, in percent, with a status in words
        (
            "kind=maintenance-ratio&cash=100&securities_value=20000&debt=10000",
            "zh-CN",
            "<td>维持担保比例</td>",
        ),
        (
            "kind=maintenance-ratio&cash=100&securities_value=20000&debt=10000",
            "zh-CN",
            'data-result="status">安全<',
        ),
        # the explanation is a sentence in the agent's language, not "main ±10% on …"
        (
            "kind=price-limit&prev_close=10&board=main&date=2026-11-24",
            "zh-CN",
            "主板的涨跌幅限制为前收盘价的 ±10%（按 2026-11-24 适用的规则）。",
        ),
        (
            "kind=price-limit&prev_close=10&board=main&date=2026-11-24",
            "en",
            "Main board: the daily price limit is ±10% of the previous close",
        ),
        # a refusal names the field and says what is wrong in the agent's language
        ("kind=fees&price=abc&qty=100&side=sell", "zh-CN", "成交价: &#34;abc&#34; 不是数字"),
        ("kind=fees&price=abc&qty=100&side=sell", "en", "is not a number"),
    ],
)
def test_calculator_panel(demo_app: TestClient, query: str, lang: str, shown: str) -> None:
    _as(demo_app, "agent1")
    r = demo_app.get(f"/desk/calc?{query}&lang={lang}")
    assert r.status_code == 200
    assert shown in r.text, r.text
    assert "涨跌幅比例" not in r.text and "main ±" not in r.text
