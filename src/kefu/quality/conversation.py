"""The conversation the QA scorer reads (pure): :class:`Turn` and :class:`Conversation`, what
the scorer needs of the guard (:class:`Screener`), its error, and the JSON input of
``kefu qa score`` (:func:`parse_conversation`)."""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Protocol

ROLES = ("customer", "agent", "system", "note")


class QualityError(ValueError):
    """A malformed scorecard or policy (naming the file, the item and the field), or a
    conversation the scorer cannot read."""


# --- input -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Turn:
    """One message of a conversation. ``guard_verdict``/``guard_categories`` carry the guard's
    record when the desk stored one; ``override`` says the agent confirmed a warning to send."""

    role: str
    text: str
    at: datetime | None = None
    guard_verdict: str | None = None
    guard_categories: tuple[str, ...] = ()
    override: bool = False


@dataclass(frozen=True)
class Conversation:
    channel: str
    resolved: bool
    turns: tuple[Turn, ...]
    lang: str = "zh"


class Screener(Protocol):
    """What the scorer needs of the compliance guard (``kefu.compliance.guard.Guard``)."""

    def screen(self, text: str, role: Any = "agent") -> Any: ...


def _lang(lang: str) -> str:
    return "en" if lang.lower().startswith("en") else "zh"


_CJK = re.compile(r"[\u3400-\u9fff]")


def _when(value: Any, where: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise QualityError(f"{where}: expected an ISO 8601 time string")
    try:
        when = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise QualityError(f"{where}: {value!r} is not an ISO 8601 time") from None
    if when.tzinfo is None:
        raise QualityError(
            f"{where}: {value!r} has no time zone (write e.g. 2026-03-02T10:00:00+08:00)"
        )
    return when


def parse_conversation(data: Any, channels: Iterable[str] | None = None) -> Conversation:
    """``{"channel", "resolved", "messages": [{"role": "customer"|"agent", "text", "at"}]}``
    (optional ``"lang"``: zh or en, else guessed from the agent's words) as a
    :class:`Conversation`; a bad field raises :class:`QualityError` naming it."""
    if not isinstance(data, Mapping):
        raise QualityError("input: expected a JSON object with channel, resolved and messages")
    channel = data.get("channel")
    if not isinstance(channel, str) or not channel:
        raise QualityError("channel: expected a string (chat, web, phone or email)")
    allowed = tuple(channels) if channels is not None else None
    if allowed is not None and channel not in allowed:
        raise QualityError(f"channel: {channel!r} is not one of {', '.join(allowed)}")
    resolved = data.get("resolved")
    if not isinstance(resolved, bool):
        raise QualityError("resolved: expected true or false")
    messages = data.get("messages")
    if not isinstance(messages, list) or not messages:
        raise QualityError("messages: expected a non-empty list")
    turns: list[Turn] = []
    for i, m in enumerate(messages):
        where = f"messages[{i}]"
        if not isinstance(m, Mapping):
            raise QualityError(f"{where}: expected an object with role, text and at")
        role = m.get("role")
        if role not in ("customer", "agent"):
            raise QualityError(f"{where}.role: expected customer or agent, not {role!r}")
        text = m.get("text")
        if not isinstance(text, str) or not text.strip():
            raise QualityError(f"{where}.text: expected a non-empty string")
        turns.append(Turn(str(role), text, _when(m.get("at"), f"{where}.at")))
    lang = data.get("lang")
    if lang is None:
        agent_text = "".join(t.text for t in turns if t.role == "agent") or turns[0].text
        lang = "zh" if _CJK.search(agent_text) else "en"
    if lang not in ("zh", "en"):
        raise QualityError(f"lang: expected zh or en, not {lang!r}")
    return Conversation(channel=channel, resolved=resolved, turns=tuple(turns), lang=str(lang))
