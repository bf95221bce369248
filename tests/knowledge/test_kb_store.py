"""The stored knowledge base: sync from content/kb with versions, edits from /admin/kb and the
API (guard-screened, audited, searchable at once), revert, and the help centre pages."""

from __future__ import annotations

import json
import re
from dataclasses import replace

from typer.testing import CliRunner

from kefu.core import audit
from kefu.core.security import User
from kefu.knowledge import service as kb
from kefu.knowledge.cli import kb_app
from kefu.knowledge.content import load_articles
from tests.conftest import login


def test_sync_versions_changed_files_and_keeps_admin_edits(database, seed):
    arts = load_articles()
    with database.session() as s:
        first = kb.sync(s, arts)
    assert sorted(first.created) == sorted(a.slug for a in arts)
    with database.session() as s:
        again = kb.sync(s, arts)
        assert again.created == [] and again.updated == []
        assert len(again.unchanged) == len(arts)

    fees = next(a for a in arts if a.slug == "trading.fees")
    changed = [
        replace(fees, body_en=fees.body_en + "\n\nUpdated wording.") if a is fees else a
        for a in arts
    ]
    with database.session() as s:
        report = kb.sync(s, changed)
        assert report.updated == ["trading.fees"]
        assert kb.get_article(s, "trading.fees").version == 2

    with database.session() as s:
        editor = s.get(User, seed.supervisor)
        kb.update_article(
            s, actor=editor, slug="trading.fees", changes={"title_en": "Fees, edited"}, note="x"
        )
    with database.session() as s:
        kept = kb.sync(s, arts)
        assert kept.kept_admin_edits == ["trading.fees"]
        assert kb.get_article(s, "trading.fees").title_en == "Fees, edited"
        forced = kb.sync(s, arts, force=True)
        assert forced.updated == ["trading.fees"]
        row = kb.get_article(s, "trading.fees")
        assert row.version == 4 and row.origin == "file"
        assert [v.version for v in kb.history(s, "trading.fees")] == [4, 3, 2, 1]
        assert audit.verify(s).ok


def test_api_edit_is_searchable_at_once_and_audited(client, seed, database):
    staff = login(client, "supervisor")
    before = client.get("/api/v1/kb/articles/binary.payout", headers=staff).json()
    r = client.patch(
        "/api/v1/kb/articles/binary.payout",
        json={
            "questions_zh": [*before["questions_zh"], "猫头鹰赔付怎么算"],
            "note": "customers ask with the owl nickname",
        },
        headers=staff,
    )
    assert r.status_code == 200, r.text
    assert r.json()["version"] == before["version"] + 1 and r.json()["origin"] == "admin"
    hits = client.get(
        "/api/v1/kb/search", params={"q": "猫头鹰"}, headers=login(client, "alice")
    ).json()["results"]
    assert hits and hits[0]["slug"] == "binary.payout"
    versions = client.get("/api/v1/kb/articles/binary.payout/versions", headers=staff).json()
    assert versions["versions"][0]["note"] == "customers ask with the owl nickname"
    with database.session() as s:
        entries = [e for e in s.query(audit.AuditEntry) if e.action == "kb.update"]
        assert entries and entries[-1].entity_id == "binary.payout"
        assert entries[-1].actor_id == seed.supervisor


def test_guard_blocked_edit_is_refused_and_changes_nothing(client, seed):
    staff = login(client, "supervisor")
    before = client.get("/api/v1/kb/articles/trading.fees", headers=staff).json()
    r = client.patch(
        "/api/v1/kb/articles/trading.fees",
        json={"body_zh": "买这只股票保证收益，稳赚不赔。", "title_en": "changed"},
        headers=staff,
    )
    assert r.status_code == 422
    detail = r.json()["detail"]
    assert "body_zh" in detail and ("保证收益" in detail or "稳赚不赔" in detail)
    after = client.get("/api/v1/kb/articles/trading.fees", headers=staff).json()
    assert after == before


def test_edit_needs_kb_manage_and_names_bad_fields(client, seed):
    assert (
        client.patch(
            "/api/v1/kb/articles/trading.fees",
            json={"title_en": "x"},
            headers=login(client, "agent1"),
        ).status_code
        == 403
    )
    staff = login(client, "supervisor")
    assert client.patch("/api/v1/kb/articles/no.such", json={}, headers=staff).status_code == 404
    bad = client.patch(
        "/api/v1/kb/articles/trading.fees", json={"category": "stocks"}, headers=staff
    )
    assert bad.status_code == 422 and "category" in bad.json()["detail"]
    empty = client.patch("/api/v1/kb/articles/trading.fees", json={"title_zh": "  "}, headers=staff)
    assert empty.status_code == 422 and "title_zh" in empty.json()["detail"]


def test_revert_restores_text_as_a_new_version(database, seed, client):
    with database.session() as s:
        editor = s.get(User, seed.supervisor)
        original = kb.get_article(s, "trading.t-plus-one").body_en
        kb.update_article(
            s, actor=editor, slug="trading.t-plus-one", changes={"body_en": "Short text."}
        )
    with database.session() as s:
        editor = s.get(User, seed.supervisor)
        row = kb.revert(s, actor=editor, slug="trading.t-plus-one", version=1)
        assert row.body_en == original and row.version == 3


def test_help_centre_renders_markdown_and_never_raw_html(client, seed, database):
    with database.session() as s:
        editor = s.get(User, seed.supervisor)
        kb.update_article(
            s,
            actor=editor,
            slug="service.complaint",
            changes={"body_en": "- step one\n- step two\n\n<script>alert(1)</script>"},
        )
    client.post("/login", data={"username": "bob", "password": "kefu-demo"})
    page = client.get("/help/service.complaint", headers={"Accept": "text/html"})
    assert page.status_code == 200
    assert "<li>step one</li>" in page.text
    assert "<script>alert(1)</script>" not in page.text and "&lt;script&gt;" in page.text
    index = client.get("/help")
    assert index.status_code == 200
    assert len(re.findall(r'href="/help/[a-z.\-]+"', index.text)) >= len(load_articles())
    missing = client.get("/help/no.such", headers={"Accept": "text/html"})
    assert missing.status_code == 404


def test_cli_sync_reports_json(database, monkeypatch):
    from kefu.core.config import get_settings

    monkeypatch.setenv("KEFU_DATABASE_URL", database.url)
    get_settings.cache_clear()
    try:
        first = CliRunner().invoke(kb_app, ["sync", "--json"])
        second = CliRunner().invoke(kb_app, ["sync", "--json"])
    finally:
        get_settings.cache_clear()
    assert first.exit_code == 0, first.output
    assert len(json.loads(first.stdout)["created"]) == len(load_articles())
    assert json.loads(second.stdout)["created"] == []


def test_rule_values_reach_the_api_help_centre_and_search(client, seed):
    """Articles are stored rendered: what customers and agents read carries the registry's
    values, never a {{rule:…}} placeholder."""
    alice = login(client, "alice")
    art = client.get("/api/v1/kb/articles/trading.fees", headers=alice).json()
    assert "0.05%" in art["body_zh"] and "0.001%" in art["body_en"]
    assert "{{" not in art["body_zh"] + art["body_en"] + "".join(art["sources"])
    page = client.get("/help/compliance.aml", headers={"Accept": "text/html"})
    assert "200万元" in page.text and "{{rule" not in page.text
    hits = client.get(
        "/api/v1/kb/search", params={"q": "印花税多少", "top": 3}, headers=alice
    ).json()["results"]
    assert hits[0]["slug"] == "trading.fees" and "{{" not in hits[0]["snippet"]


def test_an_editor_may_write_placeholders_and_an_unknown_rule_is_refused(client, seed):
    staff = login(client, "supervisor")
    r = client.patch(
        "/api/v1/kb/articles/trading.t-plus-one",
        json={"body_en": "Shares bought today can be sold tomorrow. Lot: {{rule:lot_main}}."},
        headers=staff,
    )
    assert r.status_code == 200, r.text
    assert r.json()["body_en"].endswith("Lot: 100 shares.")
    bad = client.patch(
        "/api/v1/kb/articles/trading.t-plus-one",
        json={"body_zh": "印花税{{rule:stamp_tax}}"},
        headers=staff,
    )
    assert bad.status_code == 422
    assert "body_zh" in bad.json()["detail"] and "stamp_tax" in bad.json()["detail"]
