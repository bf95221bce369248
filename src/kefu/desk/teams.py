"""Teams a case can be escalated to (front line, funds operations, technical support,
compliance, back office — seeded from content/policies/teams.yaml, then edited by supervisors and
admins) and their members. Every change is an audited action; reads never write."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.config import get_settings
from kefu.core.errors import Conflict, NotFound
from kefu.core.security import STAFF, Role, User, can, require
from kefu.desk.audit import DeskAudit
from kefu.desk.models import BusinessCalendar
from kefu.desk.teams_models import Team, TeamMember
from kefu.desk.validation import field_error
from kefu.identity import service as identity

__all__ = [
    "add_member",
    "create_team",
    "desk_staff",
    "get_team",
    "is_member",
    "list_teams",
    "load_demo_members",
    "load_teams",
    "member_ids",
    "members_of",
    "read_teams",
    "remove_member",
    "team_out",
    "teams_of_user",
    "update_team",
]

_CODE = re.compile(r"[a-z][a-z0-9_]{1,31}")
_FIELDS = ("name_zh", "name_en", "ola_minutes", "calendar", "active")
#: an OLA longer than 30 working days is a typing mistake, not a target
MAX_OLA_MINUTES = 30 * 24 * 60


def team_out(team: Team, lang: str = "zh", members: Sequence[User] = ()) -> dict[str, Any]:
    return {
        "id": team.id,
        "code": team.code,
        "name": team.name_for(lang),
        "name_zh": team.name_zh,
        "name_en": team.name_en,
        "ola_minutes": team.ola_minutes,
        "calendar": team.calendar,
        "active": team.active,
        "members": [{"id": u.id, "name": u.name_for(lang), "role": u.role} for u in members],
    }


def list_teams(db: Session, *, viewer: User, include_inactive: bool = False) -> list[Team]:
    require(viewer, "case.read_all")
    stmt = select(Team).order_by(Team.id)
    if not include_inactive:
        stmt = stmt.where(Team.active.is_(True))
    return list(db.scalars(stmt))


def get_team(db: Session, team_id: int) -> Team:
    team = db.get(Team, team_id)
    if team is None:
        raise NotFound(f"team {team_id} does not exist")
    return team


def member_ids(db: Session, team_id: int) -> list[int]:
    return list(
        db.scalars(
            select(TeamMember.user_id)
            .where(TeamMember.team_id == team_id)
            .order_by(TeamMember.user_id)
        )
    )


def members_of(db: Session, team_ids: Iterable[int]) -> dict[int, list[User]]:
    """Each team's members (active users), by team id."""
    ids = list(team_ids)
    if not ids:
        return {}
    rows = db.execute(
        select(TeamMember.team_id, TeamMember.user_id).where(TeamMember.team_id.in_(ids))
    )
    pairs = [(int(t), int(u)) for t, u in rows]
    users = identity.users_by_id(db, {u for _, u in pairs})
    out: dict[int, list[User]] = {i: [] for i in ids}
    for t, u in pairs:
        if u in users and users[u].is_active:
            out[t].append(users[u])
    for members in out.values():
        members.sort(key=lambda u: u.id)
    return out


def is_member(db: Session, team_id: int, user_id: int) -> bool:
    return db.get(TeamMember, {"team_id": team_id, "user_id": user_id}) is not None


def teams_of_user(db: Session, user_id: int) -> list[Team]:
    return list(
        db.scalars(
            select(Team)
            .join(TeamMember, TeamMember.team_id == Team.id)
            .where(TeamMember.user_id == user_id)
            .order_by(Team.id)
        )
    )


def read_teams(
    db: Session, *, viewer: User, lang: str, include_inactive: bool = False
) -> list[dict[str, Any]]:
    """The teams with their members, as the API and the pages show them."""
    teams = list_teams(db, viewer=viewer, include_inactive=include_inactive)
    members = members_of(db, [t.id for t in teams])
    return [team_out(t, lang, members.get(t.id, [])) for t in teams]


def _clean(db: Session, values: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(values)
    for f in ("name_zh", "name_en"):
        if f in out:
            out[f] = str(out[f]).strip()
            if not out[f]:
                raise field_error(f, "must not be empty", key="empty")
            if len(out[f]) > 64:
                raise field_error(f, "at most 64 characters", key="at_most_chars", n=64)
    if "ola_minutes" in out:
        try:
            minutes = int(out["ola_minutes"])
        except (TypeError, ValueError):
            raise field_error(
                "ola_minutes", "must be a whole number of minutes", key="whole_minutes"
            ) from None
        if not 1 <= minutes <= MAX_OLA_MINUTES:
            raise field_error(
                "ola_minutes",
                f"1–{MAX_OLA_MINUTES} business minutes",
                key="ola_range",
                max=MAX_OLA_MINUTES,
            )
        out["ola_minutes"] = minutes
    if "calendar" in out:
        out["calendar"] = str(out["calendar"]).strip()
        known = set(db.scalars(select(BusinessCalendar.name)))
        if out["calendar"] not in known:
            raise field_error("calendar", f"no business calendar named {out['calendar']!r}")
    if "active" in out:
        out["active"] = bool(out["active"])
    return out


@action
def create_team(
    db: Session,
    *,
    actor: User | None,
    code: str,
    name_zh: str,
    name_en: str,
    ola_minutes: int,
    calendar: str = "cn-business",
    active: bool = True,
) -> Team:
    """A new team; ``actor`` None is the content sync."""
    if actor is not None:
        require(actor, "team.manage")
    code = str(code).strip().lower()
    if not _CODE.fullmatch(code):
        raise field_error("code", "2–32 lower-case letters, digits or '_', starting with a letter")
    if db.scalar(select(Team.id).where(Team.code == code)) is not None:
        raise Conflict(key="errors.team_exists", params={"code": repr(code)})
    values = _clean(
        db,
        {
            "name_zh": name_zh,
            "name_en": name_en,
            "ola_minutes": ola_minutes,
            "calendar": calendar,
            "active": active,
        },
    )
    team = Team(code=code, **values)
    db.add(team)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=DeskAudit.team_create,
        entity="team",
        entity_id=team.id,
        data={"new": {"code": code, **values}},
    )
    return team


@action
def update_team(db: Session, /, *, actor: User, team_id: int, **changes: Any) -> Team:
    """Changes any of name_zh, name_en, ola_minutes, calendar, active. A new OLA applies to
    escalations opened from now on."""
    require(actor, "team.manage")
    team = get_team(db, team_id)
    unknown = set(changes) - set(_FIELDS)
    if unknown:
        raise field_error(sorted(unknown)[0], "not a field of a team")
    values = _clean(db, changes)
    old = {k: getattr(team, k) for k in values}
    diff = {k: v for k, v in values.items() if old[k] != v}
    if not diff:
        unchanged(db)
        return team
    for k, v in diff.items():
        setattr(team, k, v)
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.team_update,
        entity="team",
        entity_id=team.id,
        data={"old": {k: old[k] for k in diff}, "new": diff},
    )
    return team


def _on_desk(user: User) -> bool:
    return user.is_active and user.role_enum in STAFF and user.role_enum != Role.trainer


def desk_staff(db: Session, *, lang: str) -> list[dict[str, Any]]:
    """The users a team may have as members (the desk's active staff), by name."""
    users = [u for u in identity.list_users(db) if _on_desk(u)]
    return sorted(({"id": u.id, "name": u.name_for(lang)} for u in users), key=lambda x: x["name"])


def _staff(db: Session, user_id: int) -> User:
    user = identity.get_user(db, user_id)
    if user is None or not user.is_active:
        raise field_error("user_id", f"no active user {user_id}")
    if not _on_desk(user):
        raise field_error("user_id", f"{user.username} is not on the desk (role {user.role})")
    return user


@action
def add_member(db: Session, *, actor: User | None, team_id: int, user_id: int) -> Team:
    if actor is not None:
        require(actor, "team.manage")
    team = get_team(db, team_id)
    user = _staff(db, user_id)
    if is_member(db, team.id, user.id):
        unchanged(db)
        return team
    db.add(TeamMember(team_id=team.id, user_id=user.id))
    db.flush()
    audit.record(
        db,
        actor_id=actor.id if actor else None,
        action=DeskAudit.team_member_add,
        entity="team",
        entity_id=team.id,
        data={"user_id": user.id, "username": user.username},
    )
    return team


@action
def remove_member(db: Session, *, actor: User, team_id: int, user_id: int) -> Team:
    require(actor, "team.manage")
    team = get_team(db, team_id)
    row = db.get(TeamMember, {"team_id": team.id, "user_id": user_id})
    if row is None:
        raise NotFound(f"user {user_id} is not a member of team {team.code}")
    db.delete(row)
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=DeskAudit.team_member_remove,
        entity="team",
        entity_id=team.id,
        data={"user_id": user_id},
    )
    return team


def may_manage(user: User) -> bool:
    return can(user, "team.manage")


# --- content ----------------------------------------------------------------------------------


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def load_teams(db: Session, content: Path | None = None) -> list[str]:
    """Creates the teams of policies/teams.yaml the database lacks (by code) and returns their
    codes; teams already there keep their edits. Called by the desk's content sync."""
    folder = content or get_settings().content_dir
    path = folder / "policies" / "teams.yaml"
    have = set(db.scalars(select(Team.code)))
    created: list[str] = []
    for spec in _read(path).get("teams", []):
        code = str(spec.get("code", "")).strip().lower()
        if code in have:
            continue
        try:
            create_team(
                db,
                actor=None,
                code=code,
                name_zh=spec.get("name_zh", ""),
                name_en=spec.get("name_en", ""),
                ola_minutes=spec.get("ola_minutes", 240),
                calendar=spec.get("calendar", "cn-business"),
                active=spec.get("active", True),
            )
        except Exception as exc:
            raise ValueError(f"{path}: team {code!r}: {exc}") from exc
        have.add(code)
        created.append(code)
    return created


def load_demo_members(db: Session, path: Path) -> int:
    """Adds the demo's team members (content/demo/teams.yaml: team code → usernames) that are
    missing; returns how many were added."""
    added = 0
    teams = {t.code: t for t in db.scalars(select(Team))}
    users = {u.username: u for u in identity.list_users(db)}
    for code, names in (_read(path).get("members") or {}).items():
        team = teams.get(str(code))
        if team is None:
            raise ValueError(f"{path}: no team {code!r} (run `kefu content sync`)")
        for name in names or []:
            user = users.get(str(name))
            if user is None:
                raise ValueError(f"{path}: team {code}: no user {name!r}")
            if not is_member(db, team.id, user.id):
                add_member(db, actor=None, team_id=team.id, user_id=user.id)
                added += 1
    return added
