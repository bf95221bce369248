"""The rules registry: dated values, validation that names the file, rule and field, rendering
of {{rule:…}} placeholders in Chinese and English, and `kefu rules list`."""

from __future__ import annotations

import json
from datetime import date
from decimal import Decimal as D
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefu.cli import app
from kefu.knowledge.articles import ArticleError, parse_article
from kefu.knowledge.content import read_registry, render_article, rules
from kefu.knowledge.rules import RuleError, hand_typed, parse_registry

R = rules()


def test_every_shipped_rule_has_a_dated_source_and_a_check():
    assert len(R.rules) >= 25
    for rule in R.rules.values():
        for e in rule.entries:
            assert e.source and e.checked <= date.today(), rule.id
        # only the first entry may leave its start unrecorded
        assert all(e.effective for e in rule.entries[1:]), rule.id


def test_values_by_date_are_decimals_and_old_values_stay():
    assert R.value("transfer_fee", date(2022, 4, 28)) == D("0.00002")
    assert R.value("transfer_fee", date(2022, 4, 29)) == D("0.00001")
    assert R.value("stamp_duty.rate", date(2023, 8, 27)) == D("0.001")
    assert R.value("stamp_duty", date(2023, 8, 28), "rate") == D("0.0005")
    assert R.value("price_limit_st", date(2025, 7, 6)) == D("0.05")
    assert R.value("price_limit_st", date(2025, 7, 7)) == D("0.10")
    assert R.value("retention_securities") == 20
    assert R.value("retention_aml", date(2024, 12, 31)) == 5
    assert R.value("retention_aml", date(2025, 1, 1)) == 10
    cash = R.value("aml_large_value.cash")
    assert isinstance(cash, D) and cash == D("50000")
    assert R.value("aml_large_value.individual_domestic") == D("500000")
    assert R.value("aml_large_value.individual_cross_border") == D("200000")
    assert R.value("aml_large_value.entity_transfer") == D("2000000")
    with pytest.raises(RuleError, match="no entry in force on 2015-07-31"):
        R.value("transfer_fee", date(2015, 7, 31))
    with pytest.raises(RuleError, match="unknown rule 'no_such_rule'"):
        R.value("no_such_rule")


@pytest.mark.parametrize(
    ("text", "zh", "en"),
    [
        ("{{rule:stamp_duty.rate}}", "0.05%", "0.05%"),
        ("{{rule:stamp_duty.rate@prev}}", "0.1%", "0.1%"),
        ("{{rule:stamp_duty.since}}", "2023年8月28日", "28 August 2023"),
        ("±{{rule:price_limit_main}}", "±10%", "±10%"),
        ("{{rule:transfer_fee@2020-01-02}}", "0.002%", "0.002%"),
        ("{{rule:aml_large_value.cash}}", "5万元", "¥50,000"),
        ("{{rule:aml_large_value.entity_transfer}}", "200万元", "¥2,000,000"),
        ("{{rule:demo_commission.minimum}}", "5元", "¥5"),
        ("{{rule:lot_star.min_order}}", "200股", "200 shares"),
        ("{{rule:lot_star.step}}", "1股", "1 share"),
        ("{{rule:retention_securities}}", "20年", "20 years"),
        ("{{rule:demo_margin_lines.call_deadline}}", "2个交易日", "2 trading days"),
        ("{{rule:trading_hours.opening_auction}}", "9:15–9:25", "9:15–9:25"),
        ("{{rule:stamp_duty.side}}", "仅对卖出方（出让方）征收", "charged on sells only"),
    ],
)
def test_placeholders_render_in_both_languages(text, zh, en):
    assert R.render(text, "zh", date(2026, 12, 7)) == zh
    assert R.render(text, "en", date(2026, 12, 7)) == en


def test_rendering_follows_the_date():
    text = "印花税{{rule:stamp_duty.rate}}"
    assert R.render(text, "zh", date(2023, 8, 27)) == "印花税0.1%"
    assert R.render(text, "zh", date(2023, 8, 28)) == "印花税0.05%"


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("{{rule:stamp_tax}}", "unknown rule 'stamp_tax'"),
        ("{{rule:stamp_duty.fee}}", "rule 'stamp_duty' has no field 'fee'"),
        ("{{rule:stamp_duty}}", "rule 'stamp_duty' has fields rate, side: name one"),
        ("{{rule:price_limit_star@prev}}", "no entry before"),
        ("{{rule:Stamp Duty}}", "malformed placeholder"),
    ],
)
def test_bad_references_are_refused_quoting_them(text, message):
    with pytest.raises(RuleError, match=message):
        R.render(f"费用：{text}。", "zh")


def test_an_article_citing_an_unknown_rule_is_refused_naming_the_field():
    text = (
        "---\nslug: t.x\ncategory: trading\ntitle: {zh: 标题, en: Title}\nquestions: {}\n---\n"
        "<!-- lang:zh -->\n印花税{{rule:stamp_duty.rate}}\n<!-- lang:en -->\n"
        "Stamp duty {{rule:stamp_dutty.rate}}\n"
    )
    article = parse_article(text, "t.x.md")
    with pytest.raises(ArticleError, match=r"t\.x: body_en: .*unknown rule 'stamp_dutty'"):
        render_article(article, R)
    text = text.replace("stamp_dutty", "stamp_duty")
    rendered = render_article(parse_article(text, "t.x.md"), R, date(2026, 12, 7))
    assert (rendered.body_zh, rendered.body_en) == ("印花税0.05%", "Stamp duty 0.05%")


@pytest.mark.parametrize(
    ("text", "rule"),
    [
        ("印花税为成交金额的0.05%。", "stamp_duty"),
        ("印花税此前为0.1%。", "stamp_duty"),  # a past value typed by hand counts too
        ("Stamp duty: since 28 August 2023.", "stamp_duty"),
        ("过户费0.002%。", "transfer_fee"),
        ("当日现金交易人民币5万元以上须报告，属于大额交易。", "aml_large_value"),
        ("Large-value cash reports start at RMB 50,000.", "aml_large_value"),
        ("科创板每笔不少于200股。", "lot_star"),
        ("交易记录保存不少于20年。", "retention_securities"),
        ("主板涨跌幅±10%。", "price_limit_main"),
        ("9:15–9:25 开盘集合竞价", "trading_hours"),
    ],
)
def test_hand_typed_rule_numbers_are_found(text, rule):
    assert rule in {h.rule for h in hand_typed(text, R)}


@pytest.mark.parametrize(
    "text",
    [
        "印花税为成交金额的{{rule:stamp_duty.rate}}。",
        "RSI 高于70常被视为超买。",
        "举例：佣金5.00元，印花税5.00元，合计10.10元。",  # worked amounts, not the rule
        "赔付率80%的合约",
        "The first STAR listing day",
    ],
)
def test_placeholders_and_unrelated_numbers_are_not_flagged(text):
    assert hand_typed(text, R) == []


def _write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "rules.yaml"
    path.write_text(text, encoding="utf-8")
    return path


@pytest.mark.parametrize(
    ("yaml_text", "message"),
    [
        ("rules: []", "rules.yaml: expected a mapping with 'rules'"),
        (
            "rules:\n  fee:\n    title: {zh: 费, en: Fee}\n    kind: percent\n    entries: []",
            "rules.yaml: rule 'fee': field 'entries' needs at least one dated entry",
        ),
        (
            "rules:\n  fee:\n    title: {zh: 费, en: Fee}\n    kind: percent\n    entries:\n"
            "      - {effective: 2020-01-01, value: 0.1, checked: 2026-12-07}",
            "rules.yaml: rule 'fee': entry 1: field 'source' is missing",
        ),
        (
            "rules:\n  fee:\n    title: {zh: 费, en: Fee}\n    kind: percent\n    entries:\n"
            "      - {effective: 2020-01-01, value: abc, source: x, checked: 2026-12-07}",
            "rules.yaml: rule 'fee': entry 1: field 'value': 'abc' is not a number",
        ),
        (
            "rules:\n  fee:\n    title: {zh: 费, en: Fee}\n    kind: percent\n    entries:\n"
            "      - {effective: 2020-01-01, value: 0.1, source: x, checked: 2026-12-07}\n"
            "      - {value: 0.2, source: x, checked: 2026-12-07}",
            "rules.yaml: rule 'fee': entry 2: field 'effective' is missing",
        ),
        (
            "rules:\n  fee:\n    title: {zh: 费, en: Fee}\n    kind: percent\n    entries:\n"
            "      - {effective: 2021-01-01, value: 0.1, source: x, checked: 2026-12-07}\n"
            "      - {effective: 2020-01-01, value: 0.2, source: x, checked: 2026-12-07}",
            "rules.yaml: rule 'fee': entry 2: effective 2020-01-01 is not after 2021-01-01",
        ),
        (
            "rules:\n  fee:\n    title: {zh: 费, en: Fee}\n    fields: {rate: percent}\n"
            "    entries:\n"
            "      - {effective: 2020-01-01, values: {cap: 0.1}, source: x, checked: 2026-12-07}",
            "rules.yaml: rule 'fee': entry 1: field 'cap' is not declared in 'fields'",
        ),
        (
            "rules:\n  fee:\n    title: {zh: 费, en: Fee}\n    kind: percent\n    entries:\n"
            "      - {effective: 2020-01-01, value: 10%, source: x, checked: 2026-12-07}",
            "rules.yaml: rule 'fee': entry 1: field 'value': '10%' is not a number",
        ),
        ("rules: {fee: [", "rules.yaml: not valid YAML"),
    ],
)
def test_a_malformed_registry_names_the_file_rule_and_field(tmp_path, yaml_text, message):
    with pytest.raises(RuleError) as info:
        read_registry(_write(tmp_path, yaml_text))
    assert str(info.value).startswith(message), str(info.value)


def test_decimals_are_read_exactly_from_yaml(tmp_path):
    reg = read_registry(
        _write(
            tmp_path,
            "rules:\n  fee:\n    title: {zh: 费, en: Fee}\n    kind: percent\n    entries:\n"
            "      - {effective: 2020-01-01, value: 0.00001, source: x, checked: 2026-12-07}\n",
        )
    )
    assert reg.value("fee") == D("0.00001")
    assert reg.render("{{rule:fee}}", "en") == "0.001%"
    with pytest.raises(RuleError, match="exact decimal"):
        parse_registry(
            {
                "rules": {
                    "fee": {
                        "title": {"zh": "费", "en": "Fee"},
                        "kind": "percent",
                        "entries": [{"value": 0.1, "source": "x", "checked": "2026-12-07"}],
                    }
                }
            }
        )


def test_kefu_rules_list_as_of_a_date_and_as_json():
    runner = CliRunner()
    r = runner.invoke(app, ["rules", "list", "--as-of", "2022-04-28", "--json"])
    assert r.exit_code == 0, r.output
    rows = {row["rule"]: row for row in json.loads(r.stdout)}
    assert rows["transfer_fee"]["values"]["value"]["en"] == "0.002%"
    assert rows["transfer_fee"]["effective"] == "2015-08-01"
    assert rows["stamp_duty"]["values"]["rate"]["value"] == "0.001"
    assert "price_limit_st" in rows and rows["price_limit_st"]["values"]["value"]["en"] == "5%"
    assert rows["retention_securities"]["source"].startswith("《中华人民共和国证券法》")
    r = runner.invoke(app, ["rules", "list", "--as-of", "2026-12-07"])
    assert r.exit_code == 0 and "stamp_duty" in r.stdout and "0.05%" in r.stdout
    r = runner.invoke(app, ["rules", "list", "--history", "--json"])
    assert sum(row["rule"] == "stamp_duty" for row in json.loads(r.stdout)) == 3
    r = runner.invoke(app, ["rules", "list", "--as-of", "yesterday"])
    assert r.exit_code == 2


def test_canned_replies_take_rule_numbers_from_the_registry():
    """Agents send canned replies as they are: the same rule, the same number as the
    articles (the binary-dispute reply time included)."""
    import yaml

    from kefu.core.config import get_settings
    from kefu.desk.content import read_canned

    path = get_settings().content_dir / "policies" / "canned_replies.yaml"
    raw = yaml.safe_load(path.read_text(encoding="utf-8"))["canned_replies"]
    for reply in raw:
        for name in ("body_zh", "body_en"):
            assert hand_typed(reply[name], R) == [], (reply["key"], name)
    rendered = {r["key"]: r for r in read_canned()}
    dispute = rendered["binary-dispute-intake"]
    assert "一般在2个工作日内答复" in dispute["body_zh"]
    assert "usually reply within 2 working days" in dispute["body_en"]
    assert "{{" not in "".join(r["body_zh"] + r["body_en"] for r in rendered.values())


def test_a_content_folder_without_a_registry_uses_the_shipped_one(tmp_path, monkeypatch):
    from kefu.core.config import get_settings
    from kefu.knowledge.content import load_articles

    (tmp_path / "kb").mkdir()
    (tmp_path / "kb" / "t.x.md").write_text(
        "---\nslug: t.x\ncategory: trading\ntitle: {zh: 标题, en: Title}\nquestions: {}\n---\n"
        "<!-- lang:zh -->\n过户费{{rule:transfer_fee}}\n<!-- lang:en -->\nNo numbers.\n",
        encoding="utf-8",
    )
    monkeypatch.setenv("KEFU_CONTENT_DIR", str(tmp_path))
    get_settings.cache_clear()
    try:
        assert rules().value("transfer_fee", date(2026, 12, 7)) == D("0.00001")
        (article,) = load_articles(as_of=date(2026, 12, 7))
        assert article.body_zh == "过户费0.001%"
    finally:
        get_settings.cache_clear()
