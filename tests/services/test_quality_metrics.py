"""Service metrics in SQL against four finished cases worked by hand (see docs/metrics.md)."""

from __future__ import annotations

from datetime import date, datetime, timedelta, timezone

import pytest

from kefu.core.errors import Forbidden, ValidationFailed
from kefu.core.security import User
from kefu.desk import service as desk
from kefu.desk.models import CsatSurvey
from kefu.quality.metrics import Filters, breakdown, drill, totals
from kefu.quality.models import Evaluation

CST = timezone(timedelta(hours=8))

# case: agent, channel, category, finished (local), score, override, passed, auto_fail, frt s,
# frt business min, resolution s, resolution business min, replies, fr met, res met, reopened,
# csat, complaint
ROWS = [
    (
        "a1",
        "chat",
        "funds",
        datetime(2026, 3, 2, 0, 30, tzinfo=CST),
        90,
        None,
        True,
        False,
        60,
        1,
        3600,
        60,
        3,
        True,
        True,
        False,
        5,
        False,
    ),
    (
        "a1",
        "chat",
        "trading",
        datetime(2026, 3, 4, 15, 0, tzinfo=CST),
        70,
        None,
        False,
        False,
        300,
        5,
        7200,
        120,
        5,
        False,
        True,
        True,
        2,
        False,
    ),
    (
        "a2",
        "web",
        "funds",
        datetime(2026, 3, 10, 9, 0, tzinfo=CST),
        80,
        60,
        True,
        False,
        1800,
        30,
        86400,
        540,
        2,
        True,
        False,
        False,
        3,
        False,
    ),
    (
        "a2",
        "phone",
        "complaint",
        datetime(2026, 3, 11, 18, 0, tzinfo=CST),
        0,
        None,
        False,
        True,
        None,
        None,
        600,
        10,
        1,
        None,
        True,
        False,
        None,
        True,
    ),
]


@pytest.fixture
def world(database, seed):  # type: ignore[no-untyped-def]
    agents = {"a1": seed.agent1, "a2": seed.agent2}
    ids = []
    with database.session() as s:
        admin = s.get(User, seed.admin)
        for i, r in enumerate(ROWS):
            (
                ag,
                ch,
                cat,
                fin,
                sc,
                ov,
                ok,
                af,
                frt,
                frtb,
                res,
                resb,
                rep,
                frm,
                rsm,
                reo,
                csat,
                cpl,
            ) = r
            case = desk.create_case(
                s,
                actor=admin,
                customer_id=seed.alice,
                channel=ch,
                subject=f"case {i}",
                category=cat,
                body="问题",
                auto_assign=False,
            )
            s.add(
                Evaluation(
                    case_id=case.id,
                    current=True,
                    agent_id=agents[ag],
                    scorecard="chat",
                    score=sc,
                    raw_score=85 if af else sc,
                    passed=ok,
                    auto_fail=af,
                    override_score=ov,
                    override_passed=False if ov is not None else None,
                    sections={},
                    findings=[],
                    items={},
                    channel=ch,
                    category=cat,
                    priority="normal",
                    opened_at=fin - timedelta(seconds=res),
                    finished_at=fin,
                    first_response_seconds=frt,
                    first_response_business_minutes=frtb,
                    resolution_seconds=res,
                    resolution_business_minutes=resb,
                    agent_replies=rep,
                    first_response_met=frm,
                    resolution_met=rsm,
                    reopened=reo,
                    complaint=cpl,
                    product_code="00",
                    problem_code="P04" if cpl else "P03",
                    compliance=cpl,
                )
            )
            if csat is not None:
                s.add(CsatSurvey(case_id=case.id, requested_at=fin, score=csat, answered_at=fin))
            ids.append(case.id)
    return ids


def test_weekly_breakdown_by_hand(database, seed, world) -> None:  # type: ignore[no-untyped-def]
    with database.session() as s:
        sup = s.get(User, seed.supervisor)
        weeks = breakdown(s, viewer=sup, group="period", period="week", filters=Filters())
    # 00:30 on Monday 2 March in Shanghai is still Sunday in UTC: the local week counts
    assert [w["key"] for w in weeks] == ["2026-03-02", "2026-03-09"]
    w1, w2 = weeks
    assert w1["cases"] == 2
    assert (w1["qa_avg"], w1["qa_pass_rate"], w1["auto_fails"]) == (80.0, 0.5, 0)
    # (60 + 300) / 2 s = 3 min; business minutes (1 + 5) / 2 = 3
    assert (w1["frt_minutes"], w1["frt_business_minutes"]) == (3.0, 3.0)
    # (3600 + 7200) / 2 s = 1.5 h; business (60 + 120) / 2 min = 1.5 h
    assert (w1["resolution_hours"], w1["resolution_business_hours"]) == (1.5, 1.5)
    assert (w1["replies_to_resolution"], w1["reopen_rate"]) == (4.0, 0.5)
    assert (w1["fr_sla_rate"], w1["resolution_sla_rate"]) == (0.5, 1.0)
    assert (w1["csat"], w1["csat_responses"]) == (0.5, 2)  # 5 good, 2 bad
    # week 2: the override (60) stands for case 3; case 4 auto-failed (0)
    assert (w2["qa_avg"], w2["qa_pass_rate"], w2["auto_fails"]) == (30.0, 0.0, 1)
    assert (w2["frt_minutes"], w2["fr_sla_rate"]) == (30.0, 1.0)  # case 4 had no reply time
    # (86400 + 600) / 2 s = 12.083 h; business (540 + 10) / 2 min = 4.583 h
    assert (w2["resolution_hours"], w2["resolution_business_hours"]) == (12.08, 4.58)
    assert (w2["csat"], w2["complaints"], w2["compliance"]) == (0.0, 1, 1)  # a 3 is not good


def test_groups_totals_filters_and_drill(database, seed, world) -> None:  # type: ignore[no-untyped-def]
    with database.session() as s:
        sup = s.get(User, seed.compliance)  # compliance reads the reports
        by_agent = {r["key"]: r for r in breakdown(s, viewer=sup, group="agent", filters=Filters())}
        assert by_agent[str(seed.agent1)]["qa_avg"] == 80.0
        assert by_agent[str(seed.agent2)]["reopen_rate"] == 0.0
        t = totals(s, viewer=sup, filters=Filters())
        assert (t["cases"], t["qa_avg"], t["csat"]) == (4, 55.0, round(1 / 3, 4))
        march9 = Filters(start=date(2026, 3, 9), end=date(2026, 3, 10))
        assert totals(s, viewer=sup, filters=march9)["cases"] == 1  # the end day is included
        assert totals(s, viewer=sup, filters=Filters(complaints=True))["cases"] == 1
        rows = drill(s, viewer=sup, group="period", key="2026-03-09", filters=Filters())
        assert [r["case_id"] for r in rows] == [world[3], world[2]]
        assert rows[1]["score"] == 60.0 and rows[1]["csat"] == 3
        rows = drill(s, viewer=sup, group="agent", key=str(seed.agent1), filters=Filters())
        assert {r["case_id"] for r in rows} == {world[0], world[1]}
        with pytest.raises(ValidationFailed, match="group"):
            breakdown(s, viewer=sup, group="colour", filters=Filters())
        with pytest.raises(ValidationFailed, match="start"):
            totals(s, viewer=sup, filters=Filters(start=date(2026, 3, 9), end=date(2026, 3, 1)))
        with pytest.raises(Forbidden):
            totals(s, viewer=s.get(User, seed.agent1), filters=Filters())


def test_complaint_analysis_and_agent_report(database, seed, world) -> None:  # type: ignore[no-untyped-def]
    from kefu.quality.reports import agent_report, complaint_analysis

    with database.session() as s:
        sup = s.get(User, seed.supervisor)
        c = complaint_analysis(s, viewer=sup, filters=Filters())
        assert c["total"]["cases"] == 1 and c["matrix"] == [
            {"product": "00", "problem": "P04", "cases": 1}
        ]
        assert [(r["problem"], r["cases"]) for r in c["root_causes"]] == [("P04", 1)]
        assert c["root_causes"][0]["examples"][0]["case_id"] == world[3]
        assert [x["case_id"] for x in c["to_compliance"]] == [world[3]]
        assert c["trend"] == [{"key": "2026-03-09", "problems": {"P04": 1}}]
        # agent2's week of 9 March: cases 3 and 4 (QA 60 after the override, and 0); the team
        # had the same two; the week before agent2 had none
        r = agent_report(s, viewer=sup, agent_id=seed.agent2, period="week", on=date(2026, 3, 11))
        assert (r["start"], r["end"]) == ("2026-03-09", "2026-03-15")
        assert (r["mine"]["cases"], r["mine"]["qa_avg"], r["mine"]["auto_fails"]) == (2, 30.0, 1)
        assert r["team"]["cases"] == 2 and r["previous"]["cases"] == 0
        assert [x["case_id"] for x in r["cases"]] == [world[2], world[3]]
        month = agent_report(
            s, viewer=sup, agent_id=seed.agent1, period="month", on=date(2026, 3, 1)
        )
        assert (month["start"], month["end"], month["mine"]["cases"]) == (
            "2026-03-01",
            "2026-03-31",
            2,
        )
