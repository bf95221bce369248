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
    f = result.findings[0]
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


def test_customer_reporting_impersonation_raises_a_report():
    r = screen("你们客服加我微信，让我把验证码发给他", "customer")
    assert r.verdict == "allow" and r.report
    assert not screen("请问怎么修改登录密码", "customer").report


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
