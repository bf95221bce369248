"""Mentoring: trainers assign a mentor to a trainee; a mentor (or a trainer) comments on the
trainee's role-play runs and essays."""

from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.academy.audit import AcademyAudit
from kefu.academy.models import (
    Attempt,
    AttemptItem,
    MentorComment,
    Mentorship,
    RoleplayRun,
)
from kefu.academy.quiz_reads import may_review
from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.db import utcnow
from kefu.core.errors import Forbidden, NotFound, ValidationFailed
from kefu.core.security import Role, User, require


@action
def assign_mentor(db: Session, *, actor: User, trainee_id: int, mentor_id: int) -> Mentorship:
    require(actor, "academy.teach")
    trainee, mentor = db.get(User, trainee_id), db.get(User, mentor_id)
    if trainee is None or not trainee.is_trainee:
        raise NotFound(key="academy.errors.trainee_missing", params={"id": trainee_id})
    if (
        mentor is None
        or mentor.role not in (Role.agent, Role.supervisor, Role.trainer)
        or mentor.is_trainee
        or mentor.id == trainee.id
    ):
        raise ValidationFailed(
            key="academy.errors.mentor_role",
            fields=[{"field": "mentor_id"}],
        )
    row = db.scalar(select(Mentorship).where(Mentorship.trainee_id == trainee_id))
    old = row.mentor_id if row is not None else None
    if row is not None and row.mentor_id == mentor_id:
        unchanged(db)
        return row
    if row is None:
        row = Mentorship(trainee_id=trainee_id, mentor_id=mentor_id, assigned_by=actor.id)
        db.add(row)
    row.mentor_id, row.assigned_by, row.assigned_at = mentor_id, actor.id, utcnow()
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=AcademyAudit.mentor_assign,
        entity="user",
        entity_id=trainee_id,
        data={"old": old, "new": mentor_id},
    )
    return row


def mentor_candidates(db: Session) -> list[User]:
    """Experienced staff who may mentor: agents who are not trainees, supervisors, trainers."""
    return list(
        db.scalars(
            select(User)
            .where(
                User.is_active,
                ~User.is_trainee,
                User.role.in_([Role.agent, Role.supervisor, Role.trainer]),
            )
            .order_by(User.username)
        )
    )


def mentees(db: Session, *, viewer: User) -> list[User]:
    require(viewer, "academy.learn")
    return list(
        db.scalars(
            select(User)
            .join(Mentorship, Mentorship.trainee_id == User.id)
            .where(Mentorship.mentor_id == viewer.id)
            .order_by(User.username)
        )
    )


def mentor_of(db: Session, trainee_id: int) -> User | None:
    return db.scalar(
        select(User)
        .join(Mentorship, Mentorship.mentor_id == User.id)
        .where(Mentorship.trainee_id == trainee_id)
    )


def _owner(db: Session, target: str, target_id: int) -> int:
    if target == "run":
        run = db.get(RoleplayRun, target_id)
        if run is None:
            raise NotFound(key="academy.errors.run_missing", params={"id": target_id})
        return run.user_id
    if target == "item":
        item = db.get(AttemptItem, target_id)
        attempt = db.get(Attempt, item.attempt_id) if item is not None else None
        if attempt is None:
            raise NotFound(key="academy.errors.item_missing", params={"id": target_id})
        return attempt.user_id
    raise ValidationFailed(key="academy.errors.comment_target", fields=[{"field": "target"}])


@action
def comment(db: Session, *, actor: User, target: str, target_id: int, body: str) -> MentorComment:
    """A mentor (or a trainer) comments on a trainee's role-play run or essay."""
    require(actor, "academy.learn")
    owner = _owner(db, target, target_id)
    if owner == actor.id or not may_review(db, actor, owner):
        raise Forbidden(key="academy.errors.mentor_only")
    text = body.strip()
    if not text or len(text) > 4000:
        raise ValidationFailed(key="academy.errors.comment_length", fields=[{"field": "body"}])
    row = MentorComment(author_id=actor.id, target=target, target_id=target_id, body=text)
    db.add(row)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=AcademyAudit.comment,
        entity=f"academy_{target}",
        entity_id=target_id,
        data={"comment": row.id},
    )
    return row


def comments_on(
    db: Session, target: str, target_ids: list[int]
) -> dict[int, list[tuple[MentorComment, User]]]:
    out: dict[int, list[tuple[MentorComment, User]]] = {}
    if not target_ids:
        return out
    for c, u in db.execute(
        select(MentorComment, User)
        .join(User, User.id == MentorComment.author_id)
        .where(MentorComment.target == target, MentorComment.target_id.in_(target_ids))
        .order_by(MentorComment.at)
    ):
        out.setdefault(c.target_id, []).append((c, u))
    return out
