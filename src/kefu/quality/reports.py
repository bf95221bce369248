"""Reports over the evaluations: complaint analysis (by product and problem code, trend, top
root causes with example cases, complaints that went to compliance) and the periodic agent
evaluation (QA, CSAT, service metrics and compliance findings for one agent and period, set
against the team's, with strengths and things to work on)."""

from __future__ import annotations

import calendar
from collections import Counter, defaultdict
from datetime import date, timedelta
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from kefu.core.errors import NotFound, refused_field
from kefu.core.security import User, require
from kefu.desk.models import Case
from kefu.quality import content
from kefu.quality.metrics import (
    Filters,
    breakdown,
    bucket,
    check_day,
    key_text,
    totals,
    where_of,
)
from kefu.quality.models import Evaluation
from kefu.quality.scorer import SECTIONS

STRONG, WEAK = 90.0, 80.0


def complaint_analysis(
    db: Session, *, viewer: User, filters: Filters, period: str = "week", examples: int = 3
) -> dict[str, Any]:
    require(viewer, "quality.read")
    codes = content.complaint_codes()
    f = Filters(**{**filters.__dict__, "complaints": True}).check()
    e = Evaluation
    where = where_of(f)  # the same filter as every metric
    matrix = [
        {"product": p, "problem": q, "cases": n}
        for p, q, n in db.execute(
            select(e.product_code, e.problem_code, func.count(e.id))
            .where(*where)
            .group_by(e.product_code, e.problem_code)
            .order_by(func.count(e.id).desc())
        )
    ]
    key = bucket(db, period).label("key")
    trend_rows = db.execute(
        select(key, e.problem_code, func.count(e.id)).where(*where).group_by(key, e.problem_code)
    )
    trend: dict[str, dict[str, int]] = defaultdict(dict)
    for k, q, n in trend_rows:
        trend[key_text(k)][q] = n
    top = [
        (q, n)
        for q, n in db.execute(
            select(e.problem_code, func.count(e.id))
            .where(*where)
            .group_by(e.problem_code)
            .order_by(func.count(e.id).desc(), e.problem_code)
            .limit(5)
        )
    ]
    causes = []
    for q, n in top:
        code = codes.problem(q)
        cases = db.execute(
            select(e.case_id, Case.subject, e.product_code)
            .join(Case, Case.id == e.case_id)
            .where(*where, e.problem_code == q)
            .order_by(e.finished_at.desc())
            .limit(examples)
        )
        causes.append(
            {
                "problem": q,
                "name": {"zh": code.name_zh, "en": code.name_en} if code else {"zh": q, "en": q},
                "root_cause": {"zh": code.root_zh, "en": code.root_en} if code else None,
                "cases": n,
                "examples": [{"case_id": c, "subject": s, "product": p} for c, s, p in cases],
            }
        )
    to_compliance = [
        {"case_id": c, "subject": s, "problem": q}
        for c, s, q in db.execute(
            select(e.case_id, Case.subject, e.problem_code)
            .join(Case, Case.id == e.case_id)
            .where(*where, e.compliance.is_(True))
            .order_by(e.finished_at.desc())
            .limit(20)
        )
    ]
    return {
        "total": totals(db, viewer=viewer, filters=f),
        "matrix": matrix,
        "trend": [{"key": k, "problems": v} for k, v in sorted(trend.items())],
        "root_causes": causes,
        "to_compliance": to_compliance,
        "products": {p.code: {"zh": p.name_zh, "en": p.name_en} for p in codes.products},
        "problems": {p.code: {"zh": p.name_zh, "en": p.name_en} for p in codes.problems},
    }


def period_bounds(period: str, on: date) -> tuple[date, date]:
    """The week (Monday–Sunday) or month holding ``on``."""
    if period == "week":
        start = on - timedelta(days=on.weekday())
        return start, start + timedelta(days=6)
    if period == "month":
        last = calendar.monthrange(on.year, on.month)[1]
        return on.replace(day=1), on.replace(day=last)
    raise refused_field(
        "period", "week or month", key="quality.errors.week_or_month", names="quality.errors.fields"
    )


def agent_report(
    db: Session, *, viewer: User, agent_id: int, period: str = "week", on: date
) -> dict[str, Any]:
    """One agent's evaluation for the week or month holding ``on``, against the team's."""
    require(viewer, "quality.read")
    agent = db.get(User, agent_id)
    if agent is None or agent.role not in ("agent", "supervisor"):
        raise NotFound(key="quality.errors.agent_missing", params={"id": agent_id})
    check_day("on", on)
    start, end = period_bounds(period, on)
    prev_start, prev_end = period_bounds(period, start - timedelta(days=1))
    mine = Filters(start=start, end=end, agent_id=agent_id)
    team = Filters(start=start, end=end)
    e = Evaluation
    rows = list(
        db.scalars(
            select(e)
            .where(
                e.current.is_(True),
                e.agent_id == agent_id,
                *where_of(mine),
            )
            .order_by(e.finished_at)
        )
    )
    sections: dict[str, list[float]] = defaultdict(list)
    lost: Counter[str] = Counter()
    lost_points: dict[str, float] = defaultdict(float)
    example: dict[str, int] = {}
    reason: dict[str, dict[str, str]] = {}
    compliance: list[dict[str, Any]] = []
    for ev in rows:
        for name, value in ev.sections.items():
            sections[name].append(float(value))
        for fnd in ev.findings:
            if fnd["points"] >= 0:
                continue
            rule = str(fnd["rule"]).split(":")[0]
            lost[rule] += 1
            lost_points[rule] += -float(fnd["points"])
            example.setdefault(rule, ev.case_id)
            reason.setdefault(rule, fnd["reason"])
            if fnd["section"] == "compliance":
                compliance.append(
                    {
                        "case_id": ev.case_id,
                        "reason": fnd["reason"],
                        "critical": fnd.get("critical", False),
                    }
                )
    averages = {s: round(sum(v) / len(v), 1) for s in SECTIONS if (v := sections.get(s))}
    strengths = sorted(((s, a) for s, a in averages.items() if a >= STRONG), key=lambda x: -x[1])[
        :3
    ]
    work_on = sorted(((s, a) for s, a in averages.items() if a < WEAK), key=lambda x: x[1])[:3]
    habits = [
        {
            "rule": r,
            "times": n,
            "points": round(lost_points[r], 1),
            "example_case": example[r],
            "reason": reason[r],
        }
        for r, n in sorted(lost.items(), key=lambda x: (-lost_points[x[0]], x[0]))[:5]
    ]
    return {
        "agent": {
            "id": agent.id,
            "username": agent.username,
            "name": agent.display_name,
            "name_en": agent.display_name_en,
        },
        "period": period,
        "start": start.isoformat(),
        "end": end.isoformat(),
        "mine": totals(db, viewer=viewer, filters=mine),
        "team": totals(db, viewer=viewer, filters=team),
        "previous": totals(
            db, viewer=viewer, filters=Filters(start=prev_start, end=prev_end, agent_id=agent_id)
        ),
        "days": breakdown(db, viewer=viewer, group="period", period="day", filters=mine),
        "sections": averages,
        "strengths": [{"section": s, "score": a} for s, a in strengths],
        "work_on": [{"section": s, "score": a} for s, a in work_on],
        "habits": habits,
        "compliance_findings": compliance,
        "cases": [
            {
                "case_id": ev.case_id,
                "score": ev.final_score,
                "passed": ev.final_passed,
                "auto_fail": ev.auto_fail,
                "finished_at": ev.finished_at.isoformat(),
            }
            for ev in rows
        ],
    }
