"""Every route × every role, generated from the permission table.

Each route registered on the app declares its access below as data; the expected status for
every role follows from ``kefu.core.security.PERMISSIONS`` (through ``can``), so a change to the
table or to a route's checks shows up here. A route that is registered but not declared fails
``test_every_route_declares_its_access``: no route ships without a declared access.

Access markers:

- ``"public"``: no login needed;
- ``"login"``: any logged-in user;
- ``"customer"``: customers only (a role check, not a permission);
- a permission name: the roles holding it (``can``: trainees hold no ``pii.reveal``);
- ``"own:<perm>"``: a customer reaches their own object, another customer's answers 404 (the
  tenancy rule); staff need ``<perm>``;
- ``"mine:<perm>"``: a customer gets a list filtered to their own data; staff need ``<perm>``.

How a refusal looks depends on the kind of route (what the consoles do today):

- ``api``: anonymous 401, refused 403 (problem+json);
- ``page``: a console page; anonymous 303 to /login, refused 403 (HTML error page);
- ``desk``: a desk page; anonymous 303 to /login, a customer 303 to the portal, refused 403;
- ``fragment``: an htmx fragment; anonymous 401, a customer 401, refused 403;
- ``admin_form``: an admin-console form; anonymous 303 to /login, roles outside the admin console
  403, an admin-console role without the permission 303 back with the refusal flashed;
- ``ws``: the socket; anonymous closed with 4401.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import unquote_plus

import pytest
from fastapi.testclient import TestClient
from sqlalchemy import select
from starlette.routing import Mount
from starlette.websockets import WebSocketDisconnect

from kefu.core.db import Database
from kefu.core.security import PERMISSIONS, Role, User, can, open_session
from kefu.web.app import create_app
from tests import conftest
from tests.conftest import PG_URL, make_user

# --- the roles -------------------------------------------------------------------------------

#: role -> (username, role, is_trainee); "other_customer" probes the tenancy rule: the path ids
#: below belong to "customer" (alice), never to bob
ROLES: dict[str, tuple[str, str, bool] | None] = {
    "anonymous": None,
    "customer": ("alice", "customer", False),
    "other_customer": ("bob", "customer", False),
    "agent": ("agent1", "agent", False),
    "trainee": ("trainee", "agent", True),
    "supervisor": ("supervisor", "supervisor", False),
    "compliance": ("compliance", "compliance", False),
    "trainer": ("trainer", "trainer", False),
    "admin": ("admin", "admin", False),
}
ADMIN_CONSOLE = {"admin", "supervisor"}  # core.http.ADMIN_CONSOLE (a role list, see /admin)


# --- the world the requests run against ------------------------------------------------------


@dataclass
class World:
    client: TestClient
    database: Database
    ids: dict[str, Any]
    article: dict[str, Any]
    sessions: dict[str, tuple[str, str]] = field(default_factory=dict)  # role -> (token, csrf)

    def login(self, username: str) -> tuple[str, str]:
        r = self.client.post(
            "/api/v1/auth/login", json={"username": username, "password": "kefu-demo"}
        )
        assert r.status_code == 200, r.text
        self.client.cookies.clear()
        return r.json()["token"], r.json()["csrf_token"]

    def fresh_session(self, username: str) -> tuple[str, str]:
        """A new session without the password hash's cost, for requests that end theirs."""
        with self.database.session() as s:
            user = s.scalar(select(User).where(User.username == username))
            assert user is not None
            token, row = open_session(s, user)
            return token, row.csrf_token


Body = Callable[[World], dict[str, Any]]


@dataclass(frozen=True)
class Access:
    access: str
    kind: str = "api"
    body: Body | None = None  # JSON for api routes, form fields for the others
    query: str = ""
    revokes: bool = False  # the request ends its session: it gets a fresh login


def _case_body(w: World) -> dict[str, Any]:
    return {"subject": "矩阵测试", "category": "account", "customer_id": w.ids["customer_id"]}


def _kb_form(w: World) -> dict[str, Any]:
    a = w.article
    return {
        "category": a["category"],
        "title_zh": a["title_zh"],
        "title_en": a["title_en"],
        "body_zh": a["body_zh"],
        "body_en": a["body_en"],
        "tags": ", ".join(a["tags"]),
        "questions_zh": "\n".join(a["questions_zh"]),
        "questions_en": "\n".join(a["questions_en"]),
        "sources": "\n".join(a["sources"]),
    }


def _sla_form(w: World) -> dict[str, Any]:
    return {
        "first_response_minutes": 15,
        "resolution_minutes": 240,
        "calendar_id": w.ids["calendar_id"],
        "near_breach_percent": 80,
    }


#: (method, path) -> declared access. Read each route's code before changing a line here.
ROUTES: dict[tuple[str, str], Access] = {
    # --- infrastructure
    ("GET", "/openapi.json"): Access("public"),
    ("GET", "/api/docs"): Access("public"),
    ("GET", "/docs/oauth2-redirect"): Access("public"),
    ("GET", "/healthz"): Access("public"),
    ("GET", "/static"): Access("public", query="/kefu.css"),
    ("WS", "/ws"): Access("login", kind="ws"),
    # --- auth API
    ("POST", "/api/v1/auth/login"): Access(
        "public", body=lambda w: {"username": "alice", "password": "kefu-demo"}
    ),
    ("POST", "/api/v1/auth/logout"): Access("login", revokes=True),
    ("GET", "/api/v1/me"): Access("login"),
    # --- desk API
    ("GET", "/api/v1/cases"): Access("mine:case.read_all"),
    ("POST", "/api/v1/cases"): Access("case.create", body=_case_body),
    ("GET", "/api/v1/cases/{case_id}"): Access("own:case.read_all"),
    ("PATCH", "/api/v1/cases/{case_id}"): Access("case.update", body=lambda w: {}),
    ("POST", "/api/v1/cases/{case_id}/tags"): Access(
        "case.update", body=lambda w: {"add": ["vip"]}
    ),
    ("POST", "/api/v1/cases/bulk"): Access(
        "case.update", body=lambda w: {"case_ids": [w.ids["case_id"]], "priority": "high"}
    ),
    # the e-mail record of a case: delivery states are staff information
    ("GET", "/api/v1/cases/{case_id}/mail"): Access("case.read_all"),
    ("GET", "/api/v1/cases/{case_id}/messages"): Access("own:case.read_all"),
    ("POST", "/api/v1/cases/{case_id}/messages"): Access(
        "own:message.reply", body=lambda w: {"body": "您好"}
    ),
    # without a file the allowed roles get 422 (the matrix checks access, not uploads)
    ("POST", "/api/v1/cases/{case_id}/attachments"): Access("own:message.reply", body=lambda w: {}),
    ("GET", "/api/v1/attachments/{attachment_id}"): Access("own:case.read_all"),
    ("POST", "/api/v1/cases/{case_id}/csat"): Access(
        "own:csat.submit", body=lambda w: {"score": 5}
    ),
    ("GET", "/api/v1/statuses"): Access("login"),
    ("POST", "/api/v1/statuses"): Access(
        "sla.manage",
        body=lambda w: {"key": "matrix", "category": "pending", "name_zh": "矩阵", "name_en": "M"},
    ),
    ("GET", "/api/v1/canned"): Access("canned.use"),
    ("POST", "/api/v1/canned/{key}/render"): Access("canned.use", body=lambda w: {}),
    ("PATCH", "/api/v1/canned/{key}"): Access("canned.manage", body=lambda w: {}),
    ("GET", "/api/v1/macros"): Access("macro.use"),
    ("POST", "/api/v1/macros"): Access(
        "macro.use", body=lambda w: {"name": "matrix", "body_zh": "您好"}
    ),
    # the fixture's macro is shared: changing it needs canned.manage
    ("PATCH", "/api/v1/macros/{macro_id}"): Access("canned.manage", body=lambda w: {}),
    ("POST", "/api/v1/cases/{case_id}/macros/{macro_id}"): Access("case.update"),
    ("DELETE", "/api/v1/macros/{macro_id}"): Access("canned.manage"),
    ("DELETE", "/api/v1/canned/{key}"): Access("canned.manage"),
    # saved views and merging (desk/views_routes.py): no such view or target, so the roles
    # allowed meet a 404 past the permission check and nothing changes
    ("GET", "/api/v1/views"): Access("case.read_all"),
    ("POST", "/api/v1/views"): Access("case.read_all", body=lambda w: {"name": "矩阵视图"}),
    ("PATCH", "/api/v1/views/{view_id}"): Access("case.read_all", body=lambda w: {"name": "x"}),
    ("DELETE", "/api/v1/views/{view_id}"): Access("case.read_all"),
    ("GET", "/api/v1/views/{view_id}/cases"): Access("case.read_all"),
    ("POST", "/api/v1/cases/{case_id}/merge"): Access(
        "case.update", body=lambda w: {"target_id": 2**31 - 1}
    ),
    ("GET", "/api/v1/sla/policies"): Access("case.read_all"),
    # teams and escalation (the ids below hold no escalation or team: allowed roles meet 404)
    ("GET", "/api/v1/teams"): Access("case.read_all"),
    ("POST", "/api/v1/teams"): Access(
        "team.manage",
        body=lambda w: {"code": "matrix", "name_zh": "矩阵", "name_en": "M", "ola_minutes": 60},
    ),
    ("PATCH", "/api/v1/teams/{team_id}"): Access("team.manage", body=lambda w: {}),
    ("POST", "/api/v1/teams/{team_id}/members"): Access(
        "team.manage", body=lambda w: {"user_id": w.ids["user_id"]}
    ),
    ("DELETE", "/api/v1/teams/{team_id}/members/{user_id}"): Access("team.manage"),
    ("GET", "/api/v1/escalations"): Access("case.read_all"),
    ("GET", "/api/v1/escalations/summary"): Access("case.assign"),
    ("GET", "/api/v1/escalations/{escalation_id}"): Access("case.read_all"),
    ("GET", "/api/v1/cases/{case_id}/escalations"): Access("case.read_all"),
    ("POST", "/api/v1/cases/{case_id}/escalations"): Access(
        "case.update", body=lambda w: {"team_id": w.ids["team_id"], "note": "矩阵"}
    ),
    # what the customer is told of the team checking their case (staff see the same)
    ("GET", "/api/v1/cases/{case_id}/escalation-status"): Access("own:case.read_all"),
    ("POST", "/api/v1/escalations/{escalation_id}/messages"): Access(
        "escalation.work", body=lambda w: {"body": "矩阵"}
    ),
    ("POST", "/api/v1/escalations/{escalation_id}/answer"): Access(
        "escalation.work", body=lambda w: {"body": "矩阵"}
    ),
    ("POST", "/api/v1/escalations/{escalation_id}/close"): Access("escalation.work"),
    ("PUT", "/api/v1/agents/me/presence"): Access(
        "presence.set", body=lambda w: {"presence": "offline"}
    ),
    ("GET", "/api/v1/agents"): Access("case.read_all"),
    ("POST", "/api/v1/chats"): Access("customer", body=lambda w: {"body": "你好"}),
    ("GET", "/api/v1/cases/{case_id}/queue"): Access("own:case.read_all"),
    ("POST", "/api/v1/cases/{case_id}/handover"): Access(
        "case.take", body=lambda w: {"to_user_id": w.ids["agent1"]}
    ),
    # ending a chat writes to the conversation: the desk's writers and the customer themself
    ("POST", "/api/v1/cases/{case_id}/end"): Access(
        "own:case.update", body=lambda w: {"resolve": False}
    ),
    ("POST", "/api/v1/cases/{case_id}/leave-message"): Access("own:case.update"),
    # --- customers API
    ("GET", "/api/v1/customers"): Access("customer.read"),
    ("GET", "/api/v1/customers/{customer_id}"): Access("own:customer.read"),
    ("POST", "/api/v1/customers/{customer_id}/reveal"): Access(
        "pii.reveal", body=lambda w: {"field": "phone", "reason": "caller verification"}
    ),
    # --- compliance API
    # KYC and suitability (customers/views.py)
    ("GET", "/api/v1/customers/{customer_id}/kyc"): Access("own:customer.read"),
    ("PUT", "/api/v1/customers/{customer_id}/kyc"): Access(
        "kyc.manage",
        body=lambda w: {
            "doc_type": "resident_id",
            "doc_number": "11010519491231002X",
            "funds_source": "salary",
        },
    ),
    ("POST", "/api/v1/customers/{customer_id}/kyc/review"): Access(
        "kyc.review", body=lambda w: {"status": "rejected", "note": "证件照片模糊"}
    ),
    ("GET", "/api/v1/kyc/tasks"): Access("customer.read"),
    ("POST", "/api/v1/kyc/tasks/{task_id}/close"): Access("kyc.manage", body=lambda w: {}),
    ("POST", "/api/v1/kyc/scan"): Access("kyc.review"),
    ("GET", "/api/v1/suitability/questionnaire"): Access("login"),
    ("GET", "/api/v1/products"): Access("login"),
    ("GET", "/api/v1/customers/{customer_id}/suitability"): Access("own:customer.read"),
    ("GET", "/api/v1/customers/{customer_id}/suitability/check"): Access(
        "customer.read", query="?product=MARGIN"
    ),
    ("POST", "/api/v1/customers/{customer_id}/professional"): Access(
        "kyc.review", body=lambda w: {"professional": True, "basis": "金融资产证明"}
    ),
    ("POST", "/api/v1/suitability/assessments"): Access(
        "customer", body=lambda w: {"answers": {"age": "a"}}
    ),
    ("POST", "/api/v1/suitability/requests"): Access(
        "customer", body=lambda w: {"product": "MMF-XINLI"}
    ),
    ("POST", "/api/v1/suitability/requests/{request_id}/confirm"): Access(
        "customer", body=lambda w: {"acknowledged": True}
    ),
    ("POST", "/api/v1/screen"): Access("screen.use", body=lambda w: {"text": "您好"}),
    # --- AML: back-office feeds and the alert list (aml/views.py)
    ("POST", "/api/v1/feeds/customers"): Access(
        "feeds.write",
        body=lambda w: {"records": [{"customer_id": "M1", "name": "矩阵", "type": "individual"}]},
    ),
    ("POST", "/api/v1/feeds/trades"): Access(
        "feeds.write",
        body=lambda w: {
            "records": [
                {
                    "trade_id": "MT1",
                    "customer_id": "C01",
                    "ts": "2026-12-01T10:00:00+08:00",
                    "side": "buy",
                    "symbol": "600519",
                    "qty": 100,
                    "price": "10",
                }
            ]
        },
    ),
    ("POST", "/api/v1/feeds/transfers"): Access(
        "feeds.write",
        body=lambda w: {
            "records": [
                {
                    "transfer_id": "MF1",
                    "customer_id": "C01",
                    "ts": "2026-12-01T10:00:00+08:00",
                    "kind": "deposit",
                    "amount": "100",
                    "method": "bank_transfer",
                }
            ]
        },
    ),
    ("GET", "/api/v1/aml/alerts"): Access("aml.read"),
    # --- knowledge API
    ("GET", "/api/v1/kb/search"): Access("kb.read", query="?q=提现"),
    ("GET", "/api/v1/calc/{kind}"): Access("kb.read", query="?side=sell&price=10&qty=1000"),
    ("GET", "/api/v1/kb/articles"): Access("kb.read"),
    ("GET", "/api/v1/kb/articles/{slug}"): Access("kb.read"),
    ("PATCH", "/api/v1/kb/articles/{slug}"): Access("kb.manage", body=lambda w: {}),
    ("GET", "/api/v1/kb/articles/{slug}/versions"): Access("kb.manage"),
    ("POST", "/api/v1/kb/articles/{slug}/candidates"): Access(
        "kb.suggest", body=lambda w: {"case_id": w.ids["case_id"]}
    ),
    ("GET", "/api/v1/kb/articles/{slug}/candidates"): Access("kb.manage"),
    ("POST", "/api/v1/kb/articles/{slug}/candidates/{candidate_id}"): Access(
        "kb.manage", body=lambda w: {"accept": False}
    ),
    ("POST", "/api/v1/kb/route"): Access("case.read_all", body=lambda w: {"text": "提现没到账"}),
    # --- login, language, portal (identity/pages.py, desk/pages.py)
    ("GET", "/login"): Access("public", kind="page"),
    ("POST", "/login"): Access(
        "public", kind="page", body=lambda w: {"username": "alice", "password": "kefu-demo"}
    ),
    # logging out without a session is a no-op redirect to /login
    ("POST", "/logout"): Access("public", kind="page", body=lambda w: {}, revokes=True),
    ("GET", "/lang/{code}"): Access("public", kind="page"),
    # staff are sent on to the desk
    ("GET", "/"): Access("login", kind="page"),
    ("GET", "/widget"): Access("login", kind="page"),
    ("POST", "/chat/start"): Access("customer", kind="page", body=lambda w: {"body": "你好"}),
    # staff are sent on to /desk/cases/{case_id}
    ("GET", "/cases/{case_id}"): Access("own:case.read_all", kind="page"),
    ("POST", "/cases/{case_id}/csat"): Access(
        "own:csat.submit", kind="page", body=lambda w: {"score": 5}
    ),
    # the customer's own e-mail notification switch (staff have none: 403)
    ("POST", "/portal/email-notify"): Access("customer", kind="page", body=lambda w: {"on": "0"}),
    # --- desk console: gated on a role list (pages.STAFF_DESK) equal to case.read_all's roles
    ("GET", "/desk"): Access("case.read_all", kind="desk"),
    ("GET", "/desk/cases/{case_id}"): Access("case.read_all", kind="desk"),
    ("GET", "/desk/queue"): Access("case.read_all", kind="fragment"),
    ("GET", "/desk/macros"): Access("macro.use", kind="desk"),
    ("GET", "/desk/customers"): Access("customer.read", kind="desk", query="?q=王"),
    ("GET", "/desk/customers/{customer_id}"): Access("customer.read", kind="desk"),
    ("POST", "/desk/views"): Access("case.read_all", kind="desk", body=lambda w: {"name": "矩阵"}),
    ("POST", "/desk/views/{view_id}/rename"): Access(
        "case.read_all", kind="desk", body=lambda w: {"name": "x"}
    ),
    ("POST", "/desk/views/{view_id}/delete"): Access(
        "case.read_all", kind="desk", body=lambda w: {}
    ),
    ("POST", "/admin/agents/{user_id}/profile"): Access(
        "case.assign",
        kind="admin_form",
        body=lambda w: {"capacity": "3", "languages": "zh", "categories": "funds"},
    ),
    ("POST", "/desk/cases/{case_id}/merge"): Access(
        "case.update", kind="desk", body=lambda w: {"target_id": 2**31 - 1}
    ),
    ("GET", "/desk/live"): Access("case.assign", kind="desk"),
    ("GET", "/desk/live/board"): Access("case.assign", kind="fragment"),
    ("POST", "/desk/customers/{customer_id}/reveal"): Access(
        "pii.reveal",
        kind="fragment",
        body=lambda w: {"field": "phone", "reason": "caller verification"},
    ),
    # the compliance console's review of the desk (compliance/pages.py)
    ("GET", "/compliance/guard"): Access("audit.read", kind="page", query="?kind=warn"),
    ("POST", "/compliance/guard/{audit_id}/verdict"): Access(
        "guard.review", kind="page", body=lambda w: {"verdict": "confirmed"}
    ),
    ("GET", "/compliance/guard/export.jsonl"): Access("audit.read", kind="page"),
    ("GET", "/compliance/audit"): Access("audit.read", kind="page", query="?verify=1&q=case"),
    ("GET", "/compliance/audit/export.csv"): Access("audit.read", kind="page"),
    ("GET", "/compliance/reveals"): Access("audit.read", kind="page"),
    ("GET", "/compliance/suitability"): Access("audit.read", kind="page"),
    ("GET", "/desk/customers/{customer_id}/suitability"): Access(
        "customer.read", kind="fragment", query="?product=MARGIN"
    ),
    ("GET", "/portal/suitability"): Access("customer", kind="page"),
    ("POST", "/portal/suitability"): Access("customer", kind="page", body=lambda w: {"q_age": "a"}),
    ("POST", "/portal/suitability/products"): Access(
        "customer", kind="page", body=lambda w: {"product": "MMF-XINLI"}
    ),
    ("POST", "/portal/suitability/requests/{request_id}/confirm"): Access(
        "customer", kind="page", body=lambda w: {"acknowledged": "1"}
    ),
    ("GET", "/desk/calc"): Access(
        "case.read_all", kind="fragment", query="?kind=fees&side=sell&price=10&qty=1000"
    ),
    # --- admin console: gated on the role list {admin, supervisor} = sla.manage's roles
    ("GET", "/admin"): Access("sla.manage", kind="page"),
    ("POST", "/admin/users"): Access(
        "users.manage",
        kind="admin_form",
        body=lambda w: {"username": "matrix-user", "role": "agent", "password": "kefu-demo-pw"},
    ),
    ("POST", "/admin/users/{user_id}/role"): Access(
        "users.manage", kind="admin_form", body=lambda w: {"role": "agent"}
    ),
    ("POST", "/admin/sla/{policy_id}"): Access("sla.manage", kind="admin_form", body=_sla_form),
    ("POST", "/admin/calendars/{calendar_id}/days"): Access(
        "sla.manage", kind="admin_form", body=lambda w: {"day": "2026-12-31", "kind": "holiday"}
    ),
    ("POST", "/admin/calendars/{calendar_id}/import"): Access(
        "sla.manage", kind="admin_form", body=lambda w: {}
    ),
    ("POST", "/admin/canned"): Access(
        "canned.manage",
        kind="admin_form",
        body=lambda w: {
            "key": "matrix-canned",
            "category": "account",
            "title_zh": "矩阵",
            "title_en": "Matrix",
            "body_zh": "您好",
            "body_en": "Hello",
        },
    ),
    ("POST", "/admin/canned/{key}"): Access(
        "canned.manage",
        kind="admin_form",
        body=lambda w: {
            "category": "account",
            "title_zh": "问候",
            "title_en": "Greeting",
            "body_zh": "您好！",
            "body_en": "Hello!",
        },
    ),
    ("POST", "/admin/canned/{key}/delete"): Access(
        "canned.manage", kind="admin_form", body=lambda w: {}
    ),
    # --- compliance console: AML alerts and cases (aml/pages.py)
    ("GET", "/compliance"): Access("aml.read", kind="page"),
    ("GET", "/compliance/alerts"): Access("aml.read", kind="page"),
    ("GET", "/compliance/cases"): Access("aml.read", kind="page"),
    ("GET", "/compliance/cases/{aml_case_id}"): Access("aml.read", kind="page"),
    ("POST", "/compliance/cases/{aml_case_id}/assign"): Access(
        "aml.manage", kind="page", body=lambda w: {"assignee_id": w.ids["compliance"]}
    ),
    ("POST", "/compliance/cases/{aml_case_id}/comment"): Access(
        "aml.manage", kind="page", body=lambda w: {"body": "矩阵"}
    ),
    ("POST", "/compliance/cases/{aml_case_id}/escalate"): Access(
        "aml.manage", kind="page", body=lambda w: {"reason": "矩阵"}
    ),
    ("POST", "/compliance/cases/{aml_case_id}/close"): Access(
        "aml.manage", kind="page", body=lambda w: {"outcome": "bogus", "reason": "矩阵"}
    ),
    ("POST", "/compliance/cases/{aml_case_id}/snooze"): Access(
        "aml.manage", kind="page", body=lambda w: {"rule": "large_cash", "days": 1, "reason": "m"}
    ),
    ("POST", "/compliance/cases/{aml_case_id}/report"): Access(
        "aml.manage", kind="page", body=lambda w: {"format": "csv"}
    ),
    # --- knowledge pages (knowledge/pages.py)
    ("GET", "/portal/kb"): Access("public", kind="fragment", query="?q=提现"),
    ("GET", "/desk/cases/{case_id}/kb"): Access("case.read_all", kind="fragment"),
    ("GET", "/desk/cases/{case_id}/mail"): Access("case.read_all", kind="fragment"),
    ("GET", "/desk/teams"): Access("case.read_all", kind="desk"),
    ("GET", "/desk/cases/{case_id}/escalations"): Access("case.read_all", kind="fragment"),
    ("POST", "/desk/cases/{case_id}/escalations"): Access(
        "case.update", kind="fragment", body=lambda w: {"team_id": w.ids["team_id"], "note": "矩阵"}
    ),
    ("GET", "/desk/escalations/{escalation_id}"): Access("case.read_all", kind="fragment"),
    ("POST", "/desk/escalations/{escalation_id}/messages"): Access(
        "escalation.work", kind="fragment", body=lambda w: {"body": "矩阵"}
    ),
    ("POST", "/desk/escalations/{escalation_id}/answer"): Access(
        "escalation.work", kind="fragment", body=lambda w: {"body": "矩阵"}
    ),
    ("POST", "/desk/escalations/{escalation_id}/close"): Access(
        "escalation.work", kind="fragment", body=lambda w: {}
    ),
    ("GET", "/desk/live/escalations"): Access("case.assign", kind="fragment"),
    ("GET", "/help"): Access("public", kind="page"),
    ("GET", "/help/{slug}"): Access("public", kind="page"),
    ("GET", "/help/calc"): Access("public", kind="fragment", query="?kind=fees&price=10&qty=100"),
    ("POST", "/help/{slug}/feedback"): Access(
        "public", kind="page", body=lambda w: {"helpful": "yes"}
    ),
    ("GET", "/admin/kb"): Access("kb.manage", kind="page"),
    ("GET", "/admin/kb/{slug}"): Access("kb.manage", kind="page"),
    ("POST", "/admin/kb/{slug}"): Access("kb.manage", kind="page", body=_kb_form),
    ("POST", "/admin/kb/{slug}/candidates/{candidate_id}"): Access(
        "kb.manage", kind="page", body=lambda w: {"accept": "0"}
    ),
    ("POST", "/admin/kb/{slug}/revert/{version}"): Access(
        "kb.manage", kind="page", body=lambda w: {}
    ),
    # --- the academy API (academy/views.py)
    ("GET", "/api/v1/academy/courses"): Access("academy.learn"),
    ("GET", "/api/v1/academy/personas"): Access("academy.learn"),
    ("POST", "/api/v1/academy/runs"): Access(
        "academy.learn", body=lambda w: {"persona": "matrix-persona"}
    ),
    ("GET", "/api/v1/academy/runs/{run_id}"): Access("academy.learn"),
    ("POST", "/api/v1/academy/runs/{run_id}/replies"): Access(
        "academy.learn", body=lambda w: {"text": "您好"}
    ),
    # --- the academy console (academy/pages.py); the ids name no real row: allowed roles get 404
    ("GET", "/academy"): Access("academy.learn", kind="page"),
    ("GET", "/academy/courses/{course}"): Access("academy.learn", kind="page"),
    ("GET", "/academy/courses/{course}/lessons/{lesson}"): Access("academy.learn", kind="page"),
    ("POST", "/academy/courses/{course}/lessons/{lesson}/done"): Access(
        "academy.learn", kind="page", body=lambda w: {}
    ),
    ("POST", "/academy/courses/{course}/quiz"): Access(
        "academy.learn", kind="page", body=lambda w: {}
    ),
    ("GET", "/academy/attempts/{attempt_id}"): Access("academy.learn", kind="page"),
    ("POST", "/academy/attempts/{attempt_id}"): Access(
        "academy.learn", kind="page", body=lambda w: {"finish": "0"}
    ),
    ("POST", "/academy/roleplay/{persona}"): Access(
        "academy.learn", kind="page", body=lambda w: {}
    ),
    ("GET", "/academy/runs/{run_id}"): Access("academy.learn", kind="page"),
    ("POST", "/academy/runs/{run_id}"): Access(
        "academy.learn", kind="page", body=lambda w: {"text": "您好"}
    ),
    ("POST", "/academy/comments/{target}/{target_id}"): Access(
        "academy.learn", kind="page", body=lambda w: {"body": "好"}
    ),
    ("POST", "/academy/programmes/{programme}/enrol"): Access(
        "academy.learn", kind="page", body=lambda w: {}
    ),
    ("GET", "/academy/certificates/{certificate_id}"): Access("academy.learn", kind="page"),
    ("GET", "/academy/verify/{code}"): Access("public", kind="page"),
    ("GET", "/academy/teach"): Access("academy.teach", kind="page"),
    ("POST", "/academy/teach/banks"): Access(
        "academy.teach", kind="page", body=lambda w: {"bank": "matrix", "gift_zh": "::M1::好?{T}"}
    ),
    ("GET", "/academy/teach/banks/{name}"): Access("academy.teach", kind="page"),
    ("GET", "/academy/teach/banks/{name}/export"): Access("academy.teach", kind="page"),
    ("POST", "/academy/teach/banks/{name}/questions/{question}"): Access(
        "academy.teach", kind="page", body=lambda w: {"gift_zh": "好?{T}", "gift_en": "OK?{T}"}
    ),
    ("GET", "/academy/teach/courses/{course}"): Access("academy.teach", kind="page"),
    ("POST", "/academy/teach/courses/{course}"): Access(
        "academy.teach", kind="page", body=lambda w: {}
    ),
    ("GET", "/academy/teach/courses/{course}/lessons/{lesson}"): Access(
        "academy.teach", kind="page"
    ),
    ("POST", "/academy/teach/courses/{course}/lessons/{lesson}"): Access(
        "academy.teach", kind="page", body=lambda w: {}
    ),
    ("POST", "/academy/teach/essays/{item_id}"): Access(
        "academy.teach", kind="page", body=lambda w: {"points": "1"}
    ),
    ("GET", "/academy/teach/trainees"): Access("academy.progress", kind="page"),
    ("POST", "/academy/teach/mentors"): Access(
        "academy.teach", kind="page", body=lambda w: {"trainee_id": "0", "mentor_id": "0"}
    ),
    ("GET", "/academy/updates/mine"): Access("academy.learn", kind="fragment"),
    ("POST", "/academy/updates/{update_id}"): Access(
        "academy.learn", kind="page", body=lambda w: {"answer": "true"}
    ),
    # --- market (market/views.py, market/pages.py); {ref} and {correction_id} name no row: an
    # allowed role reaches the 404, the others are refused before the lookup
    ("GET", "/api/v1/market/instruments"): Access("market.read"),
    ("GET", "/api/v1/market/bars"): Access("market.read", query="?symbol=600519"),
    ("GET", "/api/v1/market/trades/{ref}/replay"): Access("market.read"),
    ("POST", "/api/v1/market/trades/{ref}/disputes"): Access("market.dispute", body=lambda w: {}),
    ("GET", "/api/v1/market/corrections"): Access("market.correct"),
    ("POST", "/api/v1/market/corrections/{correction_id}/decision"): Access(
        "market.correct", body=lambda w: {"decision": "approve"}
    ),
    ("GET", "/desk/market/chart"): Access("market.read", kind="desk", query="?symbol=600519"),
    ("GET", "/desk/market/trades/{ref}"): Access("market.read", kind="fragment"),
    ("POST", "/desk/market/trades/{ref}/dispute"): Access(
        "market.dispute", kind="fragment", body=lambda w: {}
    ),
    ("GET", "/desk/market/corrections"): Access("market.correct", kind="desk"),
    ("POST", "/desk/market/corrections/{correction_id}"): Access(
        "market.correct", kind="desk", body=lambda w: {"decision": "approve"}
    ),
    # --- quality API and console (quality/views.py, quality/pages.py)
    ("GET", "/api/v1/quality/metrics"): Access("quality.read"),
    ("GET", "/api/v1/quality/drill"): Access("quality.read", query="?key=2026-03-02"),
    ("GET", "/api/v1/quality/cases/{case_id}/evaluation"): Access("quality.read"),
    ("POST", "/api/v1/quality/evaluations/{evaluation_id}/override"): Access(
        "quality.review", body=lambda w: {"score": 50, "passed": False, "reason": "matrix"}
    ),
    ("POST", "/api/v1/quality/calibrations"): Access(
        "quality.review", body=lambda w: {"case_id": w.ids["case_id"]}
    ),
    ("GET", "/api/v1/quality/calibrations/{calibration_id}"): Access("quality.read"),
    ("POST", "/api/v1/quality/calibrations/{calibration_id}/ratings"): Access(
        "quality.review", body=lambda w: {"ratings": {}}
    ),
    ("GET", "/api/v1/quality/complaints"): Access("quality.read"),
    ("GET", "/api/v1/quality/agents/{user_id}/report"): Access("quality.read"),
    ("GET", "/quality"): Access("quality.read", kind="page"),
    ("GET", "/quality/drill"): Access("quality.read", kind="fragment", query="?key=2026-03-02"),
    ("GET", "/quality/cases/{case_id}"): Access("quality.read", kind="page"),
    ("POST", "/quality/evaluations/{evaluation_id}/override"): Access(
        "quality.review", kind="page", body=lambda w: {"score": 50, "reason": "matrix"}
    ),
    ("POST", "/quality/cases/{case_id}/calibrations"): Access(
        "quality.review", kind="page", body=lambda w: {}
    ),
    ("GET", "/quality/calibrations/{calibration_id}"): Access("quality.read", kind="page"),
    ("POST", "/quality/calibrations/{calibration_id}/ratings"): Access(
        "quality.review", kind="page", body=lambda w: {}
    ),
    ("GET", "/quality/complaints"): Access("quality.read", kind="page"),
    ("GET", "/quality/agents/{user_id}"): Access("quality.read", kind="page"),
    ("GET", "/quality/export.csv"): Access("quality.read", kind="page"),
}

#: (method, path, role) -> why today's answer differs from the declared access. Each is a
#: strict xfail: fixing the product makes it pass, and the test then asks for the entry's removal.
KNOWN_BUGS: dict[tuple[str, str, str], str] = {}


# --- expectations ----------------------------------------------------------------------------


def _as_user(role: str) -> User | None:
    spec = ROLES[role]
    if spec is None:
        return None
    return User(username=spec[0], role=spec[1], is_trainee=spec[2], is_active=True)


def verdict(access: str, role: str) -> str:
    """'allowed', 'anonymous', 'refused' or 'hidden' (the tenancy rule's 404)."""
    if access == "public":
        return "allowed"
    user = _as_user(role)
    if user is None:
        return "anonymous"
    is_customer = user.role == Role.customer
    if access == "login":
        return "allowed"
    if access == "customer":
        return "allowed" if is_customer else "refused"
    scope, _, permission = access.rpartition(":")
    if scope and is_customer:
        return "hidden" if scope == "own" and role == "other_customer" else "allowed"
    return "allowed" if can(user, permission) else "refused"


def test_the_declared_permissions_exist():
    for (method, path), spec in ROUTES.items():
        perm = spec.access.rpartition(":")[2]
        assert perm in {"public", "login", "customer"} | set(PERMISSIONS), (method, path)
    for method, path, role in KNOWN_BUGS:
        assert (method, path) in ROUTES and role in ROLES


def _refusal_flashed(where: str) -> bool:
    """Whether a console form came back with "your role may not" flashed, in either language."""
    from kefu.core import i18n

    said = {i18n.t("polish.flash_forbidden", lang) for lang in i18n.LANGUAGES}
    return "kind=error" in where and (" may not " in where or any(m in where for m in said))


def registered_routes(app: Any) -> set[tuple[str, str]]:
    """(method, path) of every route the app answers, included routers flattened."""
    out: set[tuple[str, str]] = set()

    def add(route: Any, path: str) -> None:
        if isinstance(route, Mount):
            out.add(("GET", path))
            return
        methods = getattr(route, "methods", None) or {"WS"}
        out.update((m, path) for m in methods if m != "HEAD")

    for route in app.routes:
        contexts = getattr(route, "effective_route_contexts", None)
        if contexts is None:
            add(route, route.path)
            continue
        for ctx in contexts():  # FastAPI's included routers
            original = ctx.original_route
            add(original, ctx.path or original.path)
    return out


def test_every_route_declares_its_access():
    app = create_app(Database("sqlite://"))
    registered = registered_routes(app)
    missing = sorted(registered - set(ROUTES))
    assert not missing, f"routes without a declared access in ROUTES: {missing}"
    stale = sorted(set(ROUTES) - registered)
    assert not stale, f"ROUTES declares routes the app does not have: {stale}"


# --- the matrix ------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def world(_template: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[World]:
    """One database, app and login per role for the whole matrix."""
    if PG_URL:
        database = Database(PG_URL)
        conftest.empty_tables(database)
    else:
        path = Path(tmp_path_factory.mktemp("matrix")) / "kefu.db"
        shutil.copy(_template, path)
        database = Database(f"sqlite:///{path}")
    seed = conftest.seed.__wrapped__(database)  # the same seed as every API test
    from kefu.core.config import get_settings

    files = os.environ.get("KEFU_ATTACHMENTS_DIR")
    os.environ["KEFU_ATTACHMENTS_DIR"] = str(tmp_path_factory.mktemp("attachments"))
    get_settings.cache_clear()
    with database.session() as s:
        make_user(s, "trainee", "agent", is_trainee=True)
        make_user(s, "trainer", "trainer")
        spare = make_user(s, "spare", "agent")
    try:
        with TestClient(create_app(database)) as client:  # the lifespan loads the KB
            ids = _fixtures(database, seed, spare)
            with database.session() as s:
                from kefu.knowledge.models import KbArticle

                row = s.scalar(select(KbArticle).where(KbArticle.slug == ids["slug"]))
                assert row is not None
                article = {
                    k: getattr(row, k)
                    for k in (
                        "category",
                        "title_zh",
                        "title_en",
                        "body_zh",
                        "body_en",
                        "tags",
                        "questions_zh",
                        "questions_en",
                        "sources",
                    )
                }
            w = World(client=client, database=database, ids=ids, article=article)
            for role, spec in ROLES.items():
                if spec is not None:
                    w.sessions[role] = w.login(spec[0])
            yield w
    finally:
        database.engine.dispose()
        if files is None:
            os.environ.pop("KEFU_ATTACHMENTS_DIR", None)
        else:
            os.environ["KEFU_ATTACHMENTS_DIR"] = files
        get_settings.cache_clear()


def _fixtures(database: Database, seed: conftest.Seed, spare: int) -> dict[str, Any]:
    """Real ids for every path parameter: alice's chat, a canned reply, a KB candidate."""
    from kefu.desk import service as desk
    from kefu.desk.models import BusinessCalendar, CannedReply, SlaPolicy
    from kefu.knowledge import service as kb

    with database.session() as s:
        admin = s.get(User, seed.admin)
        agent = s.get(User, seed.agent1)
        assert admin is not None and agent is not None
        case = desk.create_case(
            s,
            actor=admin,
            customer_id=seed.alice,
            channel="chat",
            subject="提现未到账",
            category="funds",
            body="我的提现两天了还没到，请帮我查一下",
            auto_assign=False,
        )
        s.add(
            CannedReply(
                key="greet",
                category="account",
                title_zh="问候",
                title_en="Greeting",
                body_zh="您好",
                body_en="Hello",
            )
        )
        alice = s.get(User, seed.alice_user)
        assert alice is not None
        upload = desk.add_attachment(
            s, actor=alice, case_id=case.id, filename="回单.txt", data="转账回单".encode()
        )
        macro = desk.create_macro(s, actor=admin, name="矩阵宏", shared=True, body_zh="您好")
        slug = kb.list_articles(s)[0].slug
        cand = kb.propose_question(
            s, actor=agent, slug=slug, text="矩阵测试：提现为什么还没到账", case_id=case.id
        )
        assert cand is not None
        policy = s.scalar(select(SlaPolicy).order_by(SlaPolicy.id))
        calendar = s.scalar(select(BusinessCalendar))
        assert policy is not None and calendar is not None
        from kefu.aml.models import AmlCase

        aml_case = AmlCase(customer_id=seed.alice, status="open")
        s.add(aml_case)
        s.flush()
        return {
            "aml_case_id": aml_case.id,
            "compliance": seed.compliance,
            "case_id": case.id,
            "customer_id": seed.alice,
            "agent1": seed.agent1,
            "user_id": spare,
            "slug": slug,
            "candidate_id": cand.id,
            "version": kb.get_article(s, slug).version,
            "key": "greet",
            "macro_id": macro.id,
            "attachment_id": upload.id,
            "kind": "fees",
            "code": "zh-CN",
            "policy_id": policy.id,
            "calendar_id": calendar.id,
            # the academy's path parameters (no such rows: allowed roles meet a 404)
            "course": "matrix-course",
            "lesson": "01-matrix",
            "attempt_id": 999_999,
            "persona": "matrix-persona",
            "run_id": 999_999,
            "target": "run",
            "target_id": 999_999,
            "programme": "matrix-programme",
            "certificate_id": 999_999,
            "name": "matrix-bank",
            "question": "Q-1",
            "item_id": 999_999,
            "update_id": 999_999,
            # ids no row holds: the routes answer 404 past their permission check
            "task_id": 2**31 - 1,
            "view_id": 2**31 - 1,
            "request_id": 2**31 - 1,
            "audit_id": 2**31 - 1,
            "ref": "B2026-MATRIX",
            "correction_id": 999,
            # no such team or escalation: the roles allowed meet a 404 past their check
            "team_id": 2**31 - 1,
            "escalation_id": 2**31 - 1,
            # no evaluation or calibration exists: the roles allowed get 404, the others 403
            "evaluation_id": 1,
            "calibration_id": 1,
        }


def _cases() -> Iterator[Any]:
    for method, path in ROUTES:
        for role in ROLES:
            bug = KNOWN_BUGS.get((method, path, role))
            marks = [pytest.mark.xfail(strict=True, reason=bug)] if bug else []
            yield pytest.param(method, path, role, marks=marks, id=f"{method} {path} [{role}]")


@pytest.mark.parametrize(("method", "path", "role"), list(_cases()))
def test_route_answers_each_role_as_declared(world: World, method: str, path: str, role: str):
    spec = ROUTES[(method, path)]
    expected = verdict(spec.access, role)
    url = path.format(**world.ids) + spec.query
    session = world.sessions.get(role)
    if session is not None and spec.revokes:
        session = world.fresh_session(ROLES[role][0])  # type: ignore[index]
    client = world.client
    client.cookies.clear()

    if spec.kind == "ws":
        _check_socket(client, url, session, expected)
        return

    headers: dict[str, str] = {}
    kwargs: dict[str, Any] = {}
    body = spec.body(world) if spec.body is not None else None
    if spec.kind == "api":
        if session is not None:
            headers["Authorization"] = f"Bearer {session[0]}"
        if body is not None:
            kwargs["json"] = body
    else:
        headers["Accept"] = "text/html"
        if spec.kind == "fragment":
            headers["HX-Request"] = "true"
        if session is not None:
            client.cookies.set("kefu_session", session[0])
            if method != "GET":
                headers["X-CSRF-Token"] = session[1]
        if body is not None:
            kwargs["data"] = {**body, "csrf": session[1] if session else ""}
    r = client.request(method, url, headers=headers, follow_redirects=False, **kwargs)
    client.cookies.clear()
    where = unquote_plus(r.headers.get("location", ""))
    seen = f"{role} on {method} {path}: {r.status_code} {where or r.text[:200]}"

    assert r.status_code < 500, seen  # no role, allowed or not, meets a server error
    if expected == "allowed":
        assert r.status_code not in (401, 403), seen
        assert not _refusal_flashed(where), seen  # a refusal flashed back on a console
        if not spec.revokes:
            assert not where.startswith("/login"), seen
        elif session is not None:  # logging out ends that session and no other
            gone = client.get("/api/v1/me", headers={"Authorization": f"Bearer {session[0]}"})
            assert gone.status_code == 401, seen
    elif expected == "hidden":
        assert r.status_code == 404, seen
    elif expected == "anonymous":
        if spec.kind in ("api", "fragment"):
            assert r.status_code == 401, seen
        else:
            assert r.status_code == 303 and where.startswith("/login"), seen
    else:
        is_customer = ROLES[role][1] == "customer"  # type: ignore[index]
        if spec.kind == "desk" and is_customer:
            assert r.status_code == 303 and where == "/", seen
        elif spec.kind == "fragment" and is_customer:
            assert r.status_code == 401, seen
        elif spec.kind == "admin_form" and role in ADMIN_CONSOLE:
            assert r.status_code == 303 and _refusal_flashed(where), seen
        elif role == "other_customer":
            # a refusal may come as the tenancy rule's 404 when the object is checked first
            assert r.status_code in (403, 404), seen
        else:
            assert r.status_code == 403, seen


def _check_socket(
    client: TestClient, url: str, session: tuple[str, str] | None, expected: str
) -> None:
    with client.websocket_connect(url) as ws:
        if expected == "anonymous":
            ws.send_text("not json")  # no cookie and no auth frame: refused at once
            with pytest.raises(WebSocketDisconnect) as closed:
                ws.receive_text()
            assert closed.value.code == 4401
            return
        assert session is not None
        ws.send_json({"type": "auth", "token": session[0]})
        # past authentication, a malformed frame is refused as such (4400), not as 4401
        ws.send_text("not json")
        with pytest.raises(WebSocketDisconnect) as closed:
            ws.receive_text()
        assert closed.value.code == 4400, closed.value.reason
