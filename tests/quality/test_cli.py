"""`kefu qa score`: the issue's input and output contract, stdin, and errors naming the field."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefu.cli import app

CONV = {
    "channel": "chat",
    "resolved": False,
    "messages": [
        {
            "role": "customer",
            "text": "我的两融账户收到短信，说担保比例不够了，会怎样？",
            "at": "2026-03-02T10:00:00+08:00",
        },
        {
            "role": "agent",
            "text": "两融账户的维持担保比例低于平仓线会被强平。",
            "at": "2026-03-02T10:05:00+08:00",
        },
        {"role": "customer", "text": "那我该怎么办？", "at": "2026-03-02T10:20:00+08:00"},
        {
            "role": "agent",
            "text": "您可以追加现金或担保证券，或者卖出部分证券还款。",
            "at": "2026-03-02T10:40:00+08:00",
        },
    ],
}


def test_score_json_from_a_file(tmp_path: Path) -> None:
    src = tmp_path / "conv.json"
    src.write_text(json.dumps(CONV, ensure_ascii=False), encoding="utf-8")
    result = CliRunner().invoke(app, ["qa", "score", str(src), "--json"])
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert set(out) == {"score", "passed", "auto_fail", "sections", "findings"}
    # the hand-worked poor chat of tests/quality/test_scorer.py
    assert (out["score"], out["passed"], out["auto_fail"]) == (42.0, False, False)
    assert out["sections"]["communication"] == 13.3
    assert all(set(f) == {"section", "message_index", "points", "reason"} for f in out["findings"])
    lost = {(f["message_index"], f["points"]) for f in out["findings"] if f["points"] < 0}
    assert (1, -5.0) in lost and (3, -2.0) in lost  # first response, then one long gap


def test_score_from_stdin_with_a_named_scorecard() -> None:
    result = CliRunner().invoke(
        app, ["qa", "score", "-", "--scorecard", "ticket", "--json"], input=json.dumps(CONV)
    )
    assert result.exit_code == 0, result.output
    # the ticket card's clock is in hours: no timing point is lost
    out = json.loads(result.stdout)
    # jargon loses all 8 (two terms × 4), first response (4) and gap (3) are kept: 7/15
    assert out["sections"]["communication"] == 46.7
    human = CliRunner().invoke(app, ["qa", "score", "-"], input=json.dumps(CONV))
    assert human.exit_code == 0 and "42/100" in human.stdout


@pytest.mark.parametrize(
    ("patch", "field"),
    [
        ({"channel": "fax"}, "channel: 'fax' is not one of"),
        ({"resolved": "yes"}, "resolved: expected true or false"),
        ({"messages": []}, "messages: expected a non-empty list"),
        ({"messages": [{"role": "bot", "text": "hi"}]}, "messages[0].role"),
        ({"messages": [{"role": "agent", "text": " "}]}, "messages[0].text"),
        (
            {"messages": [{"role": "agent", "text": "hi", "at": "2026-03-02 10:00"}]},
            "messages[0].at: '2026-03-02 10:00' has no time zone",
        ),
        ({"messages": [{"role": "agent", "text": "hi", "at": "yesterday"}]}, "messages[0].at"),
    ],
)
def test_bad_input_names_the_field(patch: dict[str, object], field: str) -> None:
    result = CliRunner().invoke(app, ["qa", "score", "-", "--json"], input=json.dumps(CONV | patch))
    assert result.exit_code == 2
    assert field in result.output
    assert result.stdout.strip() == "" or "{" not in result.stdout


def test_malformed_json_and_unknown_scorecard() -> None:
    bad = CliRunner().invoke(app, ["qa", "score", "-"], input="{not json")
    assert bad.exit_code == 2 and "malformed JSON at line 1" in bad.output
    args = ["qa", "score", "-", "--scorecard", "nope"]
    card = CliRunner().invoke(app, args, input=json.dumps(CONV))
    assert card.exit_code == 2 and "no scorecard 'nope'" in card.output
