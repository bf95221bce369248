"""Personal data in messages and call transcripts is encrypted at rest: the rows hold the text
with ID, card and phone numbers masked, and the words as written are sealed with the key — so a
database dump, a backup or a read replica does not carry them, while the customer still reads
their own words and staff who may reveal read the transcript as taken."""

from __future__ import annotations

import sqlite3
from pathlib import Path

from sqlalchemy import text

from kefu.core.migrate import upgrade
from kefu.core.security import get_crypto
from tests.conftest import login

PHONE = "13812345678"
ID_NUMBER = "11010519491231002X"
CARD = "6222021234567890128"  # passes Luhn


def _dump(database, sql: str, **params: object) -> str:
    """The rows as plain text, every value whole (a Row's repr cuts long values short)."""
    with database.engine.connect() as conn:
        return "\n".join(repr(tuple(row)) for row in conn.execute(text(sql), params))


def test_a_customers_personal_data_is_not_stored_in_clear(client, seed, database):
    alice, agent = login(client, "alice"), login(client, "agent1")
    words = f"我的手机{PHONE}，身份证{ID_NUMBER}，卡号{CARD}，出金没到账"
    r = client.post("/api/v1/chats", headers=alice, json={"body": words})
    assert r.status_code in (200, 201), r.text
    cid = r.json()["case_id"]
    client.post(f"/api/v1/cases/{cid}/messages", headers=alice, json={"body": f"再说一遍 {PHONE}"})

    stored = _dump(database, "SELECT * FROM messages WHERE case_id = :c", c=cid)
    stored += _dump(database, "SELECT * FROM cases WHERE id = :c", c=cid)
    stored += _dump(database, "SELECT * FROM audit_log")
    for value in (PHONE, ID_NUMBER, CARD):
        assert value not in stored
    assert "5678" in stored  # masked, not dropped: staff still see the last digits

    # the customer reads their own words; staff read them masked
    mine = client.get(f"/api/v1/cases/{cid}", headers=alice).json()["messages"]
    assert [m["body"] for m in mine][:2] == [words, f"再说一遍 {PHONE}"]
    seen = client.get(f"/api/v1/cases/{cid}", headers=agent).json()["messages"]
    assert all(PHONE not in m["body"] for m in seen)


def test_a_blocked_reply_is_on_record_with_its_numbers_masked(client, seed, database):
    """The refusal stays on record (guard.block) without the ID and phone number it held, and
    the agent is told why with the number masked."""
    alice, agent = login(client, "alice"), login(client, "agent1")
    cid = client.post(
        "/api/v1/cases", headers=alice, json={"subject": "收益", "category": "trading"}
    ).json()["id"]
    r = client.post(
        f"/api/v1/cases/{cid}/messages",
        headers=agent,
        json={"body": f"保证年化收益20%，稳赚不赔，身份证{ID_NUMBER}，有事打{PHONE}"},
    )
    assert r.status_code == 422 and r.json()["verdict"] == "block", r.text
    assert PHONE not in r.text and ID_NUMBER not in r.text
    logged = _dump(database, "SELECT action, data FROM audit_log WHERE action = 'guard.block'")
    assert "guard.block" in logged and "5678" in logged
    assert PHONE not in logged and ID_NUMBER not in logged


def test_a_call_transcript_is_sealed_and_revealed_only_to_who_may(client, seed, database):
    agent = login(client, "agent1")
    heard = f"客户来电，身份证 {ID_NUMBER}，新手机号 {PHONE}，要求更换绑定手机。"
    r = client.post(
        "/api/v1/cases",
        headers=agent,
        json={
            "customer_id": seed.alice,
            "channel": "phone",
            "category": "account",
            "subject": "来电：修改手机号",
            "transcript": heard,
        },
    )
    assert r.status_code == 201, r.text
    cid = r.json()["id"]
    stored = _dump(database, "SELECT * FROM cases WHERE id = :c", c=cid)
    assert ID_NUMBER not in stored and PHONE not in stored
    # the agent (who may reveal) reads the transcript as taken
    assert client.get(f"/api/v1/cases/{cid}", headers=agent).json()["transcript"] == heard
    # and searching by the masked number's clear digits finds nothing stored in clear
    assert PHONE not in _dump(database, "SELECT search_text FROM cases WHERE id = :c", c=cid)


def test_the_migration_seals_what_was_stored_in_clear(tmp_path: Path):
    url = f"sqlite:///{tmp_path / 'old.db'}"
    upgrade(url, "0008")
    con = sqlite3.connect(tmp_path / "old.db")
    con.execute(
        "INSERT INTO messages (id, case_id, seq, kind, body, redacted, created_at, search_text)"
        " VALUES (1, 1, 1, 'customer', ?, ?, '2026-12-01 08:00:00', '')",
        (f"手机 {PHONE}", "手机 138****5678"),
    )
    con.execute(
        "INSERT INTO messages (id, case_id, seq, kind, body, redacted, created_at, search_text)"
        " VALUES (2, 1, 2, 'customer', '谢谢', '谢谢', '2026-12-01 08:01:00', '')"
    )
    con.commit()
    con.close()
    upgrade(url)
    con = sqlite3.connect(tmp_path / "old.db")
    rows = con.execute("SELECT id, body, sealed FROM messages ORDER BY id").fetchall()
    con.close()
    (_, body, sealed), (_, thanks, none) = rows
    assert body == "手机 138****5678" and PHONE not in sealed
    assert get_crypto().decrypt(sealed) == f"手机 {PHONE}"
    assert thanks == "谢谢" and none is None
