"""Desk rules on a real database: SLA due times and pauses, assignment caps, CSAT, canned."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from kefu.core.errors import Conflict
from kefu.core.security import User
from kefu.desk import service as desk
from kefu.desk.models import AgentProfile, CannedReply, Case, CsatSurvey

SH = "+08:00"


def at(text: str) -> datetime:
    return datetime.fromisoformat(text + SH).astimezone(UTC)


def _user(s, uid):
    return s.get(User, uid)


def test_sla_due_times_follow_the_business_calendar(database, seed):
    with database.session() as s:
        admin = _user(s, seed.admin)
        # Friday 17:30 Shanghai, priority high: 60 business minutes -> Monday 09:30
        case = desk.create_case(
            s,
            actor=admin,
            customer_id=seed.alice,
            subject="提现失败",
            category="funds",
            priority="high",
            created_at=at("2026-11-20T17:30:00"),
            auto_assign=False,
        )
        assert case.first_response_due == at("2026-11-23T09:30:00")
        # resolution 960 min: Fri 17:30-18:00 (30) + Mon 480 + Tue 450 -> Tue 17:30
        assert case.resolution_due == at("2026-11-24T17:30:00")
        assert case.next_due_at == case.first_response_due


def test_sla_skips_the_national_day_holiday(database, seed):
    with database.session() as s:
        admin = _user(s, seed.admin)
        # Wed 30 Sep 17:00 + 240 min: 60 that evening, the break Oct 1-7 and the weekend
        # Oct 3-4 are closed, Oct 8 (Thu) opens at 09:00 -> 09:00 + 180 = 12:00
        case = desk.create_case(
            s,
            actor=admin,
            customer_id=seed.alice,
            subject="节前入金",
            category="funds",
            priority="normal",
            created_at=at("2026-09-30T17:00:00"),
            auto_assign=False,
        )
        assert case.first_response_due == at("2026-10-08T12:00:00")


def test_pending_pauses_the_clock_and_resume_extends_due(database, seed):
    with database.session() as s:
        admin = _user(s, seed.admin)
        agent = _user(s, seed.agent1)
        case = desk.create_case(
            s,
            actor=admin,
            customer_id=seed.alice,
            subject="需要补充材料",
            category="account",
            priority="normal",
            auto_assign=False,
            created_at=at("2026-11-23T09:00:00"),
        )
        due_before = case.resolution_due
        assert due_before == at("2026-11-27T18:00:00")  # 2400 min = five 8-hour days
        # waiting on the customer from Mon 10:00 to Tue 10:00: 8 business hours frozen
        desk.change_status(
            s,
            case=case,
            actor=agent,
            key="pending",
            now=at("2026-11-23T10:00:00"),
        )
        assert case.sla_paused_at is not None and case.next_due_at is None
        desk.change_status(
            s,
            case=case,
            actor=agent,
            key="open",
            now=at("2026-11-24T10:00:00"),
        )
        assert case.sla_paused_at is None
        assert case.resolution_due == at("2026-11-30T18:00:00")  # 8 business hours later


def test_first_agent_reply_meets_first_response(database, seed):
    with database.session() as s:
        alice = _user(s, seed.alice_user)
        case = desk.create_case(
            s,
            actor=alice,
            subject="开户进度",
            category="account",
            body="我的开户审核到哪一步了？",
            auto_assign=False,
        )
        cid = case.id
    with database.session() as s:
        desk.post_message(s, actor=_user(s, seed.agent1), case_id=cid, body="您好，正在为您查询。")
    with database.session() as s:
        case = s.get(Case, cid)
        assert case.first_response_at is not None
        view = desk.sla_view(s, case)
        assert view["first_response"]["state"] == "met"


def _online(s, uid, capacity=3):
    prof = s.get(AgentProfile, uid)
    prof.capacity = capacity
    desk.set_presence(s, actor=_user(s, uid), presence="online")


def test_round_robin_respects_capacity_and_language(database, seed):
    with database.session() as s:
        _online(s, seed.agent1, capacity=2)
        _online(s, seed.agent2, capacity=2)
        admin = _user(s, seed.admin)
        got = []
        for i in range(5):
            c = desk.create_case(
                s,
                actor=admin,
                customer_id=seed.alice,
                subject=f"问题{i}",
                category="trading",
                language="zh",
            )
            got.append(c.assignee_id)
        # alternating, two each, then the fifth waits in the queue
        assert got[:4].count(seed.agent1) == 2 and got[:4].count(seed.agent2) == 2
        assert got[0] != got[1]
        assert got[4] is None
        # an English case goes only to an English-speaking agent (agent1, who is full) -> queue
        en = desk.create_case(
            s,
            actor=admin,
            customer_id=seed.bob,
            subject="Login help",
            category="account",
            language="en",
        )
        assert en.assignee_id is None


def test_offline_agents_get_nothing_and_going_online_pulls_the_queue(database, seed):
    with database.session() as s:
        admin = _user(s, seed.admin)
        c = desk.create_case(
            s, actor=admin, customer_id=seed.alice, subject="App 闪退", category="technical"
        )
        assert c.assignee_id is None  # nobody online
        _online(s, seed.agent2)
        assert c.assignee_id == seed.agent2


def test_resolving_requests_csat_once(database, seed):
    with database.session() as s:
        alice = _user(s, seed.alice_user)
        case = desk.create_case(
            s,
            actor=alice,
            subject="手续费疑问",
            category="trading",
            body="为什么收了 5 元佣金？",
            auto_assign=False,
        )
        cid = case.id
    with database.session() as s:
        desk.update_case(s, actor=_user(s, seed.agent1), case_id=cid, status="resolved")
    with database.session() as s:
        assert s.scalar(select(CsatSurvey).where(CsatSurvey.case_id == cid)) is not None
        kinds = [m.kind for m in s.get(Case, cid).messages]
        assert kinds[-1] == "system"
        desk.submit_csat(s, actor=_user(s, seed.alice_user), case_id=cid, score=5, comment="很快")
    with database.session() as s, pytest.raises(Conflict):
        desk.submit_csat(s, actor=_user(s, seed.alice_user), case_id=cid, score=1)


def test_customer_reply_reopens_a_pending_case(database, seed):
    with database.session() as s:
        alice = _user(s, seed.alice_user)
        cid = desk.create_case(
            s,
            actor=alice,
            subject="资料",
            category="account",
            body="要补什么材料？",
            auto_assign=False,
        ).id
    with database.session() as s:
        desk.update_case(s, actor=_user(s, seed.agent1), case_id=cid, status="pending")
    with database.session() as s:
        desk.post_message(s, actor=_user(s, seed.alice_user), case_id=cid, body="已上传身份证")
    with database.session() as s:
        case = s.get(Case, cid)
        assert case.status.key == "open" and case.sla_paused_at is None


def test_custom_status_maps_to_a_category(database, seed):
    with database.session() as s:
        st = desk.create_status(
            s,
            actor=_user(s, seed.admin),
            key="waiting_bank",
            category="pending",
            name_zh="等待银行",
            name_en="Waiting on bank",
        )
        alice = _user(s, seed.alice_user)
        cid = desk.create_case(
            s, actor=alice, subject="出金", category="funds", body="x", auto_assign=False
        ).id
        case = desk.update_case(s, actor=_user(s, seed.agent1), case_id=cid, status=st.key)
        assert case.status_category == "pending" and case.sla_paused_at is not None


def test_canned_reply_fills_variables(database, seed):
    with database.session() as s:
        s.add(
            CannedReply(
                key="greeting",
                category="general",
                title_zh="问候",
                title_en="Hi",
                body_zh="您好，{customer_name}，我是{agent_name}。工单 {case_ref}。",
                body_en="Hello {customer_name}",
            )
        )
        alice = _user(s, seed.alice_user)
        case = desk.create_case(
            s, actor=alice, subject="x", category="account", body="y", auto_assign=False
        )
        agent = _user(s, seed.agent1)
        text = desk.render_canned(
            s, actor=agent, key="greeting", lang="zh", variables=desk.case_variables(s, case, agent)
        )
        assert text == f"您好，王建国，我是李娜。工单 #{case.id}。"
