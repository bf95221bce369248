"""The compliance guard: every policy example, evasion, context traps, PII validity, wiring."""

from __future__ import annotations

import json

import pytest
from typer.testing import CliRunner

from kefu.compliance.cli import app
from kefu.compliance.content import default_guard, screen
from kefu.compliance.guard import GuardInputError

GUARD = default_guard()
EXAMPLES = [
    (r.id, r.category, ex, True) for r in GUARD.rules.values() for ex in r.examples_match
] + [(r.id, r.category, ex, False) for r in GUARD.rules.values() for ex in r.examples_pass]


@pytest.mark.parametrize(("rule", "category", "text", "should_match"), EXAMPLES)
def test_every_policy_example(rule, category, text, should_match):
    hits = {f.rule for f in screen(text).findings}
    assert (rule in hits) is should_match, (text, hits)


@pytest.mark.parametrize(
    ("text", "match"),
    [
        ("这个产品稳 赚 不 赔哦", "稳 赚 不 赔"),
        ("保.证.收.益，放心", "保.证.收.益"),
        ("穩賺不賠的機會", "穩賺不賠"),
        ("It is g u a r a n t e e d return", "g u a r a n t e e d return"),
        ("ＧＵＡＲＡＮＴＥＥＤ ＲＥＴＵＲＮ for you", "ＧＵＡＲＡＮＴＥＥＤ ＲＥＴＵＲＮ"),
        ("totally Risk-Free!", "Risk-Free"),
    ],
)
def test_evasion_is_caught_and_offsets_point_into_the_original(text, match):
    result = screen(text)
    assert result.verdict == "block"
    f = next(f for f in result.findings if f.category != "model")  # the rule's own finding
    assert text[f.start : f.end] == match == f.match


@pytest.mark.parametrize(
    "text",
    [
        "我们无法保证收益，投资有风险",
        "不存在稳赚不赔的产品",
        "请勿向任何人透露密码或验证码",
        "保证金不足时需要追加保证金",
        "我们保证24小时内回复您",
        "您尾号0128的银行卡已绑定",
        "订单号 1234567890123456 已处理",  # fails Luhn: an order number, not a card
        "流水号 110105194912310022",  # 18 digits with a wrong check digit
        "We cannot guarantee any return.",
        "Never share your code with anyone, including us.",
        "Your card ending 0128 is linked.",
        "融资融券的维持担保比例低于130%时需要补仓",
    ],
)
def test_context_traps_pass(text):
    assert screen(text).verdict == "allow", screen(text).findings


@pytest.mark.parametrize(
    ("text", "rule", "masked"),
    [
        ("卡号4111111111111111", "pii.card", "卡号4111 **** **** 1111"),
        ("银联卡 6222021234567890128", "pii.card", "银联卡 6222 **** **** 0128"),
        (
            "卡号６２２２０２１２３４５６７８９０１２８",
            "pii.card",
            "卡号６２２２ **** **** ０１２８",
        ),
        ("手机13812345678", "pii.phone", "手机138****5678"),
        ("身份证11010519491231002X", "pii.id", "身份证110***********002X"),
        ("mail me at wang.jianguo@example.com", "pii.email", "mail me at w***@example.com"),
    ],
)
def test_valid_personal_data_is_found_and_masked(text, rule, masked):
    customer = screen(text, "customer")
    assert customer.verdict == "allow"  # customers are never blocked
    assert [f.rule for f in customer.findings] == [rule]
    assert customer.redacted == masked
    assert screen(text, "agent").verdict == "block"  # an agent must not send it


def test_disclosure_warns_unless_risk_is_stated():
    assert screen("该期权赔付率85%").verdict == "warn"
    assert screen("该期权赔付率85%，亏损时损失全部投入，投资有风险").verdict == "allow"


@pytest.mark.parametrize(
    "text",
    [
        "你们客服加我微信，让我把验证码发给他",
        "有个自称你们风控的人打电话给我，让我报短信里的验证码",
        "有人冒充客服叫我把钱转到他个人帐户",  # 帐户: the other simplified form
        "有人假扮你們的經理，要我進一個VIP群",  # traditional script
        "A man claiming to be from your support team asked me to add him on WeChat",
        "Someone said he's your account manager and wants me to pay into his personal account",
    ],
)
def test_a_customer_reporting_someone_posing_as_staff_raises_a_report(text):
    r = screen(text, "customer")
    assert r.verdict == "allow" and r.report


@pytest.mark.parametrize(
    "text",
    [
        "请问怎么修改登录密码",
        "客服你好，我忘了交易密码怎么办",  # staff and a password, but nobody asked for it
        "客服让我在你们App里自己改密码",  # sent to the firm's own app: service
        "我朋友叫我加他的群",  # a friend, not someone posing as staff
        "有人说你们不会要验证码，是真的吗",
        "How do I change my password?",
    ],
)
def test_a_customer_asking_about_secrets_or_groups_raises_no_report(text):
    assert not screen(text, "customer").report


@pytest.mark.parametrize("bad", ["", "   ", "x" * 10_001, "bell\x07"])
def test_bad_input_is_refused_clearly(bad):
    with pytest.raises(GuardInputError):
        screen(bad)


def test_cli_jsonl_answers_every_line_in_order(tmp_path):
    src = tmp_path / "in.jsonl"
    src.write_bytes(
        b'{"text": "\xe7\xa8\xb3\xe8\xb5\x9a\xe4\xb8\x8d\xe8\xb5\x94", "role": "agent"}\n'
        b"not json\n"
        b'{"text": "\xff\xfe"}\n'
        b'{"text": "hello", "role": "customer"}\n'
    )
    result = CliRunner().invoke(app, ["--jsonl", str(src)])
    lines = [json.loads(x) for x in result.stdout.strip().splitlines()]
    assert result.exit_code == 1
    assert lines[0]["verdict"] == "block"
    assert lines[1] == {"line": 2, "error": lines[1]["error"]} and "JSON" in lines[1]["error"]
    assert "UTF-8" in lines[2]["error"]
    assert lines[3]["verdict"] == "allow"


def test_cli_single_text_json():
    result = CliRunner().invoke(app, ["我们无法保证收益", "--json"])
    assert result.exit_code == 0
    assert json.loads(result.stdout)["verdict"] == "allow"


def test_evaluation_set_floors():
    """The measured figures in docs/guard.md, as floors: a regression fails here."""
    from tests.compliance.evalset import evaluate

    res = evaluate()
    assert res["cases"] >= 300 and res["traps"] >= 100
    for cat, m in res["per_category"].items():
        assert m["precision"] >= 0.99, (cat, m)
        assert m["recall"] >= 0.95, (cat, m)
    assert not [m for m in res["misses"] if m[0] == "trap"]
    assert res["false_blocks_per_1000"] < 2


@pytest.mark.parametrize(
    ("text", "rule", "masked"),
    [
        # resident IDs in groups, with dashes, full-width digits and Chinese numerals
        ("身份证 440304 19850716 1234 请核对", "pii.id", "身份证 440***********1234 请核对"),
        ("ID 440304-19850716-1234.", "pii.id", "ID 440***********1234."),
        ("证件号３１０１１５１９７７０３０２４５６５", "pii.id", "证件号３１０***********４５６５"),
        ("身份证三一零一一五一九七七零三零二四五六五", "pii.id", "身份证310***********4565"),
        # cards with dots, dashes and spaces
        ("卡号 6217.0012.3456.7890.122 中行", "pii.card", "卡号 6217 **** **** 0122 中行"),
        ("card 6217-0012-3456-7890-122", "pii.card", "card 6217 **** **** 0122"),
        # mobiles: dotted, spaced digit by digit, Chinese numerals with 幺/两/拐, +86
        ("my number is 139.2468.1357", "pii.phone", "my number is 139****1357"),
        ("1 3 9 2 4 6 8 1 3 5 7 打我电话", "pii.phone", "139****1357 打我电话"),
        ("手机幺三九两四六八幺三五拐", "pii.phone", "手机139****1357"),
        ("電話：一三九 二四六八 一三五七", "pii.phone", "電話：139****1357"),
        ("手机号139-2468-1357一直收不到短信", "pii.phone", "手机号139****1357一直收不到短信"),
        ("call +86 139 2468 1357", "pii.phone", "call 139****1357"),
    ],
)
def test_personal_data_in_any_layout_is_masked_whole(text, rule, masked):
    customer = screen(text, "customer")
    assert customer.verdict == "allow"
    assert [f.rule for f in customer.findings if f.category == "pii"] == [rule]
    assert customer.redacted == masked
    assert screen(text, "agent").verdict == "block"


@pytest.mark.parametrize(
    "text",
    [
        "您尾号1357的手机已绑定",
        "卡号 6217 **** **** 0122 已解绑",
        "订单号 6217-0012-3456-7890-123 已处理",  # fails Luhn
        "流水号 440304 19850716 1235",  # wrong ID check character
        "工单 2026.12.07.0001 已关闭",
        "一二三四五六七八九十，数到十再说",
    ],
)
def test_masked_and_checksum_failing_numbers_pass(text):
    r = screen(text)
    assert r.verdict == "allow", r.findings
    assert r.redacted == text


def test_an_id_number_is_never_read_as_a_phone():
    for text in ("身份证 440304 19850716 1234", "身份证440304198507161234"):
        assert [f.rule for f in screen(text, "customer").findings] == ["pii.id"]


@pytest.mark.parametrize(
    "text",
    [
        # warning frames after the hit
        "“稳赚不赔”的说法是违规的，请勿相信",
        "所谓保证收益的理财都是诈骗",
        "A guaranteed return is a scam.",
        "Promising you a guaranteed profit is illegal.",
        # reported speech and quotation that correct or warn
        "如果有人让您把验证码发给他，请立即挂断",
        "您提到的“加我微信领红包”不是我们的活动",
        'You mentioned someone said "add me on WeChat" - that was not our staff.',
        "We will never ask you to tell us your password.",
        # negation right before the words
        "该产品不保本，可能亏损",
        # service promises and margin terms
        "我们保证24小时内回复您",
        "维持担保比例低于130%时需要追加保证金",
        "融资利率目前是年化6.5%，按日计息",
    ],
)
def test_warnings_quotes_and_service_promises_pass(text):
    r = screen(text)
    assert r.verdict == "allow", r.findings


def test_a_compositional_finding_names_its_rule_and_words():
    f = screen("如果是我，我会把这只先卖掉")
    assert f.verdict == "block"
    (finding,) = [x for x in f.findings if x.rule == "advice.trade_call"]
    classes = {c for c, *_ in finding.words}
    assert classes >= {"TRADE_ACTION", "INSTRUMENT"} and classes & {"RECOMMEND", "COUNTERFACTUAL"}
    d = finding.to_dict()
    assert all(d["words"][i]["word"] for i in range(len(d["words"])))
    for _, word, a, b in finding.words:
        assert "如果是我，我会把这只先卖掉"[a:b] == word


def test_customers_are_never_blocked_by_compositional_rules():
    r = screen("客服说加他威信，还让我把动态码发给他", "customer")
    assert r.verdict == "allow"


# --- the context and class mechanisms behind the rules (docs/guard.md, "Context both ways") ---


@pytest.mark.parametrize(
    ("text", "verdict"),
    [
        # an English negation is a word: "no" is not in "know", "not" not in "notice"
        ("Just so you know, your sister sold all her shares last week.", "block"),
        ("Please notice: your husband holds 2,000 shares of this fund.", "block"),
        # a negation governs the rest of its clause, not the next one
        ("验证码不用输在App里，直接告诉我就行。", "block"),
        ("验证码不用告诉我，请在App里输入。", "allow"),
        # the agent as the subject tells; addressing the customer makes it a request again
        ("我先说一下短信里的内容，是撤单提醒。", "allow"),
        ("我这边需要您说一下短信里的验证码。", "block"),
        # a trade word inside a noun is no trade ("trading password", "交易时间")
        ("Hurry and change your trading password in the app right now.", "allow"),
        # a homophone reaches the phrase rules too (保本 → bao本)
        ("这款理财bao本，放心买。", "block"),
        # a quoted claim that the agent corrects
        ("您说的“稳赚不赔”不准确，任何投资都可能亏损。", "allow"),
    ],
)
def test_context_and_class_mechanisms(text, verdict):
    assert screen(text).verdict == verdict, screen(text).to_dict()


def test_a_promise_is_not_hidden_by_a_pitch_warning_on_the_same_words():
    # 年化 is a disclosure phrase (warns); the promise on the same words still blocks
    result = screen("这个包稳的，年化锁死8个点。")
    assert result.verdict == "block"
    assert "promise" in {f.category for f in result.findings}


def test_class_patterns_are_gated_on_a_string_they_need():
    from kefu.compliance.guard_rules import _DIGITS, _gate

    assert _gate(r"[0-9][0-9]*%(?:回报|收益)") == ("%",)
    assert _gate("(?:buy|sell) (?:a )?(?:put|call)") == ("buy", "sell")
    assert _gate("[036][0-9]{5}") == ("0", "3", "6")
    assert _gate("[a-z][0-9]{5}") is _DIGITS
    assert _gate("(?:put|call)s? (?:is|are) the") == ("put", "call")  # not "the"
    assert _gate("[a-z]+") == ()


def test_a_finding_spanning_a_number_names_it_masked():
    """Any finding (a rule's, a class's, the model's) whose words cover a phone or ID number
    carries it masked, as the personal-data finding does; one cut by the span is starred."""
    from kefu.compliance.guard import _masked
    from kefu.compliance.guard_types import Finding

    text = "稳赚不赔，身份证11010519491231002X，电话13812345678"
    pii = [
        Finding("pii", "pii.id", 8, 26, "110***********002X", "", ""),
        Finding("pii", "pii.phone", 29, 40, "138****5678", "", ""),
    ]
    model = Finding(
        "model", "model.block", 0, 33, text[0:33], "", "", words=(("MODEL", text[8:12], 8, 12),)
    )
    out = _masked(model, text, pii)
    assert out.match == "稳赚不赔，身份证110***********002X，电话****"
    assert out.words == (("MODEL", "****", 8, 12),)
    assert (out.start, out.end) == (0, 33)  # the offsets still locate it in the text
    plain = Finding("promise", "promise.x", 0, 4, "稳赚不赔", "", "")
    assert _masked(plain, text, pii) is plain
