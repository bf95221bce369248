"""KEFU_CONTENT_DIR: a team's own copy of content/ (one guard rule, one article, one SLA target
changed) is what `kefu content sync` loads and what the guard screens with; syncing again
changes nothing."""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from sqlalchemy import func, select
from typer.testing import CliRunner

from kefu.core import audit
from kefu.core.config import REPO_ROOT, get_settings
from kefu.core.db import Database

NEW_WORDS = "月月翻三倍包您满意"  # no shipped rule blocks it
NEW_TITLE = "Share trading fees — our own wording"


@pytest.fixture
def team_content(tmp_path: Path, database: Database, monkeypatch) -> Iterator[Path]:
    """A copy of content/ with one guard rule, one article and one SLA policy changed, set as
    KEFU_CONTENT_DIR (and the test database as KEFU_DATABASE_URL)."""
    folder = tmp_path / "content"
    shutil.copytree(REPO_ROOT / "content", folder)
    guard = folder / "policies" / "guard.yaml"
    policy = yaml.safe_load(guard.read_text(encoding="utf-8"))
    policy["rules"].append(
        {
            "id": "promise.team_phrase",
            "category": "promise",
            "terms": {"zh": [NEW_WORDS]},
            "explanation": {"zh": "团队自定义的承诺收益说法。", "en": "A team's own promise."},
            "examples_match": [NEW_WORDS],
            "examples_pass": ["我们无法保证收益"],
        }
    )
    guard.write_text(yaml.safe_dump(policy, allow_unicode=True), encoding="utf-8")
    article = folder / "kb" / "trading.fees.md"
    text = article.read_text(encoding="utf-8")
    article.write_text(
        text.replace(
            "en: Share trading fees (commission, transfer fee, stamp duty)", f"en: {NEW_TITLE}"
        ),
        encoding="utf-8",
    )
    sla = folder / "policies" / "sla.yaml"
    sla.write_text(
        sla.read_text(encoding="utf-8").replace(
            "{priority: urgent, first_response_minutes: 15,",
            "{priority: urgent, first_response_minutes: 7,",
        ),
        encoding="utf-8",
    )
    monkeypatch.setenv("KEFU_CONTENT_DIR", str(folder))
    monkeypatch.setenv("KEFU_DATABASE_URL", database.engine.url.render_as_string(False))
    get_settings.cache_clear()
    try:
        yield folder
    finally:
        get_settings.cache_clear()


def _sync(*args: str) -> dict:
    from kefu.cli import app

    r = CliRunner().invoke(app, ["content", "sync", "--json", *args])
    assert r.exit_code == 0, r.output
    return json.loads(r.stdout.strip().splitlines()[-1])


def test_the_guard_screens_with_the_configured_policy(team_content):
    from kefu.cli import app
    from kefu.compliance.service import screen_text

    assert screen_text(NEW_WORDS, "agent")["verdict"] == "block"
    r = CliRunner().invoke(app, ["screen", NEW_WORDS, "--json"])
    assert r.exit_code == 3, r.output  # blocked
    assert json.loads(r.stdout)["findings"][0]["rule"] == "promise.team_phrase"


def test_the_shipped_policy_does_not_block_the_team_phrase():
    from kefu.compliance.service import screen_text

    assert get_settings().content_dir == REPO_ROOT / "content"
    assert screen_text(NEW_WORDS, "agent")["verdict"] != "block"


def test_content_sync_loads_the_configured_folder_and_twice_changes_nothing(team_content, database):
    from kefu.desk.models import CannedReply, SlaPolicy
    from kefu.knowledge import service as knowledge

    shipped = yaml.safe_load((REPO_ROOT / "content/policies/guard.yaml").read_text("utf-8"))
    # phrase rules and compositional rules are both rules of the compiled guard
    shipped_rules = len(shipped["rules"]) + len(shipped.get("compositions") or [])
    first = _sync()
    assert first["compliance"]["guard_rules"] == shipped_rules + 1
    assert "trading.fees" in first["knowledge"]["created"]
    assert "urgent" in first["desk"]["sla_policies"] and first["desk"]["canned_replies"]
    assert "funds_ops" in first["desk"]["teams"]
    with database.session() as s:
        assert knowledge.get_article(s, "trading.fees").title_en == NEW_TITLE
        urgent = s.scalars(
            select(SlaPolicy).where(SlaPolicy.priority == "urgent", SlaPolicy.channel == "any")
        ).one()
        assert urgent.first_response_minutes == 7
        canned = s.scalar(select(func.count(CannedReply.id)))
        entries = s.scalar(select(func.count(audit.AuditEntry.id)))

    second = _sync()
    assert second["knowledge"]["created"] == second["knowledge"]["updated"] == []
    assert second["desk"] == {
        "statuses": [],
        "calendars": [],
        "sla_policies": [],
        "canned_replies": [],
        "teams": [],
    }
    with database.session() as s:
        assert s.scalar(select(func.count(CannedReply.id))) == canned
        assert s.scalar(select(func.count(audit.AuditEntry.id))) == entries  # nothing written
        assert audit.verify(s).ok


def test_a_changed_article_file_is_a_new_version_on_the_next_sync(team_content, database):
    from kefu.knowledge import service as knowledge

    _sync()
    article = team_content / "kb" / "trading.fees.md"
    article.write_text(
        article.read_text(encoding="utf-8").replace(NEW_TITLE, "Fees, once more"),
        encoding="utf-8",
    )
    assert _sync()["knowledge"]["updated"] == ["trading.fees"]
    with database.session() as s:
        row = knowledge.get_article(s, "trading.fees")
        assert (row.title_en, row.version) == ("Fees, once more", 2)


def test_a_broken_guard_policy_stops_content_sync(team_content):
    from kefu.cli import app

    (team_content / "policies" / "guard.yaml").write_text("just: text\n", encoding="utf-8")
    r = CliRunner().invoke(app, ["content", "sync"])
    assert r.exit_code == 2 and "not a guard policy" in r.output


def test_kb_sync_and_kb_eval_read_the_configured_folder(team_content):
    from kefu.knowledge.cli import kb_app

    r = CliRunner().invoke(kb_app, ["sync", "--json"])
    assert r.exit_code == 0, r.output
    assert "trading.fees" in json.loads(r.stdout)["created"]
    (team_content / "kb-eval" / "more.yaml").unlink()
    (team_content / "kb-eval" / "core.yaml").write_text(
        '- {q: "印花税是多少", slug: trading.fees, kind: colloquial}\n', encoding="utf-8"
    )
    r = CliRunner().invoke(kb_app, ["eval", "--json"])
    assert r.exit_code == 0, r.output
    assert json.loads(r.stdout)["n"] == 1
