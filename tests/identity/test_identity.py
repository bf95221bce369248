"""Identity: one login for the API and the console, failed attempts kept on record, user
administration and the language switch audited."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from sqlalchemy import select

from kefu.core.audit import AuditEntry
from kefu.core.errors import Conflict, Forbidden, TooManyRequests, Unauthorized
from kefu.core.security import LoginAttempt, User
from kefu.identity import service as identity
from kefu.identity.audit import IdentityAudit


def _attempts(database, username: str) -> list[bool]:
    with database.session() as s:
        return [
            a.ok for a in s.scalars(select(LoginAttempt).where(LoginAttempt.username == username))
        ]


def _actions(database) -> list[tuple[str, dict]]:
    with database.session() as s:
        return [(e.action, e.data) for e in s.scalars(select(AuditEntry).order_by(AuditEntry.id))]


def test_audit_names_are_the_stored_strings():
    assert [str(a) for a in IdentityAudit] == [
        "auth.login",
        "auth.logout",
        "user.create",
        "user.role",
        "user.language",
    ]


def test_failed_api_login_stays_on_record_although_the_request_fails(client, seed, database):
    r = client.post("/api/v1/auth/login", json={"username": "alice", "password": "wrong"})
    assert r.status_code == 401
    assert _attempts(database, "alice") == [False]
    r = client.post("/api/v1/auth/login", json={"username": "alice", "password": "kefu-demo"})
    assert r.status_code == 200
    assert _attempts(database, "alice") == [False, True]
    assert ("auth.login", {"ip": "testclient"}) in _actions(database)


def test_console_login_is_the_same_action(client, seed, database):
    r = client.post("/login", data={"username": "alice", "password": "wrong"})
    assert r.status_code == 401 and "login" in r.text
    r = client.post(
        "/login", data={"username": "alice", "password": "kefu-demo"}, follow_redirects=False
    )
    assert r.status_code == 303 and r.headers["location"] == "/"
    assert _attempts(database, "alice") == [False, True]
    assert ("auth.login", {"ip": "testclient", "via": "console"}) in _actions(database)


def test_too_many_failures_are_refused_before_the_password_is_checked(session, seed, monkeypatch):
    monkeypatch.setattr(
        identity, "get_settings", lambda: SimpleNamespace(login_attempts_per_15min=2)
    )
    for _ in range(2):
        with pytest.raises(Unauthorized):
            identity.login(session, username="bob", password="nope")
        session.rollback()  # the request fails; the attempt is written on its own
    with pytest.raises(TooManyRequests):
        identity.login(session, username="bob", password="kefu-demo")


def test_logout_revokes_and_is_audited(session, seed):
    done = identity.login(session, username="agent1", password="kefu-demo")
    identity.logout(session, actor=done.user, token=done.token)
    assert done.session.revoked
    entries = session.scalars(select(AuditEntry.action).order_by(AuditEntry.id)).all()
    assert entries[-2:] == ["auth.login", "auth.logout"]


def test_user_administration(session, seed):
    admin = session.get(User, seed.admin)
    agent = session.get(User, seed.agent1)
    u = identity.create_user(
        session, actor=admin, username="carol", role="agent", password="long-enough"
    )
    assert identity.get_user(session, u.id) is u
    assert identity.set_role(session, actor=admin, user_id=u.id, role="supervisor").role == (
        "supervisor"
    )
    with pytest.raises(Forbidden):
        identity.set_role(session, actor=agent, user_id=u.id, role="agent")
    with pytest.raises(Conflict):
        identity.set_role(session, actor=admin, user_id=admin.id, role="agent")
    assert [x.username for x in identity.list_users(session)][-1] == "carol"
    assert set(identity.users_by_id(session, {u.id, seed.admin, 0})) == {u.id, seed.admin}
    assert identity.users_by_id(session, []) == {}


def test_language_switch_is_audited_only_when_it_changes(client, seed, database):
    client.post(
        "/login", data={"username": "alice", "password": "kefu-demo"}, follow_redirects=False
    )
    r = client.get("/lang/en?next=/desk", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/desk"
    client.get("/lang/en", follow_redirects=False)
    with database.session() as s:
        assert s.get(User, seed.alice_user).language == "en"
    changes = [d for a, d in _actions(database) if a == "user.language"]
    assert changes == [{"old": "zh-CN", "new": "en"}]
