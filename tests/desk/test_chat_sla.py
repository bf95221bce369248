"""Live chat is answered while the customer waits: it has SLA targets of its own (minutes, not a
ticket's hours), and the open queue puts waiting chats before the ticket backlog, however overdue
the backlog is."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select

from kefu.core.security import User
from kefu.desk import service as desk
from kefu.desk.models import BusinessCalendar, Case, SlaPolicy
from kefu.desk.queries import queue

# Tuesday 2026-11-10, 10:00 in Shanghai: inside business hours
TUESDAY_10AM = datetime(2026, 11, 10, 2, 0, tzinfo=UTC)


def _chat_policy(s, minutes: int = 3) -> None:
    cal = s.scalar(select(BusinessCalendar))
    s.add(
        SlaPolicy(
            channel="chat",
            priority="normal",
            first_response_minutes=minutes,
            resolution_minutes=240,
            calendar_id=cal.id,
            near_breach_percent=50,
        )
    )
    s.flush()


def _case(s, seed, channel: str, at: datetime) -> Case:
    agent = s.get(User, seed.agent1)
    return desk.create_case(
        s,
        actor=agent,
        customer_id=seed.alice,
        channel=channel,
        subject="出金没到账",
        category="funds",
        created_at=at,
        auto_assign=False,
    )


def test_a_chat_is_due_in_minutes_and_a_ticket_in_hours(database, seed):
    with database.session() as s:
        _chat_policy(s)
        chat = _case(s, seed, "chat", TUESDAY_10AM)
        ticket = _case(s, seed, "web", TUESDAY_10AM)
        assert chat.first_response_due == TUESDAY_10AM + timedelta(minutes=3)
        # 240 business minutes from 10:00 with the 12:00–13:00 lunch break: 15:00
        assert ticket.first_response_due == TUESDAY_10AM + timedelta(hours=5)


def test_a_channel_without_its_own_policy_falls_back_to_the_default(database, seed):
    with database.session() as s:
        phone = _case(s, seed, "phone", TUESDAY_10AM)
        assert phone.first_response_due == TUESDAY_10AM + timedelta(hours=5)
        chat = _case(s, seed, "chat", TUESDAY_10AM)  # no chat policy in this database
        assert chat.first_response_due == TUESDAY_10AM + timedelta(hours=5)


def test_the_queue_puts_a_waiting_chat_before_an_overdue_ticket(database, seed):
    with database.session() as s:
        _chat_policy(s)
        old = _case(s, seed, "email", TUESDAY_10AM - timedelta(days=7))
        chat = _case(s, seed, "chat", TUESDAY_10AM)
        for c in (old, chat):
            desk.set_case_status(s, actor=s.get(User, seed.agent1), case_id=c.id, status="open")
    with database.session() as s:
        agent = s.get(User, seed.agent1)
        ids = [c.id for c in queue(s, viewer=agent, lang="zh-CN", view="open")]
        assert ids.index(chat.id) < ids.index(old.id)
        # the SLA order alone would have put the week-old ticket first
        by_due = [c.id for c in desk.list_cases(s, viewer=agent, status_category="open")]
        assert by_due.index(old.id) < by_due.index(chat.id)
        assert [c.id for c in queue(s, viewer=agent, lang="zh-CN", view="chats")] == [chat.id]


def test_the_shipped_content_gives_chat_its_own_targets(database):
    from kefu.desk import content

    with database.session() as s:
        assert "chat:normal" in content.sync(s).sla_policies
    with database.session() as s:
        chat, email = desk.policy_for(s, "normal", "chat"), desk.policy_for(s, "normal", "email")
        assert chat is not None and email is not None
        assert (chat.first_response_minutes, email.first_response_minutes) == (3, 240)
        assert content.sync(s).sla_policies == []  # a second sync writes nothing
