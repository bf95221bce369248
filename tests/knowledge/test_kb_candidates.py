"""The editors' loop: a customer's words that an agent answered with an article become a
candidate question; an editor adds it (a new version, searchable at once) or dismisses it."""

from __future__ import annotations

from tests.conftest import login

# a phrasing no article holds yet (checked below: it does not find the article before)
WORDS = "股东户头里的余额怎么弄回工资卡"


def _chat(client, text: str) -> int:
    r = client.post("/api/v1/chats", json={"body": text}, headers=login(client, "alice"))
    assert r.status_code == 201, r.text
    return int(r.json()["case_id"])


def _top(client, q: str) -> str:
    hits = client.get("/api/v1/kb/search", params={"q": q}, headers=login(client, "alice"))
    return hits.json()["results"][0]["slug"] if hits.json()["results"] else ""


def test_inserted_suggestion_becomes_a_question_that_finds_the_article(client, seed):
    assert _top(client, WORDS) != "funds.withdrawal-time"
    agent = login(client, "agent1")
    for _ in range(2):  # the same words twice count up, they do not duplicate
        case_id = _chat(client, WORDS)
        r = client.post(
            "/api/v1/kb/articles/funds.withdrawal-time/candidates",
            json={"case_id": case_id},
            headers=agent,
        )
        assert r.status_code == 200 and r.json()["recorded"], r.text
    editor = login(client, "supervisor")
    listed = client.get(
        "/api/v1/kb/articles/funds.withdrawal-time/candidates", headers=editor
    ).json()["candidates"]
    assert [(c["text"], c["seen"], c["lang"]) for c in listed] == [(WORDS, 2, "zh")]
    r = client.post(
        f"/api/v1/kb/articles/funds.withdrawal-time/candidates/{listed[0]['id']}",
        json={"accept": True},
        headers=editor,
    )
    assert r.status_code == 200, r.text
    assert WORDS in r.json()["article"]["questions_zh"]
    assert _top(client, WORDS) == "funds.withdrawal-time"
    again = client.post(
        f"/api/v1/kb/articles/funds.withdrawal-time/candidates/{listed[0]['id']}",
        json={"accept": True},
        headers=editor,
    )
    assert again.status_code == 422 and "already added" in again.json()["detail"]


def test_candidates_keep_personal_data_masked_and_respect_roles(client, seed):
    case_id = _chat(client, "我的手机13812345678收不到验证码")
    agent = login(client, "agent1")
    r = client.post(
        "/api/v1/kb/articles/account.sms-code/candidates", json={"case_id": case_id}, headers=agent
    )
    assert r.status_code == 200
    assert "13812345678" not in r.json()["candidate"]["text"]
    # customers cannot propose; agents cannot decide; another customer's case is not found
    alice = login(client, "alice")
    denied = client.post(
        "/api/v1/kb/articles/account.sms-code/candidates", json={"case_id": case_id}, headers=alice
    )
    assert denied.status_code in (403, 404)
    cid = r.json()["candidate"]["id"]
    no = client.post(
        f"/api/v1/kb/articles/account.sms-code/candidates/{cid}",
        json={"accept": False},
        headers=agent,
    )
    assert no.status_code == 403
    dismissed = client.post(
        f"/api/v1/kb/articles/account.sms-code/candidates/{cid}",
        json={"accept": False},
        headers=login(client, "supervisor"),
    )
    assert dismissed.json()["candidate"]["status"] == "dismissed"
    assert "13812345678" not in str(dismissed.json()["article"]["questions_zh"])
    missing = client.post(
        "/api/v1/kb/articles/no.such/candidates", json={"case_id": case_id}, headers=agent
    )
    assert missing.status_code == 404


def test_long_messages_are_not_questions(client, seed):
    case_id = _chat(client, "我想问一下" * 40)
    r = client.post(
        "/api/v1/kb/articles/account.open/candidates",
        json={"case_id": case_id},
        headers=login(client, "agent1"),
    )
    assert r.status_code == 200 and r.json() == {"recorded": False, "candidate": None}
