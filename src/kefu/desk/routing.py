"""Assignment: round-robin among online agents with room, language as a hard skill and category
as a soft one; queue position and expected wait. Pure."""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Literal

_NEVER = datetime.min.replace(tzinfo=UTC)


@dataclass(frozen=True)
class AgentSlot:
    agent_id: int
    presence: Literal["online", "away", "offline"] | str
    open_cases: int
    capacity: int
    languages: frozenset[str]
    categories: frozenset[str]
    last_assigned_at: datetime | None


def choose_agent(agents: Sequence[AgentSlot], *, language: str, category: str) -> int | None:
    """The agent who gets the next case, or None (it waits in the queue).

    Eligible: online, below capacity, speaks the case's language. Among those, agents with the
    category skill come first; then whoever was assigned longest ago (round-robin), then the
    lighter load, then the lower id (deterministic)."""
    eligible = [
        a
        for a in agents
        if a.presence == "online" and a.open_cases < a.capacity and language in a.languages
    ]
    if not eligible:
        return None
    skilled = [a for a in eligible if category in a.categories]
    pool = skilled or eligible
    best = min(pool, key=lambda a: (a.last_assigned_at or _NEVER, a.open_cases, a.agent_id))
    return best.agent_id


def queue_position(waiting_created: Sequence[datetime], mine: datetime) -> int:
    """1-based place among waiting items created at or before ``mine``."""
    return sum(1 for c in waiting_created if c <= mine) or 1


def expected_wait_minutes(position: int, online_agents: int, avg_handle_minutes: float) -> int:
    """A plain estimate: the queue ahead shared among online agents, in whole minutes (≥ 1).
    With nobody online the estimate is the queue at one agent's pace."""
    agents = max(online_agents, 1)
    return max(1, math.ceil(position * avg_handle_minutes / agents))
