"""Calibration: several reviewers rate the same case item by item (met / partly / missed);
the console shows how far they agree (Cohen's kappa for two, Fleiss' for more) and how far each
is from the automatic grader (their score's distance, their agreement and kappa with it)."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action
from kefu.core.db import utcnow
from kefu.core.errors import NotFound, ValidationFailed, refused_field
from kefu.core.security import User, require
from kefu.quality import content
from kefu.quality.agreement import cohen_kappa, kappa, reading
from kefu.quality.audit import QualityAudit
from kefu.quality.models import Calibration, CalibrationRating, Evaluation
from kefu.quality.scorer import RATINGS, QualityError, score_ratings


def _err(field: str, message: str, key: str, **params: Any) -> ValidationFailed:
    """A refused field said by key (``quality.errors.<key>``); ``message`` is its English."""
    return refused_field(
        field, message, key=f"quality.errors.{key}", names="quality.errors.fields", **params
    )


@action
def start_calibration(db: Session, *, actor: User, case_id: int, note: str = "") -> Calibration:
    """Opens a calibration on the case's current evaluation."""
    require(actor, "quality.review")
    ev = db.scalar(
        select(Evaluation).where(Evaluation.case_id == case_id, Evaluation.current.is_(True))
    )
    if ev is None:
        raise NotFound(key="quality.errors.nothing_to_calibrate", params={"case": case_id})
    if len(note) > 2000:
        raise _err("note", "at most 2000 characters", "at_most_chars", n=2000)
    row = Calibration(case_id=case_id, evaluation_id=ev.id, created_by_id=actor.id, note=note)
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=QualityAudit.calibration_create,
        entity="case",
        entity_id=case_id,
        data={"calibration": row.id, "evaluation": ev.id},
    )
    return row


def _calibration(db: Session, calibration_id: int) -> tuple[Calibration, Evaluation]:
    cal = db.get(Calibration, calibration_id)
    if cal is None:
        raise NotFound(key="quality.errors.calibration_missing", params={"id": calibration_id})
    ev = db.get(Evaluation, cal.evaluation_id)
    assert ev is not None
    return cal, ev


@action
def rate(
    db: Session, *, actor: User, calibration_id: int, ratings: dict[str, str], note: str = ""
) -> CalibrationRating:
    """A reviewer's item ratings (every item the grader applied, each met, partly or missed);
    rating again replaces their earlier ratings, on record."""
    require(actor, "quality.review")
    cal, ev = _calibration(db, calibration_id)
    items = set(ev.items)
    missing = sorted(items - set(ratings))
    if missing:
        raise _err(f"ratings.{missing[0]}", "every item must be rated", "rate_every_item")
    extra = sorted(set(ratings) - items)
    if extra:
        raise _err(f"ratings.{extra[0]}", "not an item of this evaluation", "not_an_item")
    for k, v in ratings.items():
        if v not in RATINGS:
            raise _err(f"ratings.{k}", "expected met, partly or missed", "rating_value")
    try:
        value = score_ratings(content.scorecards()[ev.scorecard], ratings)
    except (QualityError, KeyError) as exc:
        # the scorer's own words (English): a scorecard that does not fit its ratings
        msg = str(exc)
        raise ValidationFailed(
            f"ratings: {msg}", fields=[{"field": "ratings", "message": msg}]
        ) from exc
    row = db.scalar(
        select(CalibrationRating).where(
            CalibrationRating.calibration_id == cal.id, CalibrationRating.reviewer_id == actor.id
        )
    )
    old = {"ratings": row.ratings, "score": row.score} if row else None
    if row is None:
        row = CalibrationRating(calibration_id=cal.id, reviewer_id=actor.id)
        db.add(row)
    row.ratings, row.score, row.note, row.created_at = dict(ratings), value, note, utcnow()
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=QualityAudit.calibration_rate,
        entity="case",
        entity_id=cal.case_id,
        data={"calibration": cal.id, "old": old, "new": {"ratings": ratings, "score": value}},
    )
    return row


def calibrations(db: Session, *, viewer: User, limit: int = 50) -> list[Calibration]:
    require(viewer, "quality.read")
    return list(db.scalars(select(Calibration).order_by(Calibration.id.desc()).limit(limit)))


def calibration_view(db: Session, *, viewer: User, calibration_id: int) -> dict[str, Any]:
    """Reviewers' ratings, their agreement (kappa) and each one's distance from the grader."""
    require(viewer, "quality.read")
    cal, ev = _calibration(db, calibration_id)
    rows = list(
        db.scalars(
            select(CalibrationRating)
            .where(CalibrationRating.calibration_id == cal.id)
            .order_by(CalibrationRating.id)
        )
    )
    users = {
        u.id: u for u in db.scalars(select(User).where(User.id.in_([r.reviewer_id for r in rows])))
    }
    grader = dict(ev.items)
    reviewers = []
    for r in rows:
        common = [k for k in grader if k in r.ratings]
        same = sum(grader[k] == r.ratings[k] for k in common)
        vs = (
            cohen_kappa([grader[k] for k in common], [r.ratings[k] for k in common])
            if common
            else None
        )
        u = users.get(r.reviewer_id)
        reviewers.append(
            {
                "reviewer_id": r.reviewer_id,
                "reviewer": u.username if u else str(r.reviewer_id),
                "score": r.score,
                # the grader's item-based score (before a critical failure zeroes it)
                "distance": round(abs(r.score - ev.raw_score), 1),
                "agreement": round(same / len(common), 3) if common else None,
                "kappa_vs_grader": None if vs is None else round(vs, 3),
                "ratings": r.ratings,
                "note": r.note,
            }
        )
    among: float | None = None
    kind = None
    if len(rows) >= 2:
        among = kappa([r.ratings for r in rows], RATINGS)
        kind = "cohen" if len(rows) == 2 else "fleiss"
    return {
        "id": cal.id,
        "case_id": cal.case_id,
        "evaluation_id": ev.id,
        "note": cal.note,
        "grader": {"score": ev.score, "raw_score": ev.raw_score, "ratings": grader},
        "items": list(grader),
        "reviewers": reviewers,
        "kappa": None if among is None else round(among, 3),
        "kappa_kind": kind,
        "kappa_reading": {"zh": reading(among, "zh"), "en": reading(among, "en")}
        if len(rows) >= 2
        else None,
    }
