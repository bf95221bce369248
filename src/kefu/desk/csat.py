"""CSAT: a resolved case asks its customer for a rating (1–5 and a comment), once."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action
from kefu.core.db import utcnow
from kefu.core.errors import Conflict, PayloadTooLarge
from kefu.core.events import emit
from kefu.core.security import User, require
from kefu.desk.access import visible_case
from kefu.desk.audit import DeskAudit
from kefu.desk.models import CsatSurvey
from kefu.desk.validation import field_error


def survey_of(db: Session, case_id: int) -> CsatSurvey | None:
    return db.scalar(select(CsatSurvey).where(CsatSurvey.case_id == case_id))


@action
def submit_csat(
    db: Session, *, actor: User, case_id: int, score: int, comment: str = ""
) -> CsatSurvey:
    require(actor, "csat.submit")
    case = visible_case(db, viewer=actor, case_id=case_id)
    if case.status_category not in ("resolved", "closed"):
        raise Conflict("a case can be rated once it is resolved")
    if not 1 <= score <= 5:
        raise field_error("score", "must be 1–5")
    if len(comment) > 2000:
        raise PayloadTooLarge("comment is over 2000 characters", limit=2000)
    survey = survey_of(db, case.id)
    if survey is None:
        survey = CsatSurvey(case_id=case.id, requested_at=utcnow())
        db.add(survey)
    if survey.score is not None:
        raise Conflict("this case has already been rated")
    survey.score, survey.comment, survey.answered_at = score, comment.strip(), utcnow()
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.csat_submit,
        entity="case",
        entity_id=case.id,
        data={"score": score, "comment": comment.strip()},
    )
    emit(db, "desk", {"type": "csat", "case_id": case.id, "score": score})
    return survey
