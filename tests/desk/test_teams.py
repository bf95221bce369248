"""Teams and escalation: the content sync creates the five teams and keeps their edits; an agent
escalates a case to a team with an internal note; the team's OLA is counted on its business
calendar; the team asks and answers in an internal thread, on record, and the case's agent is
notified; the customer is told which team checks and by when, never the note; only the team's
members answer for it, and read-only roles stay read-only."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime

import pytest
from sqlalchemy import select

from kefu.core.audit import AuditEntry
from kefu.core.errors import Conflict, Forbidden, ValidationFailed
from kefu.core.events import Event, get_broker, set_broker
from kefu.core.security import User
from kefu.desk import content as desk_content
from kefu.desk import escalation_reads, escalations, teams
from kefu.desk import service as desk
from kefu.desk.teams_models import Team
from tests.conftest import make_user

#: Monday 7 December 2026, 10:00 in Shanghai: the calendar opens 09:00–12:00 and 13:00–18:00
MONDAY_10 = datetime(2026, 12, 7, 2, 0, tzinfo=UTC)


class Recorder:
    def __init__(self) -> None:
        self.published: list[tuple[str, Event]] = []

    def publish(self, topic: str, event: Event) -> None:
        self.published.append((topic, event))

    def subscribe(self, topics: list[str]) -> AsyncIterator[Event]:  # pragma: no cover
        raise NotImplementedError

    def alerts(self, user_id: int) -> list[Event]:
        return [e for t, e in self.published if t == f"user:{user_id}" and e["type"] == "alert"]


@pytest.fixture
def recorder() -> AsyncIterator[Recorder]:
    rec, old = Recorder(), get_broker()
    set_broker(rec)
    try:
        yield rec  # type: ignore[misc]
    finally:
        set_broker(old)


@pytest.fixture
def world(database, seed):
    """The content's teams, agent2 and a compliance officer in their teams, and alice's case
    assigned to agent1."""
    with database.session() as s:
        desk_content.sync(s)
        trainee = make_user(s, "trainee", "agent", is_trainee=True)
        ids = {t.code: t.id for t in s.scalars(select(Team))}
        teams.add_member(s, actor=None, team_id=ids["funds_ops"], user_id=seed.agent2)
        teams.add_member(s, actor=None, team_id=ids["compliance"], user_id=seed.compliance)
        case = desk.create_case(
            s, actor=s.get(User, seed.agent1), customer_id=seed.alice, channel="web",
            subject="入金未到账", category="funds", auto_assign=False,
            body="我 12 月 6 日转入的 5 万元还没到账",
        )  # fmt: skip
        desk.assign_case(s, actor=s.get(User, seed.supervisor), case=case, to=seed.agent1)
        return {"teams": ids, "case_id": case.id, "trainee": trainee}


def _users(s, *ids: int) -> list[User]:
    return [s.get(User, i) for i in ids]


def test_content_sync_creates_the_five_teams_once_and_keeps_their_edits(database, seed):
    with database.session() as s:
        report = desk_content.sync(s)
        assert report.teams == [
            "front_line",
            "funds_ops",
            "tech_support",
            "compliance",
            "back_office",
        ]
        funds = s.scalar(select(Team).where(Team.code == "funds_ops"))
        assert (funds.name_zh, funds.name_en, funds.ola_minutes) == (
            "资金清算部门",
            "Funds operations",
            240,
        )
        teams.update_team(
            s,
            actor=s.get(User, seed.admin),
            team_id=funds.id,
            name_zh="资金运营部",
            ola_minutes=120,
        )
        with pytest.raises(Forbidden):
            teams.update_team(s, actor=s.get(User, seed.agent1), team_id=funds.id, ola_minutes=1)
        with pytest.raises(ValidationFailed, match="calendar"):
            teams.update_team(s, actor=s.get(User, seed.admin), team_id=funds.id, calendar="nope")
    with database.session() as s:
        again = desk_content.sync(s)
        assert again.teams == []
        funds = s.scalar(select(Team).where(Team.code == "funds_ops"))
        assert (funds.name_zh, funds.ola_minutes) == ("资金运营部", 120)
        created = s.scalars(select(AuditEntry.action).where(AuditEntry.entity == "team"))
        assert sorted(set(created)) == ["team.create", "team.update"]


def test_escalation_round_trip_on_record_with_notifications(database, seed, world, recorder):
    cid, funds = world["case_id"], world["teams"]["funds_ops"]
    note = "客户王建国（手机 13812345678）12 月 6 日入金 5 万元未到账，请核查银行流水"
    with database.session() as s:
        agent1, agent2 = _users(s, seed.agent1, seed.agent2)
        esc = escalations.escalate_case(
            s, actor=agent1, case_id=cid, team_id=funds, note=note, now=MONDAY_10
        )
        eid = esc.id
        # 240 business minutes from Monday 10:00: 10–12 and 13–15 → 15:00 in Shanghai
        assert esc.ola_due_at == datetime(2026, 12, 7, 7, 0, tzinfo=UTC)
        # the case keeps its agent
        assert desk.visible_case(s, viewer=agent1, case_id=cid).assignee_id == seed.agent1
    # the team's members hear of it once it is committed
    assert [a["event"] for a in recorder.alerts(seed.agent2)] == ["opened"]
    with database.session() as s:
        agent1 = s.get(User, seed.agent1)
        with pytest.raises(Conflict, match="already"):
            escalations.escalate_case(s, actor=agent1, case_id=cid, team_id=funds, note="再看看")
    with database.session() as s:
        agent1, agent2 = _users(s, seed.agent1, seed.agent2)
        # personal data in the note is masked for the team; the author reads their own words
        (theirs,) = escalation_reads.case_escalations(s, viewer=agent2, case_id=cid, lang="zh-CN")
        assert "13812345678" not in theirs["note"] and "入金 5 万元未到账" in theirs["note"]
        (mine,) = escalation_reads.case_escalations(s, viewer=agent1, case_id=cid, lang="zh-CN")
        assert mine["note"] == note
        assert (theirs["may_answer"], mine["may_answer"]) == (True, False)
        # the team asks; the owner hears of it
        escalations.post_escalation_message(
            s, actor=agent2, escalation_id=eid, body="请提供银行回单的流水号"
        )
        escalations.post_escalation_message(
            s, actor=agent1, escalation_id=eid, body="流水号 20261206-0042"
        )
        # an agent outside the team cannot answer as the team
        with pytest.raises(Forbidden, match="members of Funds operations"):
            escalations.answer_escalation(s, actor=agent1, escalation_id=eid, body="已到账")
        escalations.answer_escalation(
            s,
            actor=agent2,
            escalation_id=eid,
            body="款项已于今日 14:20 入账，银行延迟清算所致",
            now=datetime(2026, 12, 7, 6, 30, tzinfo=UTC),
        )
    assert [a["event"] for a in recorder.alerts(seed.agent1)] == ["team_message", "answered"]
    answered = recorder.alerts(seed.agent1)[-1]
    assert (answered["kind"], answered["case_id"], answered["team"]) == (
        "escalation",
        cid,
        "funds_ops",
    )
    with database.session() as s:
        agent1 = s.get(User, seed.agent1)
        row = escalation_reads.escalation_detail(s, viewer=agent1, escalation_id=eid, lang="zh-CN")
        assert (row["status"], row["ola"]["state"], row["answered_by"]) == (
            "answered",
            "met",
            "张伟",
        )
        assert [(m["side"], m["kind"]) for m in row["messages"]] == [
            ("team", "message"), ("agent", "message"), ("team", "answer"),
        ]  # fmt: skip
        escalations.close_escalation(s, actor=agent1, escalation_id=eid)
        actions = list(
            s.scalars(
                select(AuditEntry.action)
                .where(AuditEntry.entity == "case", AuditEntry.entity_id == str(cid))
                .where(AuditEntry.action.like("escalation.%"))
                .order_by(AuditEntry.id)
            )
        )
        assert actions == [
            "escalation.open", "escalation.message", "escalation.message",
            "escalation.answer", "escalation.close",
        ]  # fmt: skip


def test_the_customer_sees_the_team_and_time_never_the_note_or_thread(database, seed, world):
    cid, funds = world["case_id"], world["teams"]["funds_ops"]
    with database.session() as s:
        agent1, alice = _users(s, seed.agent1, seed.alice_user)
        esc = escalations.escalate_case(
            s, actor=agent1, case_id=cid, team_id=funds, note="内部：疑似银行退票", now=MONDAY_10
        )
        escalations.post_escalation_message(
            s, actor=s.get(User, seed.agent2), escalation_id=esc.id, body="内部：退票原因待查"
        )
        (zh,) = escalation_reads.customer_status(
            s, viewer=alice, case_id=cid, lang="zh-CN", now=MONDAY_10
        )
        assert zh["text"] == "已转交资金清算部门核查，预计今天 15:00 前回复"
        (en,) = escalation_reads.customer_status(
            s, viewer=alice, case_id=cid, lang="en", now=MONDAY_10
        )
        assert (
            en["text"] == "Passed to Funds operations for checking; expect a reply by today 15:00"
        )
        # seen the evening before, the same answer is due "tomorrow"
        sunday = datetime(2026, 12, 6, 12, 0, tzinfo=UTC)
        (early,) = escalation_reads.customer_status(
            s, viewer=alice, case_id=cid, lang="zh-CN", now=sunday
        )
        assert early["text"] == "已转交资金清算部门核查，预计明天 15:00 前回复"
        # past the target, no time is promised
        late = datetime(2026, 12, 7, 9, 0, tzinfo=UTC)
        (over,) = escalation_reads.customer_status(
            s, viewer=alice, case_id=cid, lang="zh-CN", now=late
        )
        assert (
            over["text"] == "已转交资金清算部门核查，我们会尽快回复您"
            and over["expected_by"] is None
        )
        # the escalation is internal: the customer reaches neither it nor its words
        with pytest.raises(Forbidden):
            escalation_reads.case_escalations(s, viewer=alice, case_id=cid, lang="zh-CN")
        words = " ".join(
            m.body
            for m in desk.visible_messages(
                s, viewer=alice, case=desk.visible_case(s, viewer=alice, case_id=cid)
            )
        )
        assert "内部" not in words
        # once the team has answered, the status goes away (the agent replies to the customer)
        escalations.answer_escalation(
            s, actor=s.get(User, seed.agent2), escalation_id=esc.id, body="已入账"
        )
        assert escalation_reads.customer_status(s, viewer=alice, case_id=cid, lang="zh-CN") == []


def test_read_only_roles_and_outsiders_stay_out_of_the_thread(database, seed, world):
    cid, t = world["case_id"], world["teams"]
    with database.session() as s:
        agent1, compliance = _users(s, seed.agent1, seed.compliance)
        trainee = s.get(User, world["trainee"])
        # compliance reads cases but does not escalate them
        with pytest.raises(Forbidden):
            escalations.escalate_case(
                s, actor=compliance, case_id=cid, team_id=t["funds_ops"], note="x"
            )
        to_funds = escalations.escalate_case(
            s, actor=agent1, case_id=cid, team_id=t["funds_ops"], note="查流水"
        )
        to_compliance = escalations.escalate_case(
            s, actor=agent1, case_id=cid, team_id=t["compliance"], note="客户要求把钱转给第三方账户"
        )
        # a compliance officer outside funds operations reads the thread but may not write in it
        row = escalation_reads.escalation_detail(
            s, viewer=compliance, escalation_id=to_funds.id, lang="en"
        )
        assert (row["may_write"], row["may_answer"]) == (False, False)
        with pytest.raises(Forbidden):
            escalations.post_escalation_message(
                s, actor=compliance, escalation_id=to_funds.id, body="?"
            )
        # … and answers for the compliance team they belong to
        escalations.answer_escalation(
            s, actor=compliance, escalation_id=to_compliance.id, body="不得向第三方账户出金"
        )
        # a trainee who is neither the case's agent nor in the team neither writes nor answers
        for act in (escalations.post_escalation_message, escalations.answer_escalation):
            with pytest.raises(Forbidden):
                act(s, actor=trainee, escalation_id=to_funds.id, body="我来回答")
        # a team queue lists its own work in OLA order; an outsider's "my teams" queue is empty
        agent2 = s.get(User, seed.agent2)
        assert [e["id"] for e in escalation_reads.team_queue(s, viewer=agent2, lang="zh-CN")] == [
            to_funds.id
        ]
        assert escalation_reads.team_queue(s, viewer=trainee, lang="zh-CN") == []
        with pytest.raises(ValidationFailed, match="team_id"):
            escalations.escalate_case(s, actor=agent1, case_id=cid, team_id=10**6, note="x")


def test_supervisors_see_escalations_by_team_with_their_breaches(database, seed, world):
    cid, t = world["case_id"], world["teams"]
    with database.session() as s:
        agent1, sup = _users(s, seed.agent1, seed.supervisor)
        escalations.escalate_case(
            s, actor=agent1, case_id=cid, team_id=t["funds_ops"], note="查流水", now=MONDAY_10
        )
        tech = escalations.escalate_case(
            s, actor=agent1, case_id=cid, team_id=t["tech_support"], note="App 闪退", now=MONDAY_10
        )
        # Tuesday noon: funds operations (due Monday 15:00) is past its target, tech (480
        # minutes: due Tuesday 10:00) too; tech answered late
        tuesday_noon = datetime(2026, 12, 8, 4, 0, tzinfo=UTC)
        escalations.answer_escalation(
            s, actor=sup, escalation_id=tech.id, body="已修复", now=tuesday_noon
        )
        rows = {
            r["code"]: r
            for r in escalation_reads.escalation_summary(
                s, viewer=sup, lang="zh-CN", now=tuesday_noon
            )
        }
        assert (rows["funds_ops"]["open"], rows["funds_ops"]["overdue"]) == (1, 1)
        assert [b["case_id"] for b in rows["funds_ops"]["breaches"]] == [cid]
        assert (rows["tech_support"]["answered"], rows["tech_support"]["answered_late"]) == (1, 1)
        assert rows["compliance"]["open"] == 0
        with pytest.raises(Forbidden):
            escalation_reads.escalation_summary(s, viewer=agent1, lang="zh-CN")


def test_escalating_an_unassigned_case_makes_the_escalating_agent_its_owner(database, seed, world):
    with database.session() as s:
        agent1 = s.get(User, seed.agent1)
        case = desk.create_case(
            s, actor=agent1, customer_id=seed.alice, channel="web", subject="App 闪退",
            category="technical", auto_assign=False, body="打开行情就闪退",
        )  # fmt: skip
        assert case.assignee_id is None
        escalations.escalate_case(
            s, actor=agent1, case_id=case.id, team_id=world["teams"]["tech_support"], note="iOS 18"
        )
        assert (case.assignee_id, case.status_category) == (seed.agent1, "open")
