"""Every page is served under a strict Content-Security-Policy, and no page needs it loosened:
no inline script, no inline event handler, no inline style, no javascript: URL — in the HTML
as served and in the template sources (which also hold the branches a test page does not reach).
"""

from __future__ import annotations

import re
from html.parser import HTMLParser
from pathlib import Path

import pytest

from kefu.web.app import security_policy, socket_sources
from tests.conftest import login

TEMPLATES = Path(__file__).resolve().parents[2] / "src" / "kefu" / "web" / "templates"
#: attributes whose value is a URL a browser would follow or run
URL_ATTRS = {"href", "src", "action", "formaction", "hx-get", "hx-post", "hx-put", "hx-delete"}


def directives(header: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for part in header.split(";"):
        words = part.split()
        if words:
            out[words[0]] = words[1:]
    return out


class InlineCode(HTMLParser):
    """Collects everything in a page that a strict policy would block or that is script in
    markup: on* handler attributes, hx-on, style attributes and <style> elements, javascript:
    and js: values, and <script> elements that carry code instead of loading a same-origin file
    (a JSON data block is data, not code)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.problems: list[str] = []
        self.scripts: list[str] = []
        self._in_code_script = False

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k.lower(): (v or "") for k, v in attrs}
        for name, value in a.items():
            if name.startswith("on") or name.startswith("hx-on"):
                self.problems.append(f"<{tag} {name}=…> inline handler")
            if name == "style":
                self.problems.append(f"<{tag} style={value!r}> inline style")
            if name in URL_ATTRS and value.strip().lower().startswith(("javascript:", "js:")):
                self.problems.append(f"<{tag} {name}={value!r}>")
            if name in ("hx-vals", "hx-vars") and value.strip().lower().startswith(
                ("javascript:", "js:")
            ):
                self.problems.append(f"<{tag} {name}={value!r}> evaluated by htmx")
        if tag == "style":
            self.problems.append("<style> element")
        if tag == "script":
            if "src" in a:
                self.scripts.append(a["src"])
                if not a["src"].startswith("/static/"):
                    self.problems.append(f"<script src={a['src']!r}> not one of Kefu's files")
            elif a.get("type") != "application/json":
                self._in_code_script = True

    def handle_data(self, data: str) -> None:
        if self._in_code_script and data.strip():
            self.problems.append(f"inline <script>: {data.strip()[:60]!r}")

    def handle_endtag(self, tag: str) -> None:
        if tag == "script":
            self._in_code_script = False


def inline_code(html: str) -> list[str]:
    parser = InlineCode()
    parser.feed(html)
    parser.close()
    return parser.problems


def assert_strict_policy(r, *, framed_by_widget: bool) -> None:
    where = f"{r.request.method} {r.request.url.path}"
    header = r.headers.get("content-security-policy")
    assert header, f"{where}: no Content-Security-Policy"
    d = directives(header)
    assert d["script-src"] == ["'self'"], (where, header)
    assert d["style-src"] == ["'self'"], (where, header)
    assert d["default-src"] == ["'self'"], (where, header)
    assert d["object-src"] == ["'none'"] and d["base-uri"] == ["'none'"], (where, header)
    assert d["form-action"] == ["'self'"], (where, header)
    assert d["img-src"] == ["'self'", "data:"], (where, header)
    assert "'self'" in d["connect-src"] and "ws://testserver" in d["connect-src"], header
    assert not any("unsafe" in v for values in d.values() for v in values), (where, header)
    if framed_by_widget:
        assert d["frame-ancestors"][0] == "'self'", (where, header)
        assert "x-frame-options" not in r.headers
    else:
        assert d["frame-ancestors"] == ["'none'"], (where, header)
        assert r.headers["x-frame-options"] == "DENY"


@pytest.fixture
def pages(client, seed):
    """Each console page and htmx fragment as the user who works with it: (who, path, widget?)."""
    alice, agent = login(client, "alice"), login(client, "agent1")
    case_id = client.post(
        "/api/v1/cases",
        headers=alice,
        json={"subject": "出金咨询", "body": "提现多久能到账？", "category": "funds"},
    ).json()["id"]
    chat = client.post("/api/v1/chats", headers=alice, json={"body": "你好，在吗"})
    assert chat.status_code in (200, 201), chat.text
    slug = client.get("/api/v1/kb/articles", headers=agent).json()["articles"][0]["slug"]
    return (
        case_id,
        slug,
        [
            (None, "/login", True),
            (None, "/widget", True),  # a redirect to the login form, itself a page
            ("alice", "/", True),
            ("alice", "/widget", True),  # the open chat
            ("alice", f"/cases/{case_id}", True),
            ("alice", "/help", True),
            ("alice", f"/help/{slug}", True),
            ("alice", "/portal/kb?q=提现", True),
            ("agent1", "/desk", False),
            ("agent1", f"/desk/cases/{case_id}", False),  # the case with the customer's 360° panel
            ("agent1", f"/desk/cases/{case_id}/kb", False),
            ("agent1", "/desk/queue?view=all", False),
            ("agent1", "/desk/calc?kind=fees&price=10&qty=100&side=buy", False),
            ("agent1", "/desk/calc?kind=fees&price=-1", False),
            ("admin", "/admin", False),
            ("supervisor", "/admin/kb", False),
            ("supervisor", f"/admin/kb/{slug}", False),
            ("agent1", "/no/such/page", False),  # the HTML error page
            (None, "/api/docs", False),  # the API explorer
            (None, "/docs/oauth2-redirect", False),
        ],
    )


def test_every_page_carries_a_strict_policy_and_no_inline_code(client, pages):
    _, _, routes = pages
    tokens = {who: login(client, who) for who in {w for w, _, _ in routes if w}}
    seen = 0
    for who, path, widget in routes:
        headers = {"Accept": "text/html", **(tokens[who] if who else {})}
        client.cookies.clear()  # the bearer token alone says who asks
        r = client.get(path, headers=headers)
        assert r.status_code in (200, 404), (who, path, r.status_code)
        final = ("/login", "/cases/") if path == "/widget" else (path.split("?")[0],)
        assert r.url.path.startswith(final), (who, path, r.url.path)
        assert r.headers["content-type"].startswith("text/html"), (who, path)
        assert_strict_policy(r, framed_by_widget=widget)
        for hop in r.history:  # the redirects on the way carry it too
            assert "content-security-policy" in hop.headers, (who, hop.url)
        assert inline_code(r.text) == [], (who, path)
        seen += 1
    assert seen == len(routes)


def test_the_desk_page_still_says_what_its_controls_do(client, pages):
    """The behaviour moved out of the markup is declared on it: a scan that found nothing
    because the controls were gone would prove nothing."""
    case_id, _, _ = pages
    html = client.get(f"/desk/cases/{case_id}", headers=login(client, "agent1")).text
    assert f'data-api="PATCH /api/v1/cases/{case_id}"' in html
    assert 'data-action="calc-kind"' in html
    assert 'data-api="PUT /api/v1/agents/me/presence"' in html
    assert 'href="/desk/macros"' in html and 'data-action="attach"' in html
    kb = client.get(f"/desk/cases/{case_id}/kb", headers=login(client, "agent1")).text
    assert 'data-action="kb-insert"' in kb and "/candidates" in kb
    scripts = InlineCode()
    scripts.feed(html)
    assert scripts.scripts == [
        "/static/vendor/htmx-2.0.11.min.js",
        "/static/market.js",  # the 360° panel's charts (it fetches ECharts when one is drawn)
        "/static/kefu.js",
        "/static/desk-work.js",  # attachments and the agent's notifications
    ]


@pytest.mark.parametrize(
    "path", sorted(str(p.relative_to(TEMPLATES)) for p in TEMPLATES.rglob("*.html"))
)
def test_no_template_source_holds_inline_code(path):
    """Branches the pages above do not render (another role, an empty list) are covered here."""
    source = (TEMPLATES / path).read_text(encoding="utf-8")
    problems = [
        m.group(0)
        for m in re.finditer(
            r"(?i)\s(?:on[a-z]+|hx-on[:\-a-z]*|style)\s*=|javascript:|<style\b", source
        )
    ]
    code_script = r"(?is)<script\b(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>"
    problems += [m.group(0) for m in re.finditer(code_script, source)]
    assert problems == [], path


def test_the_chat_socket_is_named_in_connect_src_and_a_forged_host_is_not():
    assert socket_sources("kefu.example:8443", "https", False) == "wss://kefu.example:8443"
    assert socket_sources("kefu.example", "http", False) == "wss://kefu.example ws://kefu.example"
    # behind a TLS proxy that forwards plain HTTP, a deployment that claims HTTPS gets wss only
    assert socket_sources("kefu.example", "http", True) == "wss://kefu.example"
    assert socket_sources("[::1]:8000", "http", False).startswith("wss://[::1]:8000")
    for forged in ("evil; script-src *", "a b", "", "x'y", "kefu.example/path"):
        assert socket_sources(forged, "http", False) == ""
    policy = dict(security_policy("/desk", widget_origins="", host="evil; script-src *"))
    d = directives(policy[b"content-security-policy"].decode())
    assert d["script-src"] == ["'self'"] and d["connect-src"] == ["'self'"]


def test_widget_origins_still_decide_who_may_frame_the_customer_pages():
    framed = dict(security_policy("/cases/3", widget_origins="https://www.broker.example"))
    d = directives(framed[b"content-security-policy"].decode())
    assert d["frame-ancestors"] == ["'self'", "https://www.broker.example"]
    assert b"x-frame-options" not in framed
    console = dict(security_policy("/desk", widget_origins="https://www.broker.example"))
    assert directives(console[b"content-security-policy"].decode())["frame-ancestors"] == ["'none'"]
    assert console[b"x-frame-options"] == b"DENY"


def test_the_api_explorer_loads_only_kefus_own_files(client):
    """Swagger UI is vendored: a CDN script would run with the consoles' origin and session."""
    html = client.get("/api/docs").text
    scripts = InlineCode()
    scripts.feed(html)
    assert scripts.scripts == [
        "/static/vendor/swagger-ui-5.36.0/swagger-ui-bundle.js",
        "/static/api-docs.js",
    ]
    assert "http" not in html.split("<body>")[0].split("<title>")[1]  # no remote stylesheet
    for path in (*scripts.scripts, "/static/vendor/swagger-ui-5.36.0/swagger-ui.css"):
        assert client.get(path).status_code == 200, path
    assert 'data-openapi-url="/openapi.json"' in html
