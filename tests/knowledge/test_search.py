"""Knowledge search: colloquial, traditional, English and mixed questions find the article;
CLI and API give the same answers. (Questions written apart from the articles' own lists.)"""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kefu.knowledge.articles import ArticleError, parse_article
from kefu.knowledge.cli import kb_app
from kefu.knowledge.content import default_index
from tests.conftest import login

CASES = [
    ("提现多久能到", "funds.withdrawal-time"),
    ("出金没到账咋回事", "funds.withdrawal-time"),
    ("涨停是啥", "trading.price-limit"),
    ("ST股涨跌幅", "trading.price-limit"),
    ("今天买的股票卖不掉", "trading.t-plus-one"),
    ("印花税多少", "trading.fees"),
    ("两融利息咋算", "trading.margin-interest"),
    ("密码忘了", "account.password-reset"),
    ("赔付率80%啥意思", "binary.payout"),
    ("我要投訴", "service.complaint"),
    ("I forgot my password", "account.password-reset"),
    ("how much is stamp duty", "trading.fees"),
    ("withdrawal not arrived", "funds.withdrawal-time"),
    ("payout 80%", "binary.payout"),
    ("margin 利息", "trading.margin-interest"),
]


@pytest.mark.parametrize(("question", "slug"), CASES)
def test_question_finds_its_article_first(question, slug):
    hits = default_index().search(question, top=3)
    assert hits and hits[0].slug == slug, [(h.slug, h.score) for h in hits]


def test_nothing_searchable_returns_no_results():
    assert default_index().search("？？？") == []


def test_malformed_article_names_file_and_field():
    with pytest.raises(ArticleError, match=r"x\.md: missing field .questions."):
        parse_article("---\nslug: x\ncategory: a\ntitle: {zh: t}\n---\n", "x.md")


@pytest.fixture
def cli_db(database, monkeypatch):
    """The CLI reads the test database (never a kefu.db in the working directory)."""
    from kefu.core.config import get_settings

    monkeypatch.setenv("KEFU_DATABASE_URL", database.url)
    get_settings.cache_clear()
    yield database
    get_settings.cache_clear()


def test_cli_and_api_agree(client, seed, cli_db):
    r = CliRunner().invoke(kb_app, ["ask", "印花税多少", "--json"])
    cli = json.loads(r.stdout)["results"]
    api = client.get(
        "/api/v1/kb/search", params={"q": "印花税多少", "top": 3}, headers=login(client, "alice")
    ).json()["results"]
    assert cli[0]["slug"] == api[0]["slug"] == "trading.fees"


def test_cli_jsonl_answers_each_line(tmp_path, cli_db):
    src = tmp_path / "q.jsonl"
    src.write_text('{"q": "密码忘了"}\nnot json\n{"q": "payout 80%"}\n', encoding="utf-8")
    r = CliRunner().invoke(kb_app, ["ask", "--jsonl", str(src)])
    lines = [json.loads(x) for x in r.stdout.strip().splitlines()]
    assert r.exit_code == 1 and lines[1]["line"] == 2
    assert lines[0]["results"][0]["slug"] == "account.password-reset"
    assert lines[2]["results"][0]["slug"] == "binary.payout"


def test_export_writes_both_languages(cli_db):
    r = CliRunner().invoke(kb_app, ["export"])
    rows = [json.loads(x) for x in r.stdout.strip().splitlines()]
    assert {row["lang"] for row in rows} == {"zh", "en"}
    assert len(rows) == 2 * len(default_index().articles)
