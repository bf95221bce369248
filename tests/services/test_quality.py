"""Quality on a real database: every finished case is scored in the transaction that finishes
it (on record, announced after commit), backfill, a supervisor's override with its reason,
calibration with kappa and each reviewer's distance from the grader."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from sqlalchemy import select

from kefu.core.audit import AuditEntry
from kefu.core.errors import Forbidden, ValidationFailed
from kefu.core.events import Event, get_broker, set_broker
from kefu.core.security import User
from kefu.desk import lifecycle
from kefu.desk import service as desk
from kefu.quality import service as quality
from kefu.quality.models import Evaluation
from tests import dbshare
from tests.conftest import make_user

# every test starts from the same seed: the database, the seed and the app are built once for
# the module and each test runs in a transaction rolled back when it ends (tests/dbshare.py)
_module, database, seed, client = dbshare.seeded_module_fixtures()


class Recorder:
    def __init__(self) -> None:
        self.published: list[tuple[str, Event]] = []

    def publish(self, topic: str, event: Event) -> None:
        self.published.append((topic, event))

    def subscribe(self, topics: list[str]) -> AsyncIterator[Event]:  # pragma: no cover
        raise NotImplementedError


def _chat(s, seed) -> int:  # type: ignore[no-untyped-def]
    alice = s.get(User, seed.alice_user)
    agent = s.get(User, seed.agent1)
    case = desk.create_case(
        s,
        actor=alice,
        subject="提现未到账",
        category="funds",
        body="我的提现还没到账，很着急。",
        channel="chat",
        auto_assign=False,
    )
    desk.assign_case(s, actor=s.get(User, seed.supervisor), case=case, to=agent.id)
    desk.post_message(
        s,
        actor=agent,
        case_id=case.id,
        body="您好，我是客服李娜。理解您的心情，请问您最近是否更换过银行卡？",
    )
    desk.post_message(s, actor=alice, case_id=case.id, body="换过。")
    desk.post_message(
        s,
        actor=agent,
        case_id=case.id,
        body="资金已退回证券账户，绑定新卡后即可重新提现。还有什么可以帮您的吗？",
    )
    return case.id


def test_a_resolved_case_is_scored_in_the_same_transaction(database, seed) -> None:  # type: ignore[no-untyped-def]
    old, rec = get_broker(), Recorder()
    set_broker(rec)
    try:
        with database.session() as s:
            case_id = _chat(s, seed)
            desk.set_case_status(
                s, actor=s.get(User, seed.agent1), case_id=case_id, status="resolved"
            )
            # scored inside the desk's action, announced only once it commits
            assert s.scalar(select(Evaluation).where(Evaluation.case_id == case_id)) is not None
            assert not any(t == "quality" for t, _ in rec.published)
        assert ("quality", {"type": "evaluation.scored", "case_id": case_id}) in [
            (t, {k: e[k] for k in ("type", "case_id")}) for t, e in rec.published
        ]
    finally:
        set_broker(old)
    with database.session() as s:
        sup = s.get(User, seed.supervisor)
        ev = quality.current_evaluation(s, viewer=sup, case_id=case_id)
        assert ev is not None and ev.scorecard == "chat" and ev.agent_id == seed.agent1
        # greeting, name, empathy, question, closing, no jargon, resolved; timing within limits
        assert ev.passed and ev.score == 100.0
        first_agent = [f for f in ev.findings if f["message_index"] == 1]
        assert first_agent and all(f["message_id"] is not None for f in first_agent)
        entry = s.scalar(
            select(AuditEntry).where(
                AuditEntry.action == "quality.evaluation_scored",
                AuditEntry.entity_id == str(case_id),
            )
        )
        assert entry is not None and entry.data["score"] == 100.0
        # closing the resolved case does not score it twice; reopening and resolving does
        desk.set_case_status(s, actor=sup, case_id=case_id, status="closed")
        assert len(quality.history(s, viewer=sup, case_id=case_id)) == 1
        desk.set_case_status(s, actor=sup, case_id=case_id, status="open")
        desk.set_case_status(s, actor=sup, case_id=case_id, status="resolved")
        hist = quality.history(s, viewer=sup, case_id=case_id)
        assert [e.current for e in hist] == [True, False]


def test_backfill_scores_what_finished_unhooked(database, seed, monkeypatch) -> None:  # type: ignore[no-untyped-def]
    monkeypatch.setattr(lifecycle, "_FINISHED", [])
    with database.session() as s:
        case_id = _chat(s, seed)
        desk.set_case_status(s, actor=s.get(User, seed.agent1), case_id=case_id, status="closed")
    monkeypatch.undo()
    with database.session() as s:
        assert quality.unscored_cases(s) == [case_id]
        with pytest.raises(Forbidden):
            quality.backfill(s, actor=s.get(User, seed.agent1))
    with database.session() as s:
        assert quality.backfill(s, actor=s.get(User, seed.supervisor)) == 1
    with database.session() as s:
        assert quality.backfill(s, actor=None) == 0
        assert quality.unscored_cases(s) == []


def test_override_needs_a_reason_and_a_supervisor(database, seed) -> None:  # type: ignore[no-untyped-def]
    with database.session() as s:
        case_id = _chat(s, seed)
        desk.set_case_status(s, actor=s.get(User, seed.agent1), case_id=case_id, status="resolved")
    with database.session() as s:
        sup = s.get(User, seed.supervisor)
        ev = quality.current_evaluation(s, viewer=sup, case_id=case_id)
        assert ev is not None
        ev_id = ev.id
        with pytest.raises(ValidationFailed) as exc:
            quality.override_evaluation(
                s, actor=sup, evaluation_id=ev_id, score=70, passed=False, reason=" "
            )
        assert exc.value.fields == [{"field": "reason", "message": "a reason is required"}]
        with pytest.raises(Forbidden):
            quality.override_evaluation(
                s,
                actor=s.get(User, seed.agent1),
                evaluation_id=ev_id,
                score=70,
                passed=False,
                reason="mine",
            )
        with pytest.raises(Forbidden):  # compliance reads, never reviews
            quality.override_evaluation(
                s,
                actor=s.get(User, seed.compliance),
                evaluation_id=ev_id,
                score=70,
                passed=False,
                reason="x",
            )
    with database.session() as s:
        sup = s.get(User, seed.supervisor)
        quality.override_evaluation(
            s,
            actor=sup,
            evaluation_id=ev_id,
            score=70,
            passed=False,
            reason="客户要求的是换卡流程，坐席没有说明新卡需要先完成绑定验证。",
        )
    with database.session() as s:
        ev = s.get(Evaluation, ev_id)
        assert (ev.final_score, ev.final_passed, ev.score) == (70.0, False, 100.0)
        entry = s.scalar(
            select(AuditEntry).where(AuditEntry.action == "quality.evaluation_override")
        )
        assert entry.actor_id == seed.supervisor
        assert entry.data["old"]["score"] == 100.0 and entry.data["new"]["score"] == 70.0


def test_calibration_kappa_and_distance_from_the_grader(database, seed) -> None:  # type: ignore[no-untyped-def]
    with database.session() as s:
        case_id = _chat(s, seed)
        desk.set_case_status(s, actor=s.get(User, seed.agent1), case_id=case_id, status="resolved")
        sup2 = make_user(s, "supervisor2", "supervisor")
    with database.session() as s:
        sup = s.get(User, seed.supervisor)
        cal = quality.start_calibration(s, actor=sup, case_id=case_id, note="weekly")
        cal_id = cal.id
        ev = quality.current_evaluation(s, viewer=sup, case_id=case_id)
        items = list(ev.items)
        assert set(ev.items.values()) == {"met"}
    all_met = dict.fromkeys(items, "met")
    # three reviewers on the 11 items: two rate all met; the third misses the name (4 points)
    # and gives half the empathy (4 of 8): 92.
    # Fleiss: 9 items (3,0,0) P=1; name (2,0,1) and empathy (2,1,0) P=1/3 each.
    # P̄ = (9 + 2/3)/11 = 29/33; p = (31/33, 1/33, 1/33); P̄e = (961+1+1)/1089 = 963/1089;
    # κ = (29/33 − 963/1089)/(1 − 963/1089) = (957 − 963)/126 = −0.048
    third = all_met | {"name": "missed", "empathy": "partly"}
    with database.session() as s:
        quality.rate(s, actor=s.get(User, seed.supervisor), calibration_id=cal_id, ratings=all_met)
        quality.rate(s, actor=s.get(User, seed.admin), calibration_id=cal_id, ratings=all_met)
        quality.rate(s, actor=s.get(User, sup2), calibration_id=cal_id, ratings=third)
        with pytest.raises(ValidationFailed) as exc:
            quality.rate(
                s,
                actor=s.get(User, sup2),
                calibration_id=cal_id,
                ratings={k: "met" for k in items[1:]},
            )
        assert exc.value.fields[0]["field"] == f"ratings.{items[0]}"
    with database.session() as s:
        view = quality.calibration_view(
            s, viewer=s.get(User, seed.compliance), calibration_id=cal_id
        )
        assert view["kappa_kind"] == "fleiss"
        assert view["kappa"] == pytest.approx(-6 / 126, abs=1e-3)
        by = {r["reviewer"]: r for r in view["reviewers"]}
        assert by["supervisor"]["distance"] == 0.0 and by["supervisor"]["agreement"] == 1.0
        assert by["supervisor2"]["score"] == 92.0 and by["supervisor2"]["distance"] == 8.0
        assert by["supervisor2"]["agreement"] == pytest.approx(9 / 11, abs=1e-3)


def test_the_api_reads_and_refuses_bad_input(client, database, seed) -> None:  # type: ignore[no-untyped-def]
    from tests.conftest import login

    with database.session() as s:
        case_id = _chat(s, seed)
        desk.set_case_status(s, actor=s.get(User, seed.agent1), case_id=case_id, status="resolved")
    sup = login(client, "supervisor")
    got = client.get(f"/api/v1/quality/cases/{case_id}/evaluation", headers=sup)
    assert got.status_code == 200 and got.json()["final_score"] == 100.0
    ev_id = got.json()["id"]
    bad = client.post(
        f"/api/v1/quality/evaluations/{ev_id}/override",
        json={"score": 120, "passed": False, "reason": ""},
        headers=sup,
    )
    assert bad.status_code == 422
    assert bad.headers["content-type"].startswith("application/problem+json")
    assert {e["field"] for e in bad.json()["errors"]} >= {"score", "reason"}
    m = client.get("/api/v1/quality/metrics?group=agent&start=2026-13-01", headers=sup)
    assert m.status_code == 422 and "start" in m.text
    m = client.get("/api/v1/quality/metrics?group=channel", headers=sup)
    assert m.status_code == 200 and m.json()["rows"][0]["key"] == "chat"
    assert m.json()["totals"]["cases"] == 1
