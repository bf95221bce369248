"""The desk's part of content/ (``KEFU_CONTENT_DIR``): business calendars and SLA policies
(policies/sla.yaml) and canned replies (policies/canned_replies.yaml).

Loading creates what the database lacks and leaves existing rows as they are: calendars, SLA
targets and canned replies are edited in /admin afterwards, and those edits must survive the
next ``kefu content sync`` (so running it twice changes nothing the second time). The routing
policy (policies/routing.yaml) is read by desk/triage.py."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core import actions, audit
from kefu.core.actions import action
from kefu.core.config import get_settings
from kefu.desk import sla
from kefu.desk.audit import DeskAudit
from kefu.desk.models import BusinessCalendar, CannedReply, CaseStatus, SlaPolicy
from kefu.desk.statuses import ensure_builtin_statuses
from kefu.desk.teams import load_teams
from kefu.knowledge import service as knowledge

CANNED_FIELDS = ("key", "category", "title_zh", "title_en", "body_zh", "body_en")


@dataclass
class ContentReport:
    calendars: list[str] = field(default_factory=list)
    sla_policies: list[str] = field(default_factory=list)
    canned_replies: list[str] = field(default_factory=list)
    statuses: list[str] = field(default_factory=list)
    teams: list[str] = field(default_factory=list)

    def created(self) -> int:
        return (
            len(self.calendars)
            + len(self.sla_policies)
            + len(self.canned_replies)
            + len(self.statuses)
            + len(self.teams)
        )

    def to_dict(self) -> dict[str, list[str]]:
        return {
            "statuses": self.statuses,
            "calendars": self.calendars,
            "sla_policies": self.sla_policies,
            "canned_replies": self.canned_replies,
            "teams": self.teams,
        }


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def read_sla(content: Path | None = None) -> dict[str, Any]:
    """policies/sla.yaml: {"calendars": [...], "policies": [...]}."""
    return _read((content or get_settings().content_dir) / "policies" / "sla.yaml")


def read_canned(content: Path | None = None) -> list[dict[str, Any]]:
    """policies/canned_replies.yaml: the canned replies, their ``{{rule:…}}`` placeholders
    rendered with the rules registry (the values in force today), as the articles are."""
    folder = content or get_settings().content_dir
    data = _read(folder / "policies" / "canned_replies.yaml")
    registry = knowledge.rules(folder if knowledge.rules_path(folder).exists() else None)
    out = []
    for reply in data.get("canned_replies", []):
        reply = dict(reply)
        for name in ("body_zh", "body_en"):
            if isinstance(reply.get(name), str):
                try:
                    reply[name] = registry.render(reply[name], name.removeprefix("body_"))
                except knowledge.RuleError as exc:
                    raise ValueError(
                        f"canned_replies.yaml: {reply.get('key')}: {name}: {exc}"
                    ) from exc
        out.append(reply)
    return out


def _calendar(c: dict[str, Any]) -> BusinessCalendar:
    row = BusinessCalendar(
        name=c["name"],
        timezone=c["timezone"],
        hours={k: list(v or []) for k, v in c["hours"].items()},
        holidays=[str(d) for d in c.get("holidays", [])],
        workdays=[str(d) for d in c.get("workdays", [])],
        source=str(c.get("source", "")),
    )
    # validated by the SLA engine before anything is written
    sla.Calendar.from_dict(
        {
            "name": row.name,
            "timezone": row.timezone,
            "hours": row.hours,
            "holidays": row.holidays,
            "workdays": row.workdays,
        }
    )
    return row


@action
def sync(db: Session, content: Path | None = None, *, actor_id: int | None = None) -> ContentReport:
    """Creates the calendars, SLA policies (by priority) and canned replies (by key) of
    ``content`` (default: the configured content folder) that the database lacks."""
    report = ContentReport()
    data = read_sla(content)
    cals: dict[str, BusinessCalendar] = {c.name: c for c in db.scalars(select(BusinessCalendar))}
    # the built-in statuses (seeded by migration 0007; restored here if someone removed them)
    before = set(db.scalars(select(CaseStatus.key)))
    ensure_builtin_statuses(db)
    report.statuses = sorted(set(db.scalars(select(CaseStatus.key))) - before)
    for c in data.get("calendars", []):
        if c["name"] in cals:
            continue
        row = _calendar(c)
        db.add(row)
        cals[row.name] = row
        report.calendars.append(row.name)
    db.flush()
    have = {(c, p) for c, p in db.execute(select(SlaPolicy.channel, SlaPolicy.priority))}
    for p in data.get("policies", []):
        key = (str(p.get("channel", "any")), str(p["priority"]))
        if key in have:
            continue
        db.add(
            SlaPolicy(
                channel=key[0],
                priority=p["priority"],
                first_response_minutes=p["first_response_minutes"],
                resolution_minutes=p["resolution_minutes"],
                calendar_id=cals[p["calendar"]].id,
                near_breach_percent=p.get("near_breach_percent", 80),
            )
        )
        have.add(key)
        report.sla_policies.append(key[1] if key[0] == "any" else f"{key[0]}:{key[1]}")
    keys = set(db.scalars(select(CannedReply.key)))
    for c in read_canned(content):
        if c["key"] not in keys:
            db.add(CannedReply(**{k: c[k] for k in CANNED_FIELDS}))
            keys.add(c["key"])
            report.canned_replies.append(str(c["key"]))
    db.flush()
    # the teams of policies/teams.yaml (each created by its own audited action)
    report.teams = load_teams(db, content)
    if report.created():
        audit.record(
            db,
            actor_id=actor_id,
            action=DeskAudit.content_load,
            entity="content",
            entity_id="desk",
            data=report.to_dict(),
        )
    else:
        actions.unchanged(db)
    return report
