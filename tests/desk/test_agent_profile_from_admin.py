"""Issue 17, lifecycle: an agent created in /admin has a presence control on the desk and a
profile (skills, languages, capacity) the admin console keeps; a new chat then reaches them."""

from __future__ import annotations

from sqlalchemy import select

from kefu.core.security import User
from kefu.desk.models import AgentProfile


def _cookie_login(client, username: str, password: str = "kefu-demo") -> str:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": password})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    client.cookies.set("kefu_session", r.json()["token"])
    return str(r.json()["csrf_token"])


def test_an_agent_made_in_admin_gets_a_presence_control_and_a_profile(client, database, seed):
    csrf = _cookie_login(client, "admin")
    r = client.post(
        "/admin/users",
        data={"username": "newagent", "role": "agent", "password": "Kefu-new-agent-2026!",
              "display_name": "新坐席", "csrf": csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303 and "kind=error" not in r.headers["location"], r.headers
    with database.session() as s:
        uid = s.scalar(select(User.id).where(User.username == "newagent"))
    assert uid is not None

    # the admin console lists the new agent's profile with the defaults, and saves it
    page = client.get("/admin")
    assert 'data-username="newagent"' in page.text
    r = client.post(
        f"/admin/agents/{uid}/profile",
        data={"capacity": "4", "languages": ["zh", "en"], "categories": ["funds", "trading"],
              "csrf": csrf},
        follow_redirects=False,
    )  # fmt: skip
    assert r.status_code == 303 and "kind=error" not in r.headers["location"], r.headers
    # bad input is refused with the field named, nothing saved
    r = client.post(
        f"/admin/agents/{uid}/profile",
        data={"capacity": "4", "languages": ["fr"], "categories": ["funds"], "csrf": csrf},
        follow_redirects=False,
    )
    assert "kind=error" in r.headers["location"] and "languages" in r.headers["location"]
    with database.session() as s:
        p = s.get(AgentProfile, uid)
        assert p is not None
        assert (p.capacity, p.languages, p.categories, p.presence) == (
            4, ["zh", "en"], ["funds", "trading"], "offline",
        )  # fmt: skip

    # the new agent logs in: the desk has the presence control, and going online works
    _cookie_login(client, "newagent", "Kefu-new-agent-2026!")
    desk = client.get("/desk")
    assert desk.status_code == 200 and 'data-testid="presence"' in desk.text
    client.cookies.clear()
    r = client.post(
        "/api/v1/auth/login", json={"username": "newagent", "password": "Kefu-new-agent-2026!"}
    )
    h = {"Authorization": f"Bearer {r.json()['token']}"}
    assert (
        client.put("/api/v1/agents/me/presence", headers=h, json={"presence": "online"}).json()[
            "presence"
        ]
        == "online"
    )
    agents = {a["username"]: a for a in client.get("/api/v1/agents", headers=h).json()}
    assert agents["newagent"]["presence"] == "online" and agents["newagent"]["capacity"] == 4


def test_an_agent_without_a_profile_still_sees_the_presence_control(client, database, seed):
    """The control creates the profile on first use: an agent is never stuck offline."""
    from tests.conftest import make_user

    with database.session() as s:
        make_user(s, "bare", "agent")
    _cookie_login(client, "bare")
    page = client.get("/desk")
    assert 'data-testid="presence"' in page.text
    # offline is what they are until they say otherwise
    chosen = page.text.split('data-testid="presence"', 1)[1].split("</select>", 1)[0]
    assert '<option value="offline" selected' in chosen
