"""Every context's refusals read in the request's language: Chinese with ``Accept-Language:
zh-CN``, English with ``en``, and the API's English ``detail`` as before for a client that names
no language. One test per context through the API (AML's officer steps are console forms, so
its test is the console's), FastAPI's own 422s field by field, and a console page."""

from __future__ import annotations

from urllib.parse import parse_qs, urlsplit

from tests.conftest import login

ZH = {"Accept-Language": "zh-CN"}
EN = {"Accept-Language": "en"}


def _three(client, method: str, url: str, who: dict[str, str], **kw) -> tuple[dict, dict, dict]:
    """The problem details of one request asked in Chinese, in English and in no language."""
    out = []
    for lang in (ZH, EN, {}):
        r = client.request(method, url, headers=who | lang, **kw)
        out.append((r.status_code, r.json()))
    statuses = {s for s, _ in out}
    assert len(statuses) == 1 and statuses.pop() >= 400, out
    return out[0][1], out[1][1], out[2][1]


def _chat(client, who: dict[str, str]) -> int:
    r = client.post("/api/v1/chats", headers=who, json={"body": "你好，想问一下融资利率"})
    assert r.status_code == 201, r.text
    return int(r.json()["case_id"])


def test_identity_a_failed_login(client, seed) -> None:
    body = {"username": "agent1", "password": "not-the-password"}
    zh, en, plain = _three(client, "POST", "/api/v1/auth/login", {}, json=body)
    assert zh["detail"] == "用户名或密码错误"
    assert en["detail"] == plain["detail"] == "wrong username or password"
    assert zh["status"] == 401


def test_core_a_role_without_the_permission(client, seed) -> None:
    alice = login(client, "alice")
    zh, en, plain = _three(client, "GET", "/api/v1/aml/alerts", alice)
    # the role by its name in Chinese, by its code in English as the API always said it
    assert zh["detail"] == "您的角色（客户）无权执行此操作（aml.read）"
    assert en["detail"] == plain["detail"] == "your role (customer) may not aml.read"


def test_customers_an_unknown_customer_and_a_reveal_without_reason(client, seed) -> None:
    agent = login(client, "agent1")
    zh, en, plain = _three(client, "GET", "/api/v1/customers/999999", agent)
    assert zh["detail"] == "客户 999999 不存在"
    assert en["detail"] == plain["detail"] == "customer 999999 does not exist"

    sup = login(client, "supervisor")
    url = f"/api/v1/customers/{seed.alice}/reveal"
    zh, en, plain = _three(client, "POST", url, sup, json={"field": "phone", "reason": " "})
    assert zh["detail"] == "查看客户个人信息须填写原因"
    assert en["detail"] == plain["detail"] == "a reason is required to reveal personal data"
    assert zh["errors"] == [{"field": "reason", "message": "required"}]


def test_customers_kyc_field_refusals_name_the_field_in_the_language(client, seed) -> None:
    admin = login(client, "admin")
    body = {
        "doc_type": "resident_id",
        "doc_number": "1101051949",
        "funds_source": "salary",
    }
    url = f"/api/v1/customers/{seed.alice}/kyc"
    zh, en, plain = _three(client, "PUT", url, admin, json=body)
    assert zh["detail"] == "证件号码：居民身份证号码应为 18 位"
    assert (
        en["detail"]
        == plain["detail"]
        == ("doc_number: a resident identity card number has 18 characters")
    )


def test_quality_a_case_without_evaluation(client, seed) -> None:
    cid = _chat(client, login(client, "alice"))
    sup = login(client, "supervisor")
    zh, en, plain = _three(client, "GET", f"/api/v1/quality/cases/{cid}/evaluation", sup)
    assert zh["detail"] == f"工单 #{cid} 还没有质检评估"
    assert en["detail"] == plain["detail"] == f"case {cid} has no evaluation"


def test_academy_an_unknown_role_play_run(client, seed) -> None:
    agent = login(client, "agent1")
    zh, en, plain = _three(client, "GET", "/api/v1/academy/runs/999999", agent)
    assert zh["detail"] == "情景演练 999999 不存在"
    assert en["detail"] == plain["detail"] == "no role-play run 999999"


def test_market_an_unknown_correction_and_instrument(client, seed) -> None:
    sup = login(client, "supervisor")
    url = "/api/v1/market/corrections/999999/decision"
    zh, en, plain = _three(client, "POST", url, sup, json={"decision": "approve"})
    assert zh["detail"] == "更正申请 999999 不存在"
    assert en["detail"] == plain["detail"] == "correction 999999 does not exist"

    zh, en, plain = _three(client, "GET", "/api/v1/market/bars?symbol=NOPE", sup)
    assert zh["detail"] == "品种 'NOPE' 不存在"
    assert en["detail"] == plain["detail"] == "instrument 'NOPE' does not exist"


def test_knowledge_an_unknown_article_and_an_empty_title(client, seed) -> None:
    admin = login(client, "admin")
    zh, en, plain = _three(client, "GET", "/api/v1/kb/articles/no-such-article", admin)
    assert zh["detail"] == "知识库文章 'no-such-article' 不存在"
    assert en["detail"] == plain["detail"] == "no knowledge-base article 'no-such-article'"

    slug = client.get("/api/v1/kb/articles", headers=admin).json()["articles"][0]["slug"]
    url = f"/api/v1/kb/articles/{slug}"
    zh, en, plain = _three(client, "PATCH", url, admin, json={"title_zh": "  "})
    assert zh["detail"] == "中文标题：不能为空"
    assert en["detail"] == plain["detail"] == "title_zh: must not be empty"


def test_compliance_a_blocked_reply_says_why_in_the_language(client, seed) -> None:
    cid = _chat(client, login(client, "alice"))
    agent = login(client, "agent1")
    url = f"/api/v1/cases/{cid}/messages"
    zh, en, plain = _three(
        client, "POST", url, agent, json={"body": "放心买，保证年化收益20%，稳赚不赔"}
    )
    assert zh["detail"].startswith("未发送：") and "not sent" not in zh["detail"]
    assert en["detail"].startswith("not sent: ") and plain["detail"] == en["detail"]
    assert zh["findings"] == en["findings"]  # the findings stay as data


def test_fastapi_validation_says_each_field_in_the_language(client, seed) -> None:
    agent = login(client, "agent1")
    zh, en, plain = _three(client, "GET", "/api/v1/cases?limit=abc", agent)
    assert zh["detail"] == "输入有误：limit：请填写整数"
    assert zh["errors"] == [{"field": "limit", "message": "请填写整数", "type": "int_parsing"}]
    assert en["detail"] == "invalid input: limit: Input should be a valid integer"
    # a client that names no language: pydantic's own words, as before
    assert plain["detail"] == "invalid input: limit"
    assert plain["errors"][0]["message"] == (
        "Input should be a valid integer, unable to parse string as an integer"
    )

    # ctx values fill the words in; a field with a name of its own is named by it
    zh, en, plain = _three(client, "POST", "/api/v1/cases", agent, json={"subject": "x" * 300})
    assert zh["detail"] == "输入有误：主题：最多 200 个字符"
    assert en["detail"] == "invalid input: subject: String should have at most 200 characters"
    assert plain["detail"] == "invalid input: subject"


def test_fastapi_validation_ctx_params(client, seed) -> None:
    sup = login(client, "supervisor")
    url = "/api/v1/quality/agents/0/report?on=2026-12-01"
    zh, en, plain = _three(client, "GET", url, sup)
    (field,) = zh["errors"]
    assert field["type"] == "greater_than_equal" and field["message"] == "须大于或等于 1"
    assert en["errors"][0]["message"] == "Input should be greater than or equal to 1"
    assert plain["errors"][0]["message"] == "Input should be greater than or equal to 1"


def _cookie_login(client, username: str) -> str:
    r = client.post("/api/v1/auth/login", json={"username": username, "password": "kefu-demo"})
    assert r.status_code == 200, r.text
    client.cookies.clear()
    client.cookies.set("kefu_session", r.json()["token"])
    return str(r.json()["csrf_token"])


def test_aml_console_refusals_read_in_the_page_language(client, seed, database) -> None:
    """The officer's steps are console forms: a refused step is flashed in the page's
    language, and a missing case is an error page in it."""
    from sqlalchemy import select

    from kefu.aml.models import AmlCase

    admin = login(client, "admin")
    record = {
        "transfer_id": "F1",
        "customer_id": "C01",
        "ts": "2026-12-04T09:00:00+08:00",
        "kind": "deposit",
        "amount": "60000",
        "method": "cash",
    }
    r = client.post("/api/v1/feeds/transfers", headers=admin, json={"records": [record]})
    assert r.status_code == 200, r.text
    with database.session() as s:
        case_id = s.scalars(select(AmlCase.id)).one()
    csrf = _cookie_login(client, "compliance")
    try:

        def flash(lang: str) -> str:
            r = client.post(
                f"/compliance/cases/{case_id}/close?lang={lang}",
                data={"outcome": "confirmed", "reason": "  ", "csrf": csrf},
                follow_redirects=False,
            )
            assert r.status_code == 303, r.text
            query = parse_qs(urlsplit(r.headers["location"]).query)
            assert query["kind"] == ["error"]
            return query["flash"][0]

        assert flash("zh-CN") == "请填写理由"
        assert flash("en") == "reason is required"

        html = {"Accept": "text/html"}
        zh = client.get("/compliance/cases/999999?lang=zh-CN", headers=html)
        assert zh.status_code == 404 and "反洗钱案件 999999 不存在" in zh.text
        en = client.get("/compliance/cases/999999?lang=en", headers=html)
        assert en.status_code == 404 and "AML case 999999 does not exist" in en.text
    finally:
        client.cookies.clear()
    with database.session() as s:  # nothing was closed
        assert s.get(AmlCase, case_id).status != "closed"


def test_customers_the_questionnaire_names_an_unanswered_question(client, seed) -> None:
    """The customer's own portal form: a question left out is named by its text in Chinese."""
    alice = login(client, "alice")
    url = "/api/v1/suitability/assessments"
    zh, en, plain = _three(client, "POST", url, alice, json={"answers": {}})
    assert zh["detail"] == "问题“您的年龄是？”：尚未作答"
    assert en["detail"] == plain["detail"] == "answers.age: not answered"
    assert zh["errors"] == [{"field": "answers.age", "message": "not answered"}]


def test_compliance_the_guard_names_text_it_cannot_screen(client, seed) -> None:
    agent = login(client, "agent1")
    body = {"text": "你好\x01", "role": "agent"}
    zh, en, plain = _three(client, "POST", "/api/v1/screen", agent, json=body)
    assert zh["detail"] == "第 3 个字符是控制字符 U+0001"  # counted from 1 in Chinese
    assert en["detail"] == plain["detail"] == "control character U+0001 at offset 2"
