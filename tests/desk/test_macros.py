"""Macros and editable canned replies: applying a macro changes the case through audited
actions (all or nothing) and hands back its text for the reply box; personal macros stay their
owner's, shared ones are the supervisors'; canned replies are searched, edited and deleted on
record; the knowledge panel's "insert" carries the whole answer."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from kefu.core import audit
from kefu.core.errors import Conflict, Forbidden, NotFound, ValidationFailed
from kefu.core.security import User
from kefu.desk import service as desk
from kefu.desk.models import CannedReply, Case, CaseStatus
from kefu.knowledge import service as knowledge
from tests.conftest import login


def _case(database, seed) -> int:
    with database.session() as s:
        return desk.create_case(
            s, actor=s.get(User, seed.agent1), customer_id=seed.alice, channel="web",
            subject="出金没到账", category="funds", auto_assign=False,
        ).id  # fmt: skip


def _entries(database, case_id: int) -> list[str]:
    with database.session() as s:
        return list(
            s.scalars(
                select(audit.AuditEntry.action)
                .where(
                    audit.AuditEntry.entity == "case", audit.AuditEntry.entity_id == str(case_id)
                )
                .order_by(audit.AuditEntry.id)
            )
        )


def test_applying_a_shared_macro_changes_the_case_on_record_and_returns_its_text(
    client, database, seed
):
    cid = _case(database, seed)
    sup, agent = login(client, "supervisor"), login(client, "agent1")
    r = client.post(
        "/api/v1/macros",
        headers=sup,
        json={
            "name": "出金核查中",
            "shared": True,
            "body_zh": "{customer_name}您好，工单 {case_ref} 的出金我们正在核查，今天内回复您。",
            "body_en": "Hello {customer_name}, we are checking case {case_ref}.",
            "status": "pending",
            "priority": "high",
            "add_tags": ["出金"],
            "assign": "me",
        },
    )
    assert r.status_code == 201, r.text
    mid = r.json()["id"]
    assert [m["name"] for m in client.get("/api/v1/macros", headers=agent).json()] == ["出金核查中"]
    before = _entries(database, cid)

    r = client.post(f"/api/v1/cases/{cid}/macros/{mid}", headers=agent)
    assert r.status_code == 200, r.text
    assert r.json()["text"] == f"王建国您好，工单 #{cid} 的出金我们正在核查，今天内回复您。"
    case = r.json()["case"]
    assert (case["status"], case["priority"], case["tags"], case["assignee_id"]) == (
        "pending",
        "high",
        ["出金"],
        seed.agent1,
    )
    new = _entries(database, cid)[len(before) :]
    assert {"case.assign", "case.update", "case.tags", "macro.apply"} <= set(new)
    # the text was not sent: nothing reached the customer yet
    alice = login(client, "alice")
    msgs = client.get(f"/api/v1/cases/{cid}/messages", headers=alice).json()
    assert not any("核查" in m["body"] for m in msgs)


def test_a_macro_that_cannot_apply_changes_nothing(database, seed):
    cid = _case(database, seed)
    with database.session() as s:
        agent = s.get(User, seed.agent1)
        m = desk.create_macro(
            s, actor=agent, name="mine", priority="urgent", status="on_hold", add_tags=["x"]
        )
        mid = m.id
    with database.session() as s:  # the status disappears after the macro was saved
        s.delete(s.scalar(select(CaseStatus).where(CaseStatus.key == "on_hold")))
    with pytest.raises(ValidationFailed, match="on_hold"), database.session() as s:
        desk.apply_macro(s, actor=s.get(User, seed.agent1), case_id=cid, macro_id=mid)
    with database.session() as s:
        case = s.get(Case, cid)
        assert (case.priority, case.tags) == ("normal", [])


def test_personal_macros_are_their_owners_and_shared_ones_need_a_supervisor(database, seed):
    with database.session() as s:
        a1, a2 = s.get(User, seed.agent1), s.get(User, seed.agent2)
        mid = desk.create_macro(s, actor=a1, name="私人", body_zh="稍等").id
        assert desk.list_macros(s, viewer=a2) == []
        with pytest.raises(NotFound):
            desk.delete_macro(s, actor=a2, macro_id=mid)
        with pytest.raises(Forbidden):
            desk.create_macro(s, actor=a1, name="团队", shared=True, body_zh="x")
        with pytest.raises(ValidationFailed, match="text or at least one action"):
            desk.create_macro(s, actor=a1, name="空")
        with pytest.raises(Conflict):
            desk.create_macro(s, actor=a1, name="私人", body_zh="again")
        m = desk.update_macro(s, actor=a1, macro_id=mid, body_zh="请稍等片刻")
        assert m.body_zh == "请稍等片刻"
        sup = s.get(User, seed.supervisor)
        shared = desk.create_macro(s, actor=sup, name="团队", shared=True, body_zh="x")
        assert [x.name for x in desk.list_macros(s, viewer=a2)] == ["团队"]
        with pytest.raises(Forbidden):
            desk.update_macro(s, actor=a2, macro_id=shared.id, body_zh="y")
        desk.delete_macro(s, actor=a1, macro_id=mid)
        assert [x.name for x in desk.list_macros(s, viewer=a1)] == ["团队"]


def test_canned_replies_are_searched_edited_and_deleted_on_record(database, seed):
    with database.session() as s:
        for key, zh, en in (
            ("greet", "您好，{customer_name}", "Hi"),
            ("wait", "请稍等", "A moment"),
        ):
            s.add(CannedReply(key=key, category="general", title_zh=key, title_en=key,
                              body_zh=zh, body_en=en))  # fmt: skip
    cid = _case(database, seed)
    with database.session() as s:
        sup, agent = s.get(User, seed.supervisor), s.get(User, seed.agent1)
        assert [c.key for c in desk.list_canned(s, q="MOMENT")] == ["wait"]
        with pytest.raises(Forbidden):
            desk.update_canned(s, actor=agent, key="greet", body_zh="嗨")
        desk.update_canned(s, actor=sup, key="greet", body_zh="您好 {customer_name}！")
        case = s.get(Case, cid)
        text = desk.render_canned(
            s, actor=agent, key="greet", lang="zh", variables=desk.case_variables(s, case, agent)
        )
        assert text == "您好 王建国！"
        desk.delete_canned(s, actor=sup, key="wait")
        assert [c.key for c in desk.list_canned(s)] == ["greet"]
        rows = s.scalars(
            select(audit.AuditEntry).where(audit.AuditEntry.entity == "canned_reply")
        ).all()
        got = {(e.action, e.data["key"]) for e in rows}
        assert {("canned.update", "greet"), ("canned.delete", "wait")} <= got
        upd = next(e for e in rows if e.action == "canned.update")
        assert upd.data["old"] == {"body_zh": "您好，{customer_name}"}


def test_kb_insert_carries_the_whole_answer_not_the_snippet(client, database, seed):
    cid = _case(database, seed)
    agent = login(client, "agent1")
    client.cookies.set("kefu_session", agent["Authorization"].split()[1])
    html = client.get(f"/desk/cases/{cid}/kb", headers={"HX-Request": "true"}).text
    client.cookies.clear()
    assert 'data-testid="kb-insert"' in html
    with database.session() as s:
        hit = knowledge.suggest(s, "出金没到账", top=1)[0]
        full = knowledge.article_answers(s, [hit.slug], "zh")[hit.slug]
    assert hit.snippet.endswith("…") and len(full) > len(hit.snippet)
    assert "**" not in full
    from html import escape

    assert f'data-text="{escape(full)}"' in html


def test_answer_text_drops_markdown_marks_and_keeps_lists():
    body = "## 步骤\n\n- **旧号码**：见 [帮助](/help/x)\n> 注意 `App`"
    assert knowledge.answer_text(body) == "步骤\n\n- 旧号码：见 帮助 (/help/x)\n注意 App"


def test_the_demo_macros_load_once_and_each_is_valid(database, seed):
    import yaml

    from kefu.core.config import REPO_ROOT

    specs = yaml.safe_load((REPO_ROOT / "content/demo/macros.yaml").read_text())["macros"]
    with database.session() as s:
        admin = s.get(User, seed.admin)
        assert desk.load_macros(s, actor=admin, specs=specs) == len(specs) >= 3
        assert desk.load_macros(s, actor=admin, specs=specs) == 0
        shared = desk.list_macros(s, viewer=s.get(User, seed.agent1))
        assert all(m.owner_id is None for m in shared) and len(shared) == len(specs)
