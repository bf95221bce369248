"""The role-play engine on a fixture persona, with an explicit test classifier and guard:
the graph walk, mood, escalation, abandonment, the guard failing a run, determinism, and
validation errors that name the field."""

from __future__ import annotations

import copy
from pathlib import Path

import pytest
import yaml

from kefu.academy import roleplay
from kefu.academy.roleplay import PersonaError, Screen, parse_persona, play

FIXTURE = Path(__file__).parent / "fixtures" / "academy" / "personas" / "deposit-missing.yaml"
RAW = yaml.safe_load(FIXTURE.read_text(encoding="utf-8"))
PERSONA = parse_persona(RAW, FIXTURE.name)


def classify(text: str) -> frozenset[str]:
    """A deliberately simple test classifier (the real one is the QA scorer's)."""
    t = text.lower()
    found = set()
    if "understand" in t or "理解" in t:
        found.add("empathy")
    if "otm" in t or "平仓" in t:
        found.add("jargon")
    if "supervisor" in t:
        found.add("escalate")
    return frozenset(found)


def screen(text: str) -> Screen:
    if "guarantee" in text.lower() or "保证收益" in text:
        return Screen("block", ({"category": "promise", "rule": "promise.guarantee"},))
    return Screen("allow")


GOOD = [
    "I understand how worrying this is. Did you send it during trading hours?",
    "Thank you. I will open a trace request now; the bank statement shows the debit.",
]


def test_specific_empathetic_replies_resolve_the_customer() -> None:
    run = play(PERSONA, GOOD, lang="en", classify=classify, screen=screen)
    assert run.outcome == "resolved" and not run.guard_failed
    assert run.mood_path == (2, 1, 0)
    assert [t.state for t in run.turns] == ["opening", "checking"]
    assert run.customer == "OK, I will wait for your answer."
    assert run.turns[0].model_answer.startswith("I understand how worrying")
    assert "concept:transfer_hours" in run.turns[0].signals
    assert roleplay.passed(run, qa_passed=True)
    assert not roleplay.passed(run, qa_passed=False)


def test_vague_replies_make_the_customer_angrier_until_they_escalate() -> None:
    run = play(
        PERSONA,
        ["Please wait.", "Please wait.", "OTM"],
        lang="en",
        classify=classify,
        screen=screen,
    )
    assert run.mood_path == (2, 3, 4, 5)
    assert run.outcome == "escalated" and run.state == "escalated"
    assert run.customer == "I want to file a complaint!"
    assert run.turns[2].why == "Unexplained jargon."


def test_a_promise_fails_the_run_whatever_the_outcome() -> None:
    replies = [GOOD[0], "I guarantee it is safe. I will open a trace request now."]
    run = play(PERSONA, replies, lang="en", classify=classify, screen=screen)
    assert run.guard_failed and run.outcome == "escalated"
    assert run.findings() == [
        {"turn": 2, "verdict": "block", "category": "promise", "rule": "promise.guarantee"}
    ]
    assert not roleplay.passed(run, qa_passed=True)


def test_a_run_without_an_end_is_abandoned_after_max_turns() -> None:
    replies = [GOOD[0], "Please hold.", "I understand.", "I understand."]
    run = play(PERSONA, replies, lang="en", classify=classify, screen=screen)
    # checking's else: +2 per reply: 1 → 3 → 5 escalates before max_turns
    assert run.outcome == "escalated"
    calm = parse_persona({**RAW, "mood": {"start": 0, "escalate_at": 5}}, "calm")
    run = play(
        calm, ["hm", "hm", "hm", "hm", "ignored"], lang="en", classify=classify, screen=screen
    )
    assert run.outcome == "abandoned" and len(run.turns) == 4


def test_the_same_replies_give_the_same_run_in_chinese() -> None:
    replies = ["非常理解您的着急，请问是在交易时段内转账的吗？", "我马上为您提交核查单。"]
    a = play(PERSONA, replies, lang="zh", classify=classify, screen=screen)
    b = play(PERSONA, replies, lang="zh", classify=classify, screen=screen)
    assert a == b and a.outcome == "resolved"
    assert a.turns[0].customer == "我的钱到底去哪了？一个小时了还没到！"


def test_concepts_match_case_and_width_insensitively() -> None:
    assert "concept:trace" in PERSONA.concept_signals("I'll OPEN A  TRACE now", "en")
    assert "concept:trace" in PERSONA.concept_signals("ｏｐｅｎ ａ ｔｒａｃｅ", "en")
    assert PERSONA.concept_signals("提交核查", "en") == frozenset()


def _broken(path: list[object], value: object) -> dict[str, object]:
    data = copy.deepcopy(RAW)
    node = data
    for key in path[:-1]:
        node = node[key]
    if value is KeyError:
        del node[path[-1]]
    else:
        node[path[-1]] = value
    return data


@pytest.mark.parametrize(
    ("path", "value", "message"),
    [
        (
            ["states", "opening", True, 1, "goto"],
            "nowhere",
            "states.opening.on[1].goto: unknown state 'nowhere'",
        ),
        (
            ["states", "opening", True, 3],
            {"if": "empathy", "goto": "opening"},
            "states.opening.on[3]: the last rule must be 'else: true'",
        ),
        (
            ["states", "checking", "model_answer", "en"],
            KeyError,
            "states.checking.model_answer.en: missing or empty",
        ),
        (
            ["states", "opening", True, 2, "if"],
            {"any": ["smiles"]},
            "states.opening.on[2].if.any[0]: unknown signal 'smiles'",
        ),
        (["states", "opening", True, 1, "if"], "concept:refund", "unknown concept 'refund'"),
        (["states", "opening", True, 0, "if"], {"guard": "maybe"}, "must be block or warn"),
        (["mood", "start"], 5, "mood.start: 5 lies outside 0…4"),
        (["start"], "resolved", "start: the run cannot start in an end state"),
        (["title"], {"zh": "标题"}, "title.en: missing or empty"),
        (
            ["states", "resolved", "end"],
            "happy",
            "states.resolved.end: must be resolved or escalated",
        ),
    ],
)
def test_a_bad_persona_names_the_field(path: list[object], value: object, message: str) -> None:
    with pytest.raises(PersonaError) as info:
        parse_persona(_broken(path, value), "deposit-missing.yaml")
    assert message in str(info.value)
    assert str(info.value).startswith("deposit-missing.yaml: ")
