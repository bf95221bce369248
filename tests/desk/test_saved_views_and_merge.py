"""Working the queue: filters by assignee, channel, status, priority, category, tag, customer
and date; saved views (personal and shared, live counts, renamed and deleted by their owner, a
vanished tag or user dropped and named); merging two cases of one customer (messages in time
order with their ids and idempotency keys, tags united, the source closed, read-only and
pointing at the target, both on record, sockets moved along)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy import select, update

from kefu.core import audit
from kefu.core.security import User
from kefu.desk import service as desk
from kefu.desk.models import Case, Message
from tests.api.test_chat_socket import _socket, _token, _until
from tests.conftest import login


def _case(database, seed, *, customer=None, channel="web", subject="出金没到账", **kw) -> int:
    with database.session() as s:
        return desk.create_case(
            s, actor=s.get(User, seed.agent1), customer_id=customer or seed.alice,
            channel=channel, subject=subject, category="funds", auto_assign=False, **kw,
        ).id  # fmt: skip


def _created_at(database, case_id: int, when: datetime) -> None:
    with database.session() as s:
        s.execute(update(Case).where(Case.id == case_id).values(created_at=when))


def _ids(r) -> set[int]:
    assert r.status_code == 200, r.text
    return {c["id"] for c in r.json()["items"]}


def test_the_queue_filters_by_every_field_and_by_date(client, database, seed):
    a = _case(database, seed, channel="web")
    b = _case(database, seed, channel="phone", subject="电话咨询")
    c = _case(database, seed, customer=seed.bob, channel="web", subject="Bob's case")
    _created_at(database, a, datetime(2026, 11, 2, 3, 0, tzinfo=UTC))
    _created_at(database, b, datetime(2026, 11, 20, 3, 0, tzinfo=UTC))
    _created_at(database, c, datetime(2026, 12, 1, 3, 0, tzinfo=UTC))
    h = login(client, "agent1")
    client.patch(f"/api/v1/cases/{b}", headers=h, json={"assignee_id": seed.agent1})
    client.post(f"/api/v1/cases/{a}/tags", headers=h, json={"add": ["vip"]})

    assert _ids(client.get("/api/v1/cases?channel=phone", headers=h)) == {b}
    assert _ids(client.get(f"/api/v1/cases?assignee={seed.agent1}", headers=h)) == {b}
    assert _ids(client.get("/api/v1/cases?tag=vip", headers=h)) == {a}
    assert _ids(client.get(f"/api/v1/cases?customer_id={seed.bob}", headers=h)) == {c}
    assert _ids(client.get("/api/v1/cases?status=open", headers=h)) == {b}
    # whole days in the desk's zone (Asia/Shanghai): 20 Nov 03:00 UTC is 20 Nov 11:00 there
    r = client.get("/api/v1/cases?created_from=2026-11-10&created_to=2026-11-30", headers=h)
    assert _ids(r) == {b}
    assert _ids(client.get("/api/v1/cases?created_from=2026-11-20", headers=h)) == {b, c}
    r = client.get("/api/v1/cases?sort=newest&created_to=2026-12-31", headers=h)
    assert [x["id"] for x in r.json()["items"]] == [c, b, a]
    r = client.get("/api/v1/cases?sort=oldest", headers=h)
    assert [x["id"] for x in r.json()["items"]][:3] == [a, b, c]
    # bad input names its field
    r = client.get("/api/v1/cases?created_from=2026-12-02&created_to=2026-12-01", headers=h)
    assert r.status_code == 422 and "created_from" in r.text
    assert client.get("/api/v1/cases?created_from=yesterday", headers=h).status_code == 422
    assert client.get("/api/v1/cases?sort=random", headers=h).status_code == 422

    # the desk page's queue has the same filters (assignee, channel, customer, dates, sort)
    client.cookies.clear()
    client.post("/api/v1/auth/login", json={"username": "agent1", "password": "kefu-demo"})
    page = client.get("/desk/queue?view=all&channel=phone")
    assert f'data-case-id="{b}"' in page.text and f'data-case-id="{a}"' not in page.text
    page = client.get("/desk/queue?view=all&customer=C02")
    assert f'data-case-id="{c}"' in page.text and f'data-case-id="{b}"' not in page.text
    page = client.get("/desk/queue?view=all&created_from=2026-11-10&created_to=2026-11-30")
    assert f'data-case-id="{b}"' in page.text and f'data-case-id="{c}"' not in page.text
    assert client.get("/desk/queue?view=all&created_from=11/10").status_code == 422
    client.cookies.clear()


def test_saved_views_personal_and_shared_with_live_counts(client, database, seed):
    a = _case(database, seed)
    _case(database, seed, channel="phone")
    agent, sup, agent2 = (
        login(client, "agent1"),
        login(client, "supervisor"),
        login(client, "agent2"),
    )
    client.post(f"/api/v1/cases/{a}/tags", headers=agent, json={"add": ["vip"]})

    r = client.post(
        "/api/v1/views",
        headers=agent,
        json={"name": "我的VIP", "filters": {"tag": "#VIP", "status_category": ["open"]}},
    )
    assert r.status_code == 201, r.text
    mine = r.json()
    assert mine["filters"] == {"tag": "vip", "status_category": ["open"]} and not mine["shared"]
    # an agent may not share; a supervisor may
    shared = {"name": "电话", "filters": {"channel": "phone"}, "shared": True, "sort": "newest"}
    assert client.post("/api/v1/views", headers=agent, json=shared).status_code == 403
    r = client.post("/api/v1/views", headers=sup, json=shared)
    assert r.status_code == 201, r.text
    team = r.json()
    # bad filters are refused naming the field, and a name is one per owner
    bad = client.post("/api/v1/views", headers=agent, json={"name": "x", "filters": {"nope": 1}})
    assert bad.status_code == 422 and "nope" in bad.text
    bad = client.post(
        "/api/v1/views", headers=agent, json={"name": "x", "filters": {"channel": "fax"}}
    )
    assert bad.status_code == 422 and "channel" in bad.text
    assert client.post("/api/v1/views", headers=agent, json={"name": "我的vip"}).status_code == 409

    listed = {v["name"]: v for v in client.get("/api/v1/views", headers=agent).json()}
    assert set(listed) == {"我的VIP", "电话"}
    assert (listed["我的VIP"]["count"], listed["电话"]["count"]) == (1, 1)
    # someone else's personal view is not theirs to see
    assert {v["name"] for v in client.get("/api/v1/views", headers=agent2).json()} == {"电话"}
    assert client.get(f"/api/v1/views/{mine['id']}/cases", headers=agent2).status_code == 404

    # the count is live
    _case(database, seed, channel="phone", subject="又一个电话")
    listed = {v["name"]: v for v in client.get("/api/v1/views", headers=agent).json()}
    assert listed["电话"]["count"] == 2
    r = client.get(f"/api/v1/views/{team['id']}/cases", headers=agent)
    assert [c["channel"] for c in r.json()["items"]] == ["phone", "phone"]

    # only the owner renames or deletes
    assert (
        client.patch(f"/api/v1/views/{team['id']}", headers=agent, json={"name": "改"}).status_code
        == 403
    )
    assert client.delete(f"/api/v1/views/{team['id']}", headers=agent).status_code == 403
    r = client.patch(f"/api/v1/views/{mine['id']}", headers=agent, json={"name": "贵宾"})
    assert r.status_code == 200 and r.json()["name"] == "贵宾"
    assert client.delete(f"/api/v1/views/{mine['id']}", headers=agent).status_code == 204
    assert [v["name"] for v in client.get("/api/v1/views", headers=agent).json()] == ["电话"]
    with database.session() as s:
        actions = list(
            s.scalars(
                select(audit.AuditEntry.action).where(audit.AuditEntry.entity == "saved_view")
            )
        )
    assert sorted(actions) == ["view.create", "view.create", "view.delete", "view.update"]


def test_a_view_naming_a_vanished_tag_or_user_loads_without_them_and_says_so(
    client, database, seed
):
    a = _case(database, seed)
    b = _case(database, seed, channel="phone")
    agent = login(client, "agent1")
    client.post(f"/api/v1/cases/{a}/tags", headers=agent, json={"add": ["退款"]})
    r = client.patch(
        f"/api/v1/cases/{a}", headers=login(client, "supervisor"), json={"assignee_id": seed.agent2}
    )
    assert r.status_code == 200, r.text
    r = client.post(
        "/api/v1/views",
        headers=agent,
        json={"name": "张伟的退款", "filters": {"tag": "退款", "assignee": str(seed.agent2)}},
    )
    vid = r.json()["id"]
    assert _ids(client.get(f"/api/v1/views/{vid}/cases", headers=agent)) == {a}
    # the tag is on no case any more, and the agent left
    client.post(f"/api/v1/cases/{a}/tags", headers=agent, json={"remove": ["退款"]})
    with database.session() as s:
        s.get(User, seed.agent2).is_active = False
    r = client.get(f"/api/v1/views/{vid}/cases", headers=agent)
    assert r.status_code == 200, r.text
    assert r.json()["view"]["dropped"] == ["assignee", "tag"]
    assert {a, b} <= {c["id"] for c in r.json()["items"]}
    # the desk page opens it and names what it left out
    client.cookies.clear()
    client.post("/api/v1/auth/login", json={"username": "agent1", "password": "kefu-demo"})
    page = client.get(f"/desk?saved={vid}")
    assert page.status_code == 200
    assert (
        'data-testid="view-dropped"' in page.text and "处理人" in page.text and "标签" in page.text
    )
    client.cookies.clear()


def _message(client, h, case_id, body, key=None, internal=False):
    r = client.post(
        f"/api/v1/cases/{case_id}/messages",
        headers=h,
        json={"body": body, "idempotency_key": key, "internal": internal},
    )
    assert r.status_code in (200, 201), r.text
    return r.json()


def _backdate(database, message_id, when):
    with database.session() as s:
        s.execute(update(Message).where(Message.id == message_id).values(created_at=when))


def test_merging_two_cases_of_one_customer(client, database, seed):
    target = _case(database, seed, subject="入金没到账")
    source = _case(database, seed, subject="入金还是没到")
    other = _case(database, seed, customer=seed.bob, subject="Bob")
    alice, agent = login(client, "alice"), login(client, "agent1")
    t0 = datetime(2026, 12, 1, 2, 0, tzinfo=UTC)
    m1 = _message(client, alice, target, "我昨天入金五万还没到", key="k1")
    m2 = _message(client, alice, source, "今天又入了一笔，也没到", key="k1")
    m3 = _message(client, agent, target, "您好，正在为您查询")
    m4 = _message(client, alice, source, "请尽快处理", key="k2")
    for i, m in enumerate((m1, m2, m3, m4)):
        _backdate(database, m["id"], t0 + timedelta(minutes=i))
    client.post(f"/api/v1/cases/{target}/tags", headers=agent, json={"add": ["入金"]})
    client.post(f"/api/v1/cases/{source}/tags", headers=agent, json={"add": ["入金", "vip"]})

    # refusals: into itself, across customers; nothing changes
    r = client.post(f"/api/v1/cases/{source}/merge", headers=agent, json={"target_id": source})
    assert r.status_code == 422 and "itself" in r.text
    r = client.post(f"/api/v1/cases/{source}/merge", headers=agent, json={"target_id": other})
    assert r.status_code == 409 and "different customers" in r.text
    # a customer and read-only roles may not merge
    r = client.post(f"/api/v1/cases/{source}/merge", headers=alice, json={"target_id": target})
    assert r.status_code == 403

    r = client.post(f"/api/v1/cases/{source}/merge", headers=agent, json={"target_id": target})
    assert r.status_code == 200, r.text
    assert sorted(r.json()["target"]["tags"]) == ["vip", "入金"]

    # the target's conversation: every message in time order, same ids, seq 1, 2, 3 …
    msgs = client.get(f"/api/v1/cases/{target}", headers=agent).json()["messages"]
    assert [m["id"] for m in msgs[:4]] == [m1["id"], m2["id"], m3["id"], m4["id"]]
    assert msgs[-1]["kind"] == "system" and f"#{source}" in msgs[-1]["body"]
    with database.session() as s:
        seqs = list(
            s.scalars(select(Message.seq).where(Message.case_id == target).order_by(Message.seq))
        )
        assert seqs == list(range(1, len(seqs) + 1))
        assert s.get(Case, target).last_seq == len(seqs)
    # the source: closed, pointing at the target, saying so, read-only
    src = client.get(f"/api/v1/cases/{source}", headers=agent).json()
    assert src["status"] == "closed"
    assert [m["kind"] for m in src["messages"]] == ["system"]
    assert f"#{target}" in src["messages"][0]["body"]
    r = client.post(
        f"/api/v1/cases/{source}/messages", headers=agent, json={"body": "备注", "internal": True}
    )
    assert r.status_code == 409 and f"#{target}" in r.text
    r = client.patch(f"/api/v1/cases/{source}", headers=agent, json={"status": "open"})
    assert r.status_code == 409 and "read-only" in r.text
    r = client.post(f"/api/v1/cases/{source}/tags", headers=agent, json={"add": ["x"]})
    assert r.status_code == 409
    # a retry of a message sent to the source finds it where it moved (keys stay valid)
    r = client.post(
        f"/api/v1/cases/{source}/messages",
        headers=alice,
        json={"body": "今天又入了一笔，也没到", "idempotency_key": "k1"},
    )
    assert r.status_code == 200 and r.json()["id"] == m2["id"]
    r = client.post(
        f"/api/v1/cases/{target}/messages",
        headers=alice,
        json={"body": "我昨天入金五万还没到", "idempotency_key": "k1"},
    )
    assert r.status_code == 200 and r.json()["id"] == m1["id"]
    # already merged: refused
    r = client.post(f"/api/v1/cases/{source}/merge", headers=agent, json={"target_id": target})
    assert r.status_code == 409 and "already merged" in r.text
    third = _case(database, seed, subject="第三个")
    r = client.post(f"/api/v1/cases/{third}/merge", headers=agent, json={"target_id": source})
    assert r.status_code == 409

    # one action, on record for both cases
    with database.session() as s:
        rows = list(
            s.scalars(select(audit.AuditEntry).where(audit.AuditEntry.action == "case.merge"))
        )
    assert {(e.entity_id, e.data["source_id"], e.data["target_id"]) for e in rows} == {
        (str(target), source, target),
        (str(source), source, target),
    }
    # the customer's portal shows the target
    client.cookies.clear()
    client.post("/api/v1/auth/login", json={"username": "alice", "password": "kefu-demo"})
    r = client.get(f"/cases/{source}", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == f"/cases/{target}"
    client.cookies.clear()


def test_sockets_on_the_merged_cases_are_moved_to_the_target(client, database, seed):
    target = _case(database, seed, subject="入金没到账")
    source = _case(database, seed, subject="入金还是没到")
    alice, agent = login(client, "alice"), login(client, "agent1")
    _message(client, alice, source, "还没到")
    _message(client, alice, target, "第一笔")
    client.cookies.clear()
    with (
        _socket(client, _token(client, "alice")) as cws,
        _socket(client, _token(client, "agent1")) as aws,
    ):
        client.cookies.clear()
        cws.send_json({"type": "hello", "case_id": source, "last_seen": 0})
        _until(cws, "case")
        aws.send_json({"type": "hello", "case_id": target, "last_seen": 0})
        _until(aws, "case")
        r = client.post(f"/api/v1/cases/{source}/merge", headers=agent, json={"target_id": target})
        assert r.status_code == 200, r.text
        moved = _until(cws, "case.merged")
        assert (moved["case_id"], moved["target_id"]) == (source, target)
        assert _until(aws, "case.merged")["target_id"] == target
        # the target's socket goes on with the renumbered conversation: the next message arrives
        # once, in order, and the socket is still open
        aws.send_json(
            {"type": "send", "case_id": target, "body": "已合并，继续为您处理", "key": "z1"}
        )
        got = _until(aws, "message")["message"]
        assert got["body"].startswith("工单") or got["body"] == "已合并，继续为您处理"
        if got["body"] != "已合并，继续为您处理":
            got = _until(aws, "message")["message"]
        assert got["body"] == "已合并，继续为您处理"
        aws.send_json({"type": "ping"})
        assert _until(aws, "pong")["type"] == "pong"


def test_the_desk_page_opens_a_saved_view_and_keeps_it_on_refresh(client, database, seed):
    phone = _case(database, seed, channel="phone", subject="电话咨询")
    web = _case(database, seed, channel="web")
    sup = login(client, "supervisor")
    r = client.post(
        "/api/v1/views",
        headers=sup,
        json={"name": "电话", "filters": {"channel": "phone"}, "shared": True},
    )
    vid = r.json()["id"]
    client.cookies.clear()
    client.post("/api/v1/auth/login", json={"username": "agent1", "password": "kefu-demo"})
    page = client.get(f"/desk?saved={vid}")
    assert page.status_code == 200
    # the sidebar lists it with its count; the bar shows its filters; the queue is the view's
    side = page.text.split('data-testid="saved-views"', 1)[1].split("</nav>", 1)[0]
    assert "电话" in side and '<span class="count" data-testid="saved-view-count">1</span>' in side
    assert f'name="saved" value="{vid}"' in page.text
    assert '<option value="phone" selected' in page.text
    assert f'data-case-id="{phone}"' in page.text and f'data-case-id="{web}"' not in page.text
    # the queue's refresh (htmx) carries the view along
    frag = client.get(f"/desk/queue?saved={vid}&view=open")
    assert f'data-case-id="{phone}"' in frag.text and f'data-case-id="{web}"' not in frag.text
    # a view that is not theirs to see answers 404; a bad id names the field
    assert client.get("/desk?saved=999999").status_code == 404
    assert client.get("/desk?saved=abc").status_code == 422
    client.cookies.clear()


def test_dates_outside_the_supported_range_are_refused_not_crashed(client, seed):
    h = login(client, "agent1")
    r = client.get("/api/v1/cases?created_to=9999-12-31", headers=h)
    assert r.status_code == 422 and "created_to" in r.text
    r = client.post(
        "/api/v1/views", headers=h, json={"name": "远古", "filters": {"created_from": "0001-01-01"}}
    )
    assert r.status_code == 422 and "created_from" in r.text
    # an assignee id beyond any user is a filter that names nobody
    r = client.post(
        "/api/v1/views", headers=h, json={"name": "无人", "filters": {"assignee": "99999999999"}}
    )
    assert r.status_code == 201, r.text
    r = client.get(f"/api/v1/views/{r.json()['id']}/cases", headers=h)
    assert r.status_code == 200 and r.json()["view"]["dropped"] == ["assignee"]


def test_after_a_merge_the_customer_and_their_mail_reach_the_target(client, database, seed):
    from kefu.desk import email_channel
    from tests.desk.test_email_channel import ALICE, mail

    first = email_channel.receive_raw(
        database, mail("出金", "出金两天没到", msgid="m1@mail.example.com").as_bytes(), ALICE
    )
    assert first.outcome == "created" and first.case_id is not None
    source, target = first.case_id, _case(database, seed, subject="出金未到账")
    agent, alice = login(client, "agent1"), login(client, "alice")
    r = client.post(f"/api/v1/cases/{source}/merge", headers=agent, json={"target_id": target})
    assert r.status_code == 200, r.text
    # the customer writing to the old case is told where the matter went
    r = client.post(f"/api/v1/cases/{source}/messages", headers=alice, json={"body": "还没到"})
    assert r.status_code == 409 and f"#{target}" in r.text
    # a reply to the old e-mail thread lands on the target, not on the read-only source
    reply = mail(
        f"Re: 出金 [#{source}]",
        "还是没有到账",
        msgid="m2@mail.example.com",
        in_reply_to="m1@mail.example.com",
    )
    got = email_channel.receive_raw(database, reply.as_bytes(), ALICE)
    assert got.case_id == target, got
    bodies = [
        m["body"] for m in client.get(f"/api/v1/cases/{target}/messages", headers=agent).json()
    ]
    assert "出金两天没到" in bodies and any("还是没有到账" in b for b in bodies)
