"""Login: a guesser slows only themselves (backoff per username and address, nobody locked out
for good), timing does not reveal which usernames exist, and staff passwords follow a policy."""

from __future__ import annotations

from types import SimpleNamespace

import pytest
from typer.testing import CliRunner

from kefu.core.errors import TooManyRequests, Unauthorized, ValidationFailed
from kefu.identity import service as identity


@pytest.fixture
def limit_two(monkeypatch):
    monkeypatch.setattr(
        identity, "get_settings", lambda: SimpleNamespace(login_attempts_per_15min=2)
    )


def _fail(session, username: str, ip: str, times: int) -> None:
    for _ in range(times):
        with pytest.raises(Unauthorized):
            identity.login(session, username=username, password="wrong guess", ip=ip)
        session.rollback()  # the request fails; the attempt is kept on record on its own


def test_a_guesser_at_one_address_does_not_lock_the_user_out(session, seed, limit_two):
    _fail(session, "bob", "203.0.113.7", 2)
    with pytest.raises(TooManyRequests) as refused:
        identity.login(session, username="bob", password="kefu-demo", ip="203.0.113.7")
    assert 0 < refused.value.extra["retry_after"] <= 2
    session.rollback()
    # bob, from his own address, still gets in
    done = identity.login(session, username="bob", password="kefu-demo", ip="198.51.100.2")
    assert done.user.username == "bob"


def test_the_wait_grows_with_each_failure_and_ends(session, seed, limit_two, monkeypatch):
    _fail(session, "bob", "203.0.113.7", 2)
    with pytest.raises(TooManyRequests) as first:
        identity.login(session, username="bob", password="x", ip="203.0.113.7")
    session.rollback()
    assert identity._backoff(2, 2) == 2 and identity._backoff(3, 2) == 4
    assert identity._backoff(40, 2) == 900  # capped at 15 minutes: slowed, never locked
    assert first.value.extra["retry_after"] <= 2


def test_many_usernames_from_one_address_are_slowed(session, seed, limit_two):
    for name in ("u1", "u2", "u3", "u4", "u5", "u6", "u7", "u8", "u9", "u10"):
        _fail(session, name, "203.0.113.9", 1)
    with pytest.raises(TooManyRequests):
        identity.login(session, username="alice", password="kefu-demo", ip="203.0.113.9")


def test_unknown_usernames_pay_the_same_password_check(session, seed, monkeypatch):
    """Timing must not tell which usernames exist: an unknown name is checked against a dummy
    Argon2 hash, so both answers cost one full verification (counted, not timed)."""
    calls: list[str] = []
    real = identity.verify_password

    def counting(stored: str, password: str) -> bool:
        calls.append(stored[:9])
        return real(stored, password)

    monkeypatch.setattr(identity, "verify_password", counting)
    for username in ("alice", "nobody-by-this-name"):
        with pytest.raises(Unauthorized) as refused:
            identity.login(session, username=username, password="wrong guess", ip="x")
        session.rollback()
        assert refused.value.detail == "wrong username or password"
    assert len(calls) == 2 and all(c.startswith("$argon2") for c in calls)


@pytest.mark.parametrize(
    ("password", "why"),
    [
        ("short1", "8 characters"),
        ("woaini1314", "common"),
        ("kefu-demo", "common"),
        ("carol-secret-9", "username"),
        ("aaaaaaaaaaaa", "guess"),
        ("3456789012", "guess"),
    ],
)
def test_weak_staff_passwords_are_refused_naming_why(session, seed, password, why):
    from kefu.core.security import User

    admin = session.get(User, seed.admin)
    with pytest.raises(ValidationFailed, match=why) as exc:
        identity.create_user(
            session, actor=admin, username="carol", role="agent", password=password
        )
    assert exc.value.fields[0]["field"] == "password"


def test_cli_user_add_reads_the_password_from_stdin_and_applies_the_policy(
    database, seed, monkeypatch
):
    from kefu.cli import app
    from kefu.core.config import get_settings

    monkeypatch.setenv("KEFU_DATABASE_URL", database.url)
    get_settings.cache_clear()
    runner = CliRunner()
    try:
        weak = runner.invoke(app, ["user", "add", "dave", "--role", "agent"], input="12345678\n")
        assert weak.exit_code == 2 and "common" in weak.output
        bad_name = runner.invoke(
            app, ["user", "add", "dä ve", "--role", "agent"], input="Fluent-Lotus-73\n"
        )
        assert bad_name.exit_code == 2 and "username" in bad_name.output
        ok = runner.invoke(
            app, ["user", "add", "dave", "--role", "agent"], input="Fluent-Lotus-73\n"
        )
        assert ok.exit_code == 0, ok.output
        again = runner.invoke(
            app, ["user", "add", "dave", "--role", "agent"], input="Fluent-Lotus-73\n"
        )
        assert again.exit_code == 1 and "already exists" in again.output
        # the password option is gone: it would sit in ps and the shell history
        argv = runner.invoke(app, ["user", "add", "erin", "--role", "agent", "--password", "x"])
        assert argv.exit_code != 0
    finally:
        get_settings.cache_clear()
    with database.session() as s:
        from kefu.identity import service as identity

        dave = next(u for u in identity.list_users(s) if u.username == "dave")
        assert dave.role == "agent"


def test_another_sites_page_cannot_post_the_login_form(client, seed, database):
    """Login CSRF: a page elsewhere must not log a visitor into an account of its choice."""
    form = {"username": "alice", "password": "kefu-demo"}
    evil = client.post(
        "/login", data=form, headers={"origin": "https://evil.example"}, follow_redirects=False
    )
    assert evil.status_code == 403
    assert "kefu_session" not in evil.cookies
    own = client.post(
        "/login", data=form, headers={"origin": "http://testserver"}, follow_redirects=False
    )
    assert own.status_code == 303 and "kefu_session" in own.cookies


def test_a_slowed_login_answers_429_with_retry_after(client, seed, limit_two):
    for _ in range(2):
        r = client.post("/api/v1/auth/login", json={"username": "bob", "password": "wrong guess"})
        assert r.status_code == 401
    r = client.post("/api/v1/auth/login", json={"username": "bob", "password": "kefu-demo"})
    assert r.status_code == 429, r.text
    assert r.headers["content-type"].startswith("application/problem+json")
    assert 1 <= int(r.headers["retry-after"]) <= 2
