"""Agents' desk profiles as the admin console keeps them: what an agent handles (case
categories: their skills), the languages they answer in and how many cases they carry at once.
A user made an agent in /admin has no profile until one is saved here or until they first set
their presence on the desk; both create it."""

from __future__ import annotations

from collections.abc import Sequence
from enum import StrEnum
from typing import Any

from sqlalchemy.orm import Session

from kefu.core import audit
from kefu.core.actions import action, unchanged
from kefu.core.errors import NotFound
from kefu.core.security import Role, User, require
from kefu.desk.models import CATEGORIES, AgentProfile
from kefu.desk.validation import check_choice, field_error
from kefu.identity import service as identity

__all__ = ["LANGUAGES", "AgentProfileAudit", "staff_profiles", "update_agent_profile"]

LANGUAGES = ("zh", "en")
#: what a new profile starts with
DEFAULTS: dict[str, Any] = {"capacity": 5, "languages": ["zh"], "categories": list(CATEGORIES)}


class AgentProfileAudit(StrEnum):
    profile = "agent.profile"


def staff_profiles(db: Session) -> list[dict[str, Any]]:
    """Every agent and supervisor with their profile (the defaults when they have none yet)."""
    out = []
    for u in identity.list_users(db):
        if u.role not in (Role.agent, Role.supervisor):
            continue
        p = db.get(AgentProfile, u.id)
        out.append(
            {
                "user_id": u.id,
                "username": u.username,
                "name": u.display_name,
                "has_profile": p is not None,
                "presence": p.presence if p else "offline",
                "capacity": p.capacity if p else DEFAULTS["capacity"],
                "languages": list(p.languages) if p else list(DEFAULTS["languages"]),
                "categories": list(p.categories) if p else list(DEFAULTS["categories"]),
            }
        )
    return out


@action
def update_agent_profile(
    db: Session,
    *,
    actor: User,
    user_id: int,
    capacity: int,
    languages: Sequence[str],
    categories: Sequence[str],
) -> AgentProfile:
    """Saves an agent's skills, languages and capacity (a supervisor's or an admin's call)."""
    require(actor, "case.assign")
    user = identity.get_user(db, user_id)
    if user is None or user.role not in (Role.agent, Role.supervisor):
        raise NotFound(f"agent {user_id} does not exist")
    if not 1 <= capacity <= 50:
        raise field_error("capacity", "between 1 and 50 cases at once")
    langs = list(dict.fromkeys(languages))
    if not langs:
        raise field_error("languages", "choose at least one language")
    for lang in langs:
        check_choice("languages", lang, LANGUAGES)
    cats = list(dict.fromkeys(categories))
    if not cats:
        raise field_error("categories", "choose at least one kind of case")
    for c in cats:
        check_choice("categories", c, CATEGORIES)
    p = db.get(AgentProfile, user_id)
    old = (
        None
        if p is None
        else {"capacity": p.capacity, "languages": p.languages, "categories": p.categories}
    )
    new = {"capacity": capacity, "languages": langs, "categories": cats}
    if old == new:
        unchanged(db)
        assert p is not None
        return p
    if p is None:
        p = AgentProfile(user_id=user_id, presence="offline")
        db.add(p)
    p.capacity, p.languages, p.categories = capacity, langs, cats
    db.flush()
    audit.record(
        db,
        actor_id=actor.id,
        action=AgentProfileAudit.profile,
        entity="user",
        entity_id=user_id,
        data={"old": old, "new": new},
    )
    return p
