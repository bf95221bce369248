"""Teams and escalation over REST (/api/v1): the teams and their members, escalating a case,
the internal thread, the team's answer, closing, the team queue, the supervisor's summary, and
the plain status a customer sees."""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Query

from kefu.core.http import CurrentUser, DbSession, Id, Lang
from kefu.desk import escalation_reads, escalations, teams
from kefu.desk.teams_schemas import (
    CustomerStatusOut,
    EscalateIn,
    EscalationOut,
    MemberIn,
    TeamIn,
    TeamOut,
    TeamPatch,
    TeamSummaryOut,
    ThreadIn,
)

router = APIRouter(prefix="/api/v1", tags=["teams"])


def _team(db: DbSession, team_id: int, lang: str) -> dict[str, Any]:
    team = teams.get_team(db, team_id)
    return teams.team_out(team, lang, teams.members_of(db, [team.id]).get(team.id, []))


@router.get("/teams", response_model=list[TeamOut])
def list_teams(
    user: CurrentUser, db: DbSession, lang: Lang, include_inactive: bool = Query(False)
) -> list[dict[str, Any]]:
    return teams.read_teams(db, viewer=user, lang=lang, include_inactive=include_inactive)


@router.post("/teams", response_model=TeamOut, status_code=201)
def create_team(body: TeamIn, user: CurrentUser, db: DbSession, lang: Lang) -> dict[str, Any]:
    team = teams.create_team(db, actor=user, **body.model_dump())
    return _team(db, team.id, lang)


@router.patch("/teams/{team_id}", response_model=TeamOut)
def update_team(
    body: TeamPatch,
    user: CurrentUser,
    db: DbSession,
    lang: Lang,
    team_id: Id,
) -> dict[str, Any]:
    changes = body.model_dump(exclude_unset=True)
    teams.update_team(db, actor=user, team_id=team_id, **changes)
    return _team(db, team_id, lang)


@router.post("/teams/{team_id}/members", response_model=TeamOut)
def add_member(
    body: MemberIn, user: CurrentUser, db: DbSession, lang: Lang, team_id: Id
) -> dict[str, Any]:
    teams.add_member(db, actor=user, team_id=team_id, user_id=body.user_id)
    return _team(db, team_id, lang)


@router.delete("/teams/{team_id}/members/{user_id}", response_model=TeamOut)
def remove_member(
    user: CurrentUser,
    db: DbSession,
    lang: Lang,
    team_id: Id,
    user_id: Id,
) -> dict[str, Any]:
    teams.remove_member(db, actor=user, team_id=team_id, user_id=user_id)
    return _team(db, team_id, lang)


@router.get("/escalations", response_model=list[EscalationOut])
def team_queue(
    user: CurrentUser,
    db: DbSession,
    lang: Lang,
    team_id: int | None = Query(None, ge=1, le=2**31 - 1),
    status: str = Query("open", max_length=16, description="open, answered, closed or all"),
    limit: int = Query(100, ge=1, le=500),
) -> list[dict[str, Any]]:
    """The team queue: without team_id, the escalations of the caller's teams."""
    return escalation_reads.team_queue(
        db, viewer=user, lang=lang, team_id=team_id, status=status, limit=limit
    )


@router.get("/escalations/summary", response_model=list[TeamSummaryOut])
def summary(user: CurrentUser, db: DbSession, lang: Lang) -> list[dict[str, Any]]:
    """For supervisors: per team, open escalations, those past their OLA, late answers."""
    return escalation_reads.escalation_summary(db, viewer=user, lang=lang)


@router.get("/escalations/{escalation_id}", response_model=EscalationOut)
def escalation(user: CurrentUser, db: DbSession, lang: Lang, escalation_id: Id) -> dict[str, Any]:
    return escalation_reads.escalation_detail(
        db, viewer=user, escalation_id=escalation_id, lang=lang
    )


@router.get("/cases/{case_id}/escalations", response_model=list[EscalationOut])
def case_escalations(
    user: CurrentUser, db: DbSession, lang: Lang, case_id: Id
) -> list[dict[str, Any]]:
    return escalation_reads.case_escalations(db, viewer=user, case_id=case_id, lang=lang)


@router.post("/cases/{case_id}/escalations", response_model=EscalationOut, status_code=201)
def escalate(
    body: EscalateIn, user: CurrentUser, db: DbSession, lang: Lang, case_id: Id
) -> dict[str, Any]:
    esc = escalations.escalate_case(
        db, actor=user, case_id=case_id, team_id=body.team_id, note=body.note
    )
    return escalation_reads.escalation_detail(db, viewer=user, escalation_id=esc.id, lang=lang)


@router.get("/cases/{case_id}/escalation-status", response_model=list[CustomerStatusOut])
def escalation_status(
    user: CurrentUser, db: DbSession, lang: Lang, case_id: Id
) -> list[dict[str, Any]]:
    """What the customer is told of the case's open escalations (the same for staff)."""
    return escalation_reads.customer_status(db, viewer=user, case_id=case_id, lang=lang)


@router.post("/escalations/{escalation_id}/messages", response_model=EscalationOut, status_code=201)
def post_message(
    body: ThreadIn,
    user: CurrentUser,
    db: DbSession,
    lang: Lang,
    escalation_id: Id,
) -> dict[str, Any]:
    escalations.post_escalation_message(db, actor=user, escalation_id=escalation_id, body=body.body)
    return escalation_reads.escalation_detail(
        db, viewer=user, escalation_id=escalation_id, lang=lang
    )


@router.post("/escalations/{escalation_id}/answer", response_model=EscalationOut)
def answer(
    body: ThreadIn,
    user: CurrentUser,
    db: DbSession,
    lang: Lang,
    escalation_id: Id,
) -> dict[str, Any]:
    escalations.answer_escalation(db, actor=user, escalation_id=escalation_id, body=body.body)
    return escalation_reads.escalation_detail(
        db, viewer=user, escalation_id=escalation_id, lang=lang
    )


@router.post("/escalations/{escalation_id}/close", response_model=EscalationOut)
def close(user: CurrentUser, db: DbSession, lang: Lang, escalation_id: Id) -> dict[str, Any]:
    escalations.close_escalation(db, actor=user, escalation_id=escalation_id)
    return escalation_reads.escalation_detail(
        db, viewer=user, escalation_id=escalation_id, lang=lang
    )
