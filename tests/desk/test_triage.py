"""Intent routing of new cases: a customer who does not pick a category lands in the queue
that handles their question, and every case records the article that answers it."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kefu.core import audit
from kefu.core.security import User
from kefu.desk import chat, triage
from kefu.desk import service as desk
from kefu.desk.models import CATEGORIES
from kefu.knowledge import service as kb
from kefu.knowledge.content import load_articles
from kefu.knowledge.evaluation import load_questions
from tests.conftest import login
from tests.knowledge import HOLDOUT_DIR


@pytest.fixture
def loaded(database, seed):
    with database.session() as s:
        kb.sync(s, load_articles())
    return seed


@pytest.mark.parametrize(
    ("message", "category", "intent"),
    [
        ("我昨天转出去的钱到现在银行卡还没收到", "funds", "funds.withdrawal-time"),
        ("你们客服态度太差了，我要投诉", "complaint", "service.complaint"),
        ("手机App一打开就闪退", "technical", "tech.app-crash"),
        ("My withdrawal still hasn't reached my bank", "funds", "funds.withdrawal-time"),
    ],
)
def test_a_chat_without_a_category_is_routed_from_its_first_message(
    database, loaded, message, category, intent
):
    with database.session() as s:
        alice = s.get(User, loaded.alice_user)
        case = chat.start_chat(s, actor=alice, body=message)
        assert (case.category, case.intent) == (category, intent)
        entry = s.scalars(
            select(audit.AuditEntry).where(
                audit.AuditEntry.action == "case.create",
                audit.AuditEntry.entity_id == str(case.id),
            )
        ).one()
        assert entry.data["category_source"] == "routing"
        assert entry.data["intent"] == intent


def test_a_chosen_category_is_kept_and_the_intent_still_recorded(database, loaded):
    with database.session() as s:
        agent = s.get(User, loaded.agent1)
        case = desk.create_case(
            s,
            actor=agent,
            customer_id=loaded.alice,
            subject="客户来电：撤单撤不掉",
            category="technical",
            channel="phone",
        )
        assert case.category == "technical"
        assert case.intent == "trading.cancel-order"


def test_api_chat_without_category_answers_with_the_routed_case(client, loaded):
    h = login(client, "alice")
    r = client.post("/api/v1/chats", json={"body": "融资的利息是怎么算的"}, headers=h)
    assert r.status_code == 201, r.text
    case = client.get(f"/api/v1/cases/{r.json()['case_id']}", headers=h).json()
    assert case["category"] == "trading"
    assert case["intent"] == "trading.margin-interest"
    bad = client.post("/api/v1/chats", json={"body": "x", "category": "stocks"}, headers=h)
    assert bad.status_code == 422 and "category" in bad.text


def test_routing_model_places_held_out_questions_in_the_right_queue(database, loaded):
    """The held-out questions (never used to write or tune the content) mapped to the queue
    of their article: the routing model must place most of them where they belong."""
    articles = {a.slug: a for a in load_articles()}
    questions = load_questions(HOLDOUT_DIR.glob("*.yaml"))
    with database.session() as s:
        routed = [triage.route(s, q.q, categories=CATEGORIES).category for q in questions]
    expected = [triage.case_category_of(articles[q.slug]) for q in questions]
    accuracy = sum(a == b for a, b in zip(routed, expected, strict=True)) / len(questions)
    assert accuracy >= 0.85, accuracy


def test_a_topic_no_article_covers_gets_no_intent_rather_than_a_wrong_one(database, loaded):
    with database.session() as s:
        routed = triage.route(s, "请问哪里可以下载上个月的交割单", categories=CATEGORIES)
        assert routed.intent == ""  # the best hit (on 下载) shares almost nothing else
        assert routed.category in CATEGORIES


def test_route_endpoint_tells_a_gateway_where_a_message_goes(client, loaded):
    staff = login(client, "agent1")
    r = client.post("/api/v1/kb/route", json={"text": "App 一打开就闪退"}, headers=staff)
    assert r.status_code == 200, r.text
    assert r.json()["category"] == "technical" and r.json()["intent"] == "tech.app-crash"
    assert client.post("/api/v1/kb/route", json={"text": ""}, headers=staff).status_code == 422
    client.cookies.clear()
    customer = login(client, "alice")
    assert client.post("/api/v1/kb/route", json={"text": "x"}, headers=customer).status_code == 403


def test_a_team_model_with_its_own_labels_still_routes_to_a_desk_queue(
    database, loaded, tmp_path, monkeypatch
):
    """KEFU_INTENT_MODEL with labels that are not desk categories: the queue comes from the
    article that answers the message."""
    from kefu.core.config import get_settings
    from kefu.knowledge.intent import IntentModel

    texts = ["card declined at the shop", "my card does not work", "send money abroad", "wire fee"]
    model = IntentModel.train(texts, ["cards", "cards", "transfers", "transfers"])
    path = tmp_path / "team.model"
    model.save(path)
    monkeypatch.setenv("KEFU_INTENT_MODEL", str(path))
    monkeypatch.setattr(triage, "_model", [])
    get_settings.cache_clear()
    try:
        with database.session() as s:
            routed = triage.route(s, "提现一直没到账怎么回事", categories=CATEGORIES)
        assert routed.intent.startswith("funds.") and routed.category == "funds"
        assert triage.routing_model().labels == ["cards", "transfers"]
    finally:
        get_settings.cache_clear()


def test_an_unusable_team_model_falls_back_and_cases_are_still_filed(
    database, loaded, tmp_path, monkeypatch, caplog
):
    from kefu.core.config import get_settings

    bad = tmp_path / "not-a-model.pkl"
    bad.write_bytes(b"\x80\x04K\x01.")  # a pickle, but not a Kefu model
    monkeypatch.setenv("KEFU_INTENT_MODEL", str(bad))
    monkeypatch.setattr(triage, "_model", [])
    get_settings.cache_clear()
    try:
        with database.session() as s:
            alice = s.get(User, loaded.alice_user)
            case = chat.start_chat(s, actor=alice, body="提现一直没到账")
            assert case.category == "funds"
        assert "not usable" in caplog.text
    finally:
        get_settings.cache_clear()


def test_cli_predict_answers_as_the_desk_routes():
    import json

    from typer.testing import CliRunner

    from kefu.desk.cli import intent_app

    r = CliRunner().invoke(intent_app, ["predict", "My withdrawal still hasn't arrived", "--json"])
    assert r.exit_code == 0, r.output
    out = json.loads(r.stdout.strip().splitlines()[-1])
    assert out["category"] == "funds" and out["intent"] == "funds.withdrawal-time"
