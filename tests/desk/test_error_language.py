"""A refusal speaks the language of the request: the desk's validation and hand-over errors are
looked up by key, so a zh user reads them in Chinese (the console sends the page's language),
an English page reads English, and an API client that names no language keeps the API's
English ``detail`` (or, where the server knows who acts, that person's language)."""

from __future__ import annotations

from tests.conftest import login

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def _chat(client, who) -> int:
    r = client.post("/api/v1/chats", headers=who, json={"body": "你好，想问一下融资利率"})
    assert r.status_code == 201, r.text
    return int(r.json()["case_id"])


def test_a_bad_tag_name_is_refused_in_the_language_of_the_request(client, seed) -> None:
    alice, agent1 = login(client, "alice"), login(client, "agent1")
    client.cookies.clear()
    cid = _chat(client, alice)
    url = f"/api/v1/cases/{cid}/tags"
    bad = {"add": ["no spaces allowed"]}

    zh = client.post(url, headers=agent1 | ZH, json=bad)
    assert zh.status_code == 422
    assert zh.json()["detail"] == (
        "添加标签：标签 'no spaces allowed' 不可用："
        "只能由 1–32 个字母、数字、“-”、“_”或“.”组成，不能有空格"
    )
    # the failing field stays machine-readable whatever the language
    assert zh.json()["errors"][0]["field"] == "add"

    for headers in (agent1 | EN, agent1):  # English asked for, or no language named
        en = client.post(url, headers=headers, json=bad)
        assert en.status_code == 422
        assert en.json()["detail"] == (
            "add: tag 'no spaces allowed': 1–32 letters, digits, '-', '_' or '.', no spaces"
        )
    # nothing was written
    assert client.get(f"/api/v1/cases/{cid}", headers=agent1).json()["tags"] == []


def test_a_hand_over_to_an_offline_agent_asks_in_the_language_of_the_request(client, seed) -> None:
    alice, agent1 = login(client, "alice"), login(client, "agent1")
    client.cookies.clear()
    cid = _chat(client, alice)
    url = f"/api/v1/cases/{cid}/handover"
    body = {"to_user_id": seed.agent2}

    zh = client.post(url, headers=agent1 | ZH, json=body)
    assert zh.status_code == 409 and zh.json()["needs_confirm"] is True
    assert "不在线" in zh.json()["detail"] and "仍要转交吗" in zh.json()["detail"]
    assert "not online" not in zh.json()["detail"]

    en = client.post(url, headers=agent1 | EN, json=body)
    assert en.status_code == 409 and en.json()["reason"] == "offline"
    assert "is not online" in en.json()["detail"] and "Hand over anyway?" in en.json()["detail"]
    assert "不在线" not in en.json()["detail"]


def test_the_console_page_language_cookie_decides_too(client, seed) -> None:
    """A browser that chose English on the language switch (the cookie) reads English, even
    though the user's stored language is Chinese."""
    alice, agent1 = login(client, "alice"), login(client, "agent1")
    client.cookies.clear()
    cid = _chat(client, alice)
    client.cookies.set("kefu_lang", "en")
    try:
        r = client.post(
            f"/api/v1/cases/{cid}/handover", headers=agent1, json={"to_user_id": seed.agent2}
        )
    finally:
        client.cookies.clear()
    assert r.status_code == 409 and "is not online" in r.json()["detail"]


def _cookie_login(client, username: str) -> str:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": "kefu-demo"})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    client.cookies.set("kefu_session", r.json()["token"])
    return str(r.json()["csrf_token"])


def test_an_admin_refusal_reads_wholly_in_the_page_language(client, seed) -> None:
    from urllib.parse import parse_qs, urlsplit

    csrf = _cookie_login(client, "admin")
    form = {"username": "newagent", "role": "agent", "password": "short", "csrf": csrf}

    def flash(lang: str) -> str:
        r = client.post(f"/admin/users?lang={lang}", data=form, follow_redirects=False)
        assert r.status_code == 303
        query = parse_qs(urlsplit(r.headers["location"]).query)
        assert query["kind"] == ["error"]
        return query["flash"][0]

    # the lead-in and what is wrong, both in Chinese; in English for an English page
    assert flash("zh-CN") == "未保存：密码：至少 8 个字符"
    assert flash("en") == "Not saved: password: at least 8 characters"
    client.cookies.clear()


def test_a_refused_chat_message_reads_in_the_senders_language(client, seed) -> None:
    alice = login(client, "alice")
    client.cookies.clear()
    cid = _chat(client, alice)
    token = alice["Authorization"][7:]

    def refusal(headers: dict[str, str]) -> str:
        with client.websocket_connect("/ws", headers=headers) as ws:
            ws.send_json({"type": "auth", "token": token})
            ws.send_json({"type": "send", "case_id": cid, "body": "你好\x01", "key": "c1"})
            for _ in range(20):
                f = ws.receive_json()
                if f["type"] == "error":
                    return str(f["detail"])
        raise AssertionError("no error frame")

    # alice works in Chinese; the language switch (cookie) of her page can make it English
    assert refusal({}) == "消息内容：含有控制字符 U+0001"
    assert refusal({"cookie": "kefu_lang=en"}) == "body: contains control character U+0001"
