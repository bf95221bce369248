"""The other consoles speak words, not codes: compliance (guard, audit, reveals, suitability,
AML alerts and cases), quality, the academy (trainee and trainer), the market tools and the
desk's customer list and profile, team queue and live view, rendered from the demo in Chinese
and English for each role that opens them, show no stored code value and no money with four
decimals (the same check as tests/desk/test_ui_words.py, whose helpers it uses)."""

from __future__ import annotations

import re

import pytest
from fastapi.testclient import TestClient

from tests.conftest import PG_URL
from tests.desk.test_ui_words import FOUR_DECIMALS, _as, demo_app, raw_codes

__all__ = ["demo_app"]  # the module-scoped demo fixture, built once for this module

pytestmark = pytest.mark.skipif(bool(PG_URL), reason="renders pages only; SQLite is enough")


def _first(client: TestClient, path: str, pattern: str) -> str | None:
    m = re.search(pattern, client.get(path).text)
    return m.group(1) if m else None


def _pages(client: TestClient) -> dict[str, list[str]]:
    """The console pages each role opens, by login; ids are taken from the listing pages."""
    _as(client, "compliance")
    aml_case = _first(client, "/compliance/cases", r'href="/compliance/cases/(\d+)"')
    compliance = [
        "/compliance",
        "/compliance/alerts",
        "/compliance/cases",
        "/compliance/guard",
        "/compliance/guard?kind=warn",
        "/compliance/audit",
        "/compliance/reveals",
        "/compliance/suitability",
        "/quality",
        "/quality/complaints",
        "/academy",
        "/desk/customers",
        "/desk/customers/1",
        "/desk/customers/1/suitability",
        "/desk/market/chart?symbol=600519",
        "/desk/teams",
    ]
    if aml_case:
        compliance.append(f"/compliance/cases/{aml_case}")

    _as(client, "supervisor")
    quality = client.get("/quality").text
    q_agent = re.search(r'href="/quality/agents/(\d+)"', quality)
    if q_agent:
        quality += client.get(f"/quality/agents/{q_agent.group(1)}").text
    quality += client.get("/quality/complaints").text
    q_case = re.search(r'href="/quality/cases/(\d+)"', quality)
    q_cal = re.search(r'href="/quality/calibrations/(\d+)"', quality)
    supervisor = [
        "/quality",
        "/quality/complaints",
        "/desk/live",
        "/desk/teams",
        "/desk/customers",
        "/desk/customers/1",
        "/desk/market/chart?symbol=600519",
        "/desk/market/corrections",
        "/academy/teach/trainees",
    ]
    supervisor += [f"/quality/cases/{q_case.group(1)}"] if q_case else []
    supervisor += [f"/quality/agents/{q_agent.group(1)}"] if q_agent else []
    supervisor += [f"/quality/calibrations/{q_cal.group(1)}"] if q_cal else []

    _as(client, "trainee1")
    academy = client.get("/academy").text
    course = re.search(r'href="/academy/courses/([\w-]+)"', academy)
    trainee = ["/academy", "/desk/teams", "/desk/customers/1"]
    if course:
        trainee.append(f"/academy/courses/{course.group(1)}")
        lesson = _first(
            client,
            f"/academy/courses/{course.group(1)}",
            rf'href="/academy/courses/{course.group(1)}/lessons/([\w-]+)"',
        )
        if lesson:
            trainee.append(f"/academy/courses/{course.group(1)}/lessons/{lesson}")

    _as(client, "trainer")
    teach = client.get("/academy/teach").text
    bank = re.search(r'href="/academy/teach/banks/([\w-]+)"', teach)
    t_course = re.search(r'href="/academy/teach/courses/([\w-]+)"', teach)
    trainer = [
        "/academy",
        "/academy/teach",
        "/academy/teach/trainees",
        "/desk/customers/1",
        "/desk/market/chart?symbol=600519",
    ]
    trainer += [f"/academy/teach/banks/{bank.group(1)}"] if bank else []
    trainer += [f"/academy/teach/courses/{t_course.group(1)}"] if t_course else []

    return {
        "compliance": compliance,
        "supervisor": supervisor,
        "trainee1": trainee,
        "trainer": trainer,
        "agent1": ["/desk/customers", "/desk/customers/1", "/desk/teams", "/academy"],
        "admin": ["/compliance", "/compliance/audit", "/quality", "/desk/live", "/academy/teach"],
    }


def test_every_console_page_is_found(demo_app: TestClient) -> None:
    pages = _pages(demo_app)
    # the demo has AML cases, QA evaluations, courses, lessons, banks and courses to teach
    assert any(p.startswith("/compliance/cases/") for p in pages["compliance"])
    assert any(p.startswith("/quality/cases/") for p in pages["supervisor"])
    assert any("/lessons/" in p for p in pages["trainee1"])
    assert any(p.startswith("/academy/teach/banks/") for p in pages["trainer"])


@pytest.mark.parametrize("lang", ["zh-CN", "en"])
def test_console_pages_show_no_raw_code_and_no_four_decimal_money(
    demo_app: TestClient, lang: str
) -> None:
    found: list[str] = []
    for user, paths in _pages(demo_app).items():
        _as(demo_app, user)
        for path in paths:
            r = demo_app.get(f"{path}{'&' if '?' in path else '?'}lang={lang}")
            if r.status_code != 200:
                found.append(f"{user} {path} ({lang}): status {r.status_code}")
                continue
            text, raw = raw_codes(r.text)
            if raw:
                found.append(f"{user} {path} ({lang}): raw codes {sorted(raw)}")
            money = FOUR_DECIMALS.findall(text)
            if money:
                found.append(f"{user} {path} ({lang}): four-decimal money {money[:3]}")
    assert found == [], "\n".join(found)
