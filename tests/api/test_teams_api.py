"""Teams and escalation over HTTP: a supervisor puts an agent in funds operations, an agent
escalates a case with an internal note, the customer's portal and API show the plain status
(never the note), the team's member asks and answers through the desk's forms while an outsider
is refused, and the supervisor's summary counts it."""

from __future__ import annotations

from sqlalchemy import select

from kefu.core.security import User
from kefu.desk import content as desk_content
from kefu.desk import service as desk
from kefu.desk import teams
from kefu.desk.teams_models import Team
from tests.api.test_chat_socket import _socket, _token, _until

NOTE = "内部：客户称 12 月 6 日入金 5 万元未到账，手机 13812345678，请核查银行流水"


def _login(client, username: str) -> tuple[dict[str, str], str]:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": "kefu-demo"})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['token']}"}, r.json()["csrf_token"]


def test_escalation_over_the_api_and_the_desk_forms(client, database, seed):
    with database.session() as s:
        desk_content.sync(s)
        funds = s.scalar(select(Team.id).where(Team.code == "funds_ops"))
        case = desk.create_case(
            s, actor=s.get(User, seed.agent1), customer_id=seed.alice, channel="web",
            subject="入金未到账", category="funds", auto_assign=False, body="钱还没到",
        )  # fmt: skip
        desk.assign_case(s, actor=s.get(User, seed.supervisor), case=case, to=seed.agent1)
        cid = case.id
    (agent1, _), (agent2, csrf2), (sup, _) = (
        _login(client, "agent1"),
        _login(client, "agent2"),
        _login(client, "supervisor"),
    )
    alice, _ = _login(client, "alice")
    bob, _ = _login(client, "bob")

    listed = client.get("/api/v1/teams", headers=agent1).json()
    assert [t["code"] for t in listed] == [
        "front_line", "funds_ops", "tech_support", "compliance", "back_office",
    ]  # fmt: skip
    add = {"user_id": seed.agent2}
    r = client.post(f"/api/v1/teams/{funds}/members", headers=agent1, json=add)
    assert r.status_code == 403, r.text
    r = client.post(f"/api/v1/teams/{funds}/members", headers=sup, json={"user_id": seed.agent2})
    assert r.status_code == 200 and [m["name"] for m in r.json()["members"]] == ["张伟"], r.text
    r = client.post(
        f"/api/v1/teams/{funds}/members", headers=sup, json={"user_id": seed.alice_user}
    )
    assert r.status_code == 422 and "not on the desk" in r.json()["detail"], r.text

    # bad input is named, nothing is written
    url = f"/api/v1/cases/{cid}/escalations"
    r = client.post(url, headers=agent1, json={"team_id": 999, "note": "x"})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "team_id", r.text
    r = client.post(url, headers=agent1, json={"team_id": funds, "note": "  "})
    assert r.status_code == 422 and r.json()["errors"][0]["field"] == "note", r.text
    r = client.post(url, headers=agent1, json={"team_id": funds, "note": NOTE})
    assert r.status_code == 201, r.text
    esc = r.json()
    assert (esc["status"], esc["team"], esc["owner_id"], esc["note"]) == (
        "open", "资金清算部门", seed.agent1, NOTE,
    )  # fmt: skip
    eid = esc["id"]

    # the customer: a plain status naming the team and the time, never the note
    r = client.get(f"/api/v1/cases/{cid}/escalation-status", headers=alice)
    assert r.status_code == 200, r.text
    (status,) = r.json()
    assert status["text"].startswith("已转交资金清算部门核查，") and "入金" not in r.text
    assert client.get(f"/api/v1/cases/{cid}/escalation-status", headers=bob).status_code == 404
    assert client.get(f"/api/v1/cases/{cid}/escalations", headers=alice).status_code == 403
    page = client.get(f"/cases/{cid}", headers=alice)
    assert page.status_code == 200 and status["text"] in page.text
    assert "银行流水" not in page.text and "13812345678" not in page.text

    # the team's queue and its member's desk panel (personal data masked for them)
    queue = client.get("/api/v1/escalations", headers=agent2).json()
    assert [e["id"] for e in queue] == [eid]
    panel = client.get(f"/desk/cases/{cid}/escalations", headers={**agent2, "HX-Request": "true"})
    assert panel.status_code == 200 and "13812345678" not in panel.text and "银行流水" in panel.text
    assert 'data-testid="thread-answer"' in panel.text
    r = client.post(
        f"/desk/escalations/{eid}/messages",
        headers={**agent2, "HX-Request": "true"},
        data={"body": "请提供银行回单流水号", "csrf": csrf2},
    )
    assert r.status_code == 200 and "请提供银行回单流水号" in r.text, r.text

    # an agent outside the team is refused as the team, in the API and the form
    r = client.post(f"/api/v1/escalations/{eid}/answer", headers=agent1, json={"body": "已到账"})
    assert r.status_code == 403 and "Funds operations" in r.json()["detail"], r.text
    r = client.post(f"/api/v1/escalations/{eid}/answer", headers=agent2, json={"body": "已入账"})
    assert r.status_code == 200 and r.json()["status"] == "answered", r.text
    assert [m["kind"] for m in r.json()["messages"]] == ["message", "answer"]
    r = client.post(
        f"/desk/escalations/{eid}/answer",
        headers={**agent2, "HX-Request": "true"},
        data={"body": "再答一次", "csrf": csrf2},
    )
    assert r.status_code == 200 and 'data-testid="escalation-error"' in r.text, r.text
    assert client.get(f"/api/v1/cases/{cid}/escalation-status", headers=alice).json() == []

    summary = {r["code"]: r for r in client.get("/api/v1/escalations/summary", headers=sup).json()}
    assert (summary["funds_ops"]["open"], summary["funds_ops"]["answered"]) == (0, 1)
    assert client.get("/api/v1/escalations/summary", headers=agent1).status_code == 403
    live = client.get("/desk/live/escalations", headers={**sup, "HX-Request": "true"})
    assert live.status_code == 200 and "资金清算部门" in live.text
    r = client.post(f"/api/v1/escalations/{eid}/close", headers=agent1)
    assert r.status_code == 200 and r.json()["status"] == "closed", r.text
    teams_page = client.get("/desk/teams?status=all", headers=agent2)
    assert teams_page.status_code == 200 and f"#{cid}" in teams_page.text
    # the team's controls are the managers' only (agents see the teams, not the levers)
    assert 'data-testid="team-add-member"' not in teams_page.text
    managed = client.get("/desk/teams", headers=sup)
    assert 'data-testid="team-add-member"' in managed.text and "张伟" in managed.text
    r = client.patch(f"/api/v1/teams/{funds}", headers=sup, json={"ola_minutes": 120})
    assert r.status_code == 200 and r.json()["ola_minutes"] == 120, r.text
    r = client.delete(f"/api/v1/teams/{funds}/members/{seed.agent2}", headers=sup)
    assert r.status_code == 200 and r.json()["members"] == [], r.text


def test_the_cases_agent_hears_the_teams_answer_on_their_desk_feed(client, database, seed):
    """The same feed as a customer's reply: the agent's socket gets an ``escalation`` alert."""
    with database.session() as s:
        desk_content.sync(s)
        funds = s.scalar(select(Team.id).where(Team.code == "funds_ops"))
        teams.add_member(s, actor=None, team_id=funds, user_id=seed.agent2)
        case = desk.create_case(
            s, actor=s.get(User, seed.agent1), customer_id=seed.alice, channel="web",
            subject="入金未到账", category="funds", auto_assign=False, body="钱还没到",
        )  # fmt: skip
        cid = case.id
    agent1, agent2 = _login(client, "agent1")[0], _login(client, "agent2")[0]
    r = client.post(
        f"/api/v1/cases/{cid}/escalations", headers=agent1, json={"team_id": funds, "note": "查"}
    )
    assert r.status_code == 201, r.text
    eid = r.json()["id"]
    client.cookies.clear()
    with _socket(client, _token(client, "agent1")) as ws:
        client.cookies.clear()
        ws.send_json({"type": "hello", "feed": "alerts"})
        ws.send_json({"type": "ping"})
        _until(ws, "pong")  # the feed is subscribed
        r = client.post(
            f"/api/v1/escalations/{eid}/answer", headers=agent2, json={"body": "已入账"}
        )
        assert r.status_code == 200, r.text
        alert = _until(ws, "alert")
        assert (alert["kind"], alert["event"], alert["case_id"]) == ("escalation", "answered", cid)
        assert alert["team_zh"] == "资金清算部门"
