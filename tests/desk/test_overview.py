"""The desk's overview pages: the customer list finds a customer by a whole phone number and
shows it masked, the profile lists their cases; the supervisor's live view shows who is online
with what load, the chats waiting for an agent with their wait, the cases breached now, and a
reassignment from there lands on record."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from kefu.core import audit
from kefu.core.db import utcnow
from kefu.core.errors import Forbidden
from kefu.core.security import User
from kefu.desk import overview
from kefu.desk import service as desk
from tests.conftest import login


def test_customer_list_and_profile(client, database, seed):
    with database.session() as s:
        agent = s.get(User, seed.agent1)
        cid = desk.create_case(
            s, actor=agent, customer_id=seed.alice, channel="phone", subject="改预留手机号",
            category="account", auto_assign=False,
        ).id  # fmt: skip
    token = login(client, "agent1")["Authorization"].split()[1]
    client.cookies.clear()
    client.cookies.set("kefu_session", token)
    page = client.get("/desk/customers", params={"q": "138 1234 5678"}).text
    assert "王建国" in page and "鲍勃" not in page
    assert "13812345678" not in page and "5678" in page  # masked, never in clear
    assert f'href="/desk/customers/{seed.alice}"' in page
    profile = client.get(f"/desk/customers/{seed.alice}").text
    assert f'href="/desk/cases/{cid}"' in profile and "改预留手机号" in profile
    assert "A310000001" in profile  # the 360 view: the trading account
    assert client.get("/desk/customers", params={"q": "nobody-like-this"}).status_code == 200
    client.cookies.clear()


def test_live_view_shows_load_waits_and_breaches_and_reassigns_on_record(database, seed):
    now = utcnow()
    with database.session() as s:
        alice, agent = s.get(User, seed.alice_user), s.get(User, seed.agent1)
        desk.set_presence(s, actor=agent, presence="online")
        chat = desk.create_case(
            s, actor=alice, channel="chat", subject="在线咨询", category="funds",
            body="在吗？", auto_assign=False, created_at=now - timedelta(minutes=3),
        )  # fmt: skip
        old = desk.create_case(
            s, actor=agent, customer_id=seed.bob, channel="web", subject="old ticket",
            category="trading", priority="urgent", auto_assign=False,
            created_at=now - timedelta(days=10),
        )  # fmt: skip
        chat_id, old_id = chat.id, old.id
    with database.session() as s:
        sup = s.get(User, seed.supervisor)
        board = overview.live_view(s, viewer=sup, lang="zh", now=now)
        (w,) = board["waiting"]
        assert (w["id"], w["customer"]) == (chat_id, "王建国")
        assert 179 <= w["wait_seconds"] <= 181
        assert old_id in [b["id"] for b in board["breached"]]
        assert chat_id not in [b["id"] for b in board["breached"]]
        first = board["agents"][0]
        assert (first["name"], first["presence"]) == ("李娜", "online")
        with pytest.raises(Forbidden):
            overview.live_view(s, viewer=s.get(User, seed.agent1), lang="zh")
        desk.update_case(s, actor=sup, case_id=chat_id, assignee_id=seed.agent2)
    with database.session() as s:
        board = overview.live_view(s, viewer=s.get(User, seed.supervisor), lang="zh")
        assert board["waiting"] == []
        assert next(a for a in board["agents"] if a["user_id"] == seed.agent2)["open_cases"] == 1
        entry = s.scalars(
            select(audit.AuditEntry).where(
                audit.AuditEntry.action == "case.assign",
                audit.AuditEntry.entity_id == str(chat_id),
            )
        ).one()
        assert entry.actor_id == seed.supervisor
