"""The role-play judged by the real engines: the compliance guard and the QA scorer's signals
and chat scorecard (kefu.quality) on the shipped personas. Each persona's scripted good run
(tests/academy/test_personas_content.py, written by the persona authors) resolves and passes;
a reply promising returns fails the run whatever the outcome; `kefu academy roleplay` prints the
contract's JSON from a replies file."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from kefu.academy import content, roleplays
from kefu.academy.judge import default_judge

from .test_personas_content import RUNS

PERSONAS = {p.slug: p for p, _ in content.read().personas}


#: persona -> why its scripted good run does not pass with today's engines (strict: fixing the
#: cause makes the test ask for the entry's removal)
KNOWN: dict[str, str] = {}


@pytest.mark.parametrize(
    "slug",
    [
        pytest.param(s, marks=pytest.mark.xfail(strict=True, reason=KNOWN[s])) if s in KNOWN else s
        for s in sorted(RUNS)
    ],
)
def test_the_good_run_resolves_and_passes_with_the_real_judge(slug: str) -> None:
    replies = [text for text, _ in RUNS[slug]["good"]]
    judge = default_judge()
    run = roleplays.replay(PERSONAS[slug], replies, "zh", judge)
    result = roleplays.debrief(PERSONAS[slug], run, judge)
    assert run.outcome == "resolved", [(t.state, sorted(t.signals), t.why) for t in run.turns]
    assert result["passed"] and not result["guard_failed"]
    assert result["score"] is not None and result["score"] >= 80


@pytest.mark.parametrize("slug", sorted(RUNS))
def test_the_bad_run_does_not_pass(slug: str) -> None:
    replies = [text for text, _ in RUNS[slug]["bad"]]
    judge = default_judge()
    run = roleplays.replay(PERSONAS[slug], replies, "zh", judge)
    assert not roleplays.debrief(PERSONAS[slug], run, judge)["passed"]


def test_a_promise_of_returns_fails_the_run() -> None:
    slug = "deposit-missing"
    good = [text for text, _ in RUNS[slug]["good"]]
    promise = "放心，跟着我们的老师操作，保证每个月稳赚百分之二十，绝对不会亏。"
    judge = default_judge()
    run = roleplays.replay(PERSONAS[slug], [good[0], promise, *good[1:]], "zh", judge)
    result = roleplays.debrief(PERSONAS[slug], run, judge)
    assert run.guard_failed and result["passed"] is False
    assert any(f["source"] == "guard" and f["category"] == "promise" for f in result["findings"])


def test_the_cli_plays_from_a_replies_file(tmp_path: Path) -> None:
    from kefu.cli import app

    replies = tmp_path / "replies.txt"
    replies.write_text("\n".join(t for t, _ in RUNS["deposit-missing"]["good"]), encoding="utf-8")
    result = CliRunner().invoke(
        app,
        [
            "academy",
            "roleplay",
            "--persona",
            "deposit-missing",
            "--replies",
            str(replies),
            "--json",
        ],
    )
    assert result.exit_code == 0, result.output
    out = json.loads(result.stdout)
    assert {"persona", "outcome", "score", "passed", "findings", "transcript"} <= set(out)
    assert out["outcome"] == "resolved" and out["passed"] is True
    assert out["transcript"][1]["role"] == "agent" and out["transcript"][1]["model_answer"]
    bad = CliRunner().invoke(
        app, ["academy", "roleplay", "--persona", "nobody", "--replies", str(replies)]
    )
    assert bad.exit_code == 2 and "no persona 'nobody'" in bad.output
