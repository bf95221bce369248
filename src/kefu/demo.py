"""Loads the demo data from content/demo (idempotent: existing rows are left as they are)."""

from __future__ import annotations

import re
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.academy import demo as academy
from kefu.aml import service as aml
from kefu.compliance.content import screen
from kefu.core.db import utcnow
from kefu.core.security import Role, User, hash_password
from kefu.customers import demo_data as customers_demo
from kefu.customers import service as customers
from kefu.customers.models import Customer, FundTransfer, Position, Trade, TradingAccount
from kefu.desk import content as desk_content
from kefu.desk import service as desk
from kefu.desk import teams as desk_teams
from kefu.desk.models import (
    CATEGORIES,
    AgentProfile,
    Case,
    CsatSurvey,
)
from kefu.knowledge import service as knowledge
from kefu.market.content import load_demo_market
from kefu.quality import demo as quality

DEMO_PASSWORD = "kefu-demo"
_AGE = re.compile(r"^(?:(\d+)d)?(?:(\d+)h)?(?:(\d+)m)?$")


def parse_age(text: str) -> timedelta:
    m = _AGE.match(str(text).strip())
    if not m or not any(m.groups()):
        raise ValueError(f"bad age {text!r}: use e.g. 2d4h, 3h20m, 45m")
    d, h, mi = (int(x or 0) for x in m.groups())
    return timedelta(days=d, hours=h, minutes=mi)


def _read(path: Path) -> dict[str, Any]:
    if not path.exists():
        return {}
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        raise ValueError(f"{path}: expected a mapping at the top level")
    return data


def _dt(value: Any) -> datetime:
    v = value if isinstance(value, datetime) else datetime.fromisoformat(str(value))
    if v.tzinfo is None:
        raise ValueError(f"timestamp {value!r} has no UTC offset")
    return v.astimezone(UTC)


def _dec(value: Any) -> Decimal | None:
    return None if value is None else Decimal(str(value))


def load_policies(db: Session, content: Path) -> None:
    """The desk's content (calendars, SLA policies, canned replies: desk/content.py) and the
    built-in case statuses."""
    desk_content.sync(db, content)
    desk.ensure_builtin_statuses(db)
    db.flush()


def _user(
    db: Session,
    username: str,
    role: str,
    name_zh: str = "",
    name_en: str = "",
    language: str = "zh-CN",
    trainee: bool = False,
) -> User:
    u = db.scalar(select(User).where(User.username == username))
    if u is None:
        u = User(
            username=username,
            role=role,
            display_name=name_zh or username,
            display_name_en=name_en,
            password_hash=hash_password(DEMO_PASSWORD),
            language=language,
            is_trainee=trainee,
        )
        db.add(u)
        db.flush()
    return u


def load_demo(db: Session, content: Path) -> dict[str, int]:
    counts = {"users": 0, "customers": 0, "cases": 0}
    load_policies(db, content.parent)
    # the knowledge base first: routing records each demo case's intent (its answering article)
    knowledge.ensure_loaded(db)
    demo = content
    staff: dict[str, User] = {}
    for s in _read(demo / "users.yaml").get("staff", []):
        u = _user(
            db,
            s["username"],
            s["role"],
            s.get("name_zh", ""),
            s.get("name_en", ""),
            trainee=bool(s.get("trainee")),
        )
        staff[u.username] = u
        counts["users"] += 1
        if u.role in (Role.agent, Role.supervisor) and db.get(AgentProfile, u.id) is None:
            db.add(
                AgentProfile(
                    user_id=u.id,
                    presence="offline",
                    capacity=int(s.get("capacity", 5)),
                    languages=list(s.get("languages", ["zh"])),
                    categories=list(s.get("categories", list(CATEGORIES))),
                )
            )
    db.flush()
    desk_teams.load_demo_members(db, demo / "teams.yaml")  # who works which team's escalations
    admin = staff.get("admin") or _user(db, "admin", "admin")
    by_user: dict[str, Customer] = {}
    for c in _read(demo / "customers.yaml").get("customers", []):
        lang = "en-US" if c.get("language") == "en" else "zh-CN"
        u = _user(db, c["username"], "customer", c["name_zh"], c.get("name_en", ""), lang)
        cust = db.scalar(select(Customer).where(Customer.user_id == u.id))
        if cust is None:
            opened = c.get("opened_on")
            cust = customers.create_customer(
                db,
                actor=admin,
                code=c["username"].upper().replace("CUSTOMER", "C"),
                name_zh=c["name_zh"],
                name_en=c.get("name_en", ""),
                user_id=u.id,
                language=c.get("language", "zh"),
                city=str(c.get("city", "")),
                opened_on=opened if isinstance(opened, date) else None,
                phone=str(c.get("phone", "")),
                email=str(c.get("email", "")),
                id_type=c.get("id_type", "resident_id"),
                id_number=str(c.get("id_number", "")),
                kyc_status=c.get("kyc_status", "verified"),
                risk_level=c.get("risk_level", "C3"),
            )
            bank = c.get("bank")
            if bank:
                customers.add_bank_card(
                    db,
                    customer=cust,
                    bank_name_zh=bank["name_zh"],
                    bank_name_en=bank.get("name_en", ""),
                    card=str(bank["card"]),
                )
            counts["customers"] += 1
        by_user[c["username"]] = cust
        accts = {
            a.number: a
            for a in db.scalars(select(TradingAccount).where(TradingAccount.customer_id == cust.id))
        }
        for a in c.get("accounts", []):
            if a["number"] in accts:
                continue
            accts[a["number"]] = customers.add_account(
                db,
                customer=cust,
                number=str(a["number"]),
                kind=a["kind"],
                currency=a.get("currency", "CNY"),
                cash=_dec(a.get("cash", "0")),
                frozen=_dec(a.get("frozen", "0")),
                debt=_dec(a.get("debt", "0")),
                credit_limit=_dec(a.get("credit_limit", "0")),
                status=a.get("status", "active"),
            )
        if not db.scalar(
            select(Position.id).where(Position.account_id.in_([a.id for a in accts.values()]))
        ):
            for p in c.get("positions", []):
                db.add(
                    Position(
                        account_id=accts[str(p["account"])].id,
                        symbol=str(p["symbol"]),
                        name_zh=p.get("name_zh", ""),
                        name_en=p.get("name_en", ""),
                        qty=int(p["qty"]),
                        avg_cost=_dec(p["avg_cost"]),
                        last_price=_dec(p["last_price"]),
                    )
                )
        refs = set(
            db.scalars(
                select(Trade.ref).where(Trade.account_id.in_([a.id for a in accts.values()]))
            )
        )
        for t in c.get("trades", []):
            if str(t["id"]) in refs:
                continue
            db.add(
                Trade(
                    ref=str(t["id"]),
                    account_id=accts[str(t["account"])].id,
                    at=_dt(t["at"]),
                    kind=t.get("kind", "stock"),
                    symbol=str(t["symbol"]),
                    name_zh=t.get("name_zh", ""),
                    name_en=t.get("name_en", ""),
                    status=t.get("status", "filled"),
                    reason_zh=t.get("reason_zh", ""),
                    reason_en=t.get("reason_en", ""),
                    side=t.get("side"),
                    qty=t.get("qty"),
                    price=_dec(t.get("price")),
                    direction=t.get("direction"),
                    stake=_dec(t.get("stake")),
                    payout_rate=_dec(t.get("payout_rate")),
                    entry_price=_dec(t.get("entry_price")),
                    expiry_at=_dt(t["expiry_at"]) if t.get("expiry_at") else None,
                    settle_price=_dec(t.get("settle_price")),
                    result=t.get("result"),
                )
            )
        frefs = set(
            db.scalars(
                select(FundTransfer.ref).where(
                    FundTransfer.account_id.in_([a.id for a in accts.values()])
                )
            )
        )
        for f in c.get("transfers", []):
            if str(f["id"]) in frefs:
                continue
            db.add(
                FundTransfer(
                    ref=str(f["id"]),
                    account_id=accts[str(f["account"])].id,
                    at=_dt(f["at"]),
                    direction=f["direction"],
                    amount=_dec(f["amount"]),
                    status=f.get("status", "completed"),
                    channel=f.get("channel", "bank_transfer"),
                    reason_zh=f.get("reason_zh", ""),
                    reason_en=f.get("reason_en", ""),
                )
            )
        db.flush()
    counts.update(load_demo_market(db, demo))
    counts |= customers_demo.load(db, demo / "kyc.yaml", reviewer=staff.get("compliance", admin))
    now = utcnow()
    for spec in _read(demo / "cases.yaml").get("cases", []):
        if db.scalar(select(Case.id).where(Case.external_ref == spec["ref"])):
            continue
        cust = by_user[spec["customer"]]
        cust_user = db.get(User, cust.user_id) if cust.user_id else admin
        created = now - parse_age(spec.get("age", "1h"))
        by_customer = spec.get("channel", "web") in ("chat", "web") and cust_user is not None
        creator = cust_user if by_customer and cust_user is not None else admin
        case = desk.create_case(
            db,
            actor=creator,
            customer_id=cust.id,
            channel=spec.get("channel", "web"),
            subject=spec["subject"],
            category=spec["category"],
            priority=spec.get("priority", "normal"),
            language=spec.get("language", "zh"),
            transcript=spec.get("transcript", "") or "",
            call_minutes=spec.get("call_minutes"),
            external_ref=spec["ref"],
            created_at=created,
            status="new",
            auto_assign=False,
            # a phone or e-mail case is typed in by staff: its subject is screened like a reply,
            # and the demo's agents have confirmed the guard's warnings where there are any
            confirm_warning=True,
        )
        last = created
        for m in spec.get("messages", []):
            at = created + parse_age(m.get("after", "0m"))
            by = m.get("by", "customer")
            author = cust_user if by == "customer" else (None if by == "system" else staff[by])
            kind = m.get("kind") or (
                "customer" if by == "customer" else "system" if by == "system" else "agent"
            )
            body = str(m["body"]).strip()
            redacted = screen(body, "customer").redacted if kind == "customer" else body
            desk.add_message(
                db, case=case, actor=author, kind=kind, body=body, at=at, redacted=redacted
            )
            if kind == "agent" and case.first_response_at is None:
                case.first_response_at = at
            last = max(last, at)
        if spec.get("assignee"):
            case.assignee_id = staff[spec["assignee"]].id
        status = spec.get("status", "open")
        if status != "new":
            desk.change_status(
                db, case=case, actor=None, key=status, now=min(last + timedelta(minutes=1), now)
            )
        desk.refresh_next_due(case)
        csat = spec.get("csat")
        if csat and case.status_category in ("resolved", "closed"):
            survey = db.scalar(select(CsatSurvey).where(CsatSurvey.case_id == case.id))
            if survey is None:
                survey = CsatSurvey(case_id=case.id, requested_at=last)
                db.add(survey)
            survey.score, survey.comment = int(csat["score"]), str(csat.get("comment", ""))
            survey.answered_at = min(last + timedelta(hours=1), now)
        counts["cases"] += 1
        db.flush()
    counts["evaluations"] = quality.load_demo(db, demo)
    counts["trainees"] = academy.load_demo(db, demo)
    # AML: planted monitoring patterns through the back-office feed (kefu.aml)
    counts["aml_alerts"] = aml.load_demo(db, demo / "aml.yaml")["alerts"]
    counts["macros"] = desk.load_macros(
        db, actor=admin, specs=_read(demo / "macros.yaml")["macros"]
    )
    return counts
