"""The guard's learned second opinion: scoring by hand-worked weights, its findings in the guard
(block above the high threshold, "needs review" in the middle band, never for customers), the
explanation pointing into the original text, deterministic training, and the shipped model."""

from __future__ import annotations

import json
import math

import ahocorasick
import pytest
from typer.testing import CliRunner

from kefu.cli import app
from kefu.compliance.content import (
    MODEL_PATH,
    corpus_digest,
    default_guard,
    load_model,
    load_policy,
    read_corpus,
)
from kefu.compliance.guard import Guard, normalise
from kefu.compliance.model import FORMAT, GuardModel, ModelDataError, train

TOY = {
    "format": FORMAT,
    "bias": -1.0,
    "thresholds": {"block": 2.0, "review": 0.5},
    "weights": {"水蜜桃": 3.0, "苹果": 1.6, "风险": -3.0, "加我": 1.5, "微信": 1.5},
}


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("您好", -1.0),  # no n-gram: the bias
        ("水蜜桃", 2.0),  # -1 + 3/√1
        ("水蜜桃水蜜桃", -1 + 6 / math.sqrt(2)),  # two occurrences: 6 over √2
        ("苹果有风险", -1 + (1.6 - 3.0) / math.sqrt(2)),  # a negative weight pulls it down
        ("加我微信", -1 + 3.0 / math.sqrt(2)),
    ],
)
def test_a_score_is_the_bias_plus_the_weights_over_the_root_of_their_number(text, expected):
    assert GuardModel(TOY).score(normalise(text)[0]) == pytest.approx(expected)


def test_the_explanation_lists_the_positive_ngrams_largest_first_with_their_places():
    top = GuardModel(TOY).explain("加我微信，水蜜桃")
    assert [(c.ngram, c.spans) for c in top] == [
        ("水蜜桃", ((5, 8),)),
        ("加我", ((0, 2),)),
        ("微信", ((2, 4),)),
    ]
    assert top[0].contribution == pytest.approx(3.0 / math.sqrt(3))


@pytest.mark.parametrize(
    "bad",
    [
        {},
        dict(TOY, format="other/1"),
        dict(TOY, weights={}),
        dict(TOY, thresholds={"block": 0.1, "review": 0.5}),
        {k: v for k, v in TOY.items() if k != "bias"},
    ],
)
def test_unusable_model_data_is_refused_with_a_reason(bad):
    with pytest.raises(ModelDataError):
        GuardModel(bad)


@pytest.fixture(scope="module")
def toy_guard():
    return Guard(load_policy(), model=GuardModel(TOY))


def test_above_the_high_threshold_the_model_blocks_and_shows_its_score_and_words(toy_guard):
    # 稳 and 收益: words of two classes of a blocking rule (ASSURANCE, GAIN), in two sentences
    # so that the rule itself does not fire
    text = "这个水 蜜 桃稳吗？收益呢"
    result = toy_guard.screen(text, "agent")
    assert result.verdict == "block"
    (f,) = result.findings
    assert (f.category, f.rule) == ("model", "model.block")
    assert f.score == pytest.approx(2.0)
    # the n-gram was typed with spaces: the highlight covers what the agent wrote
    assert f.words == (("MODEL", "水 蜜 桃", 2, 7),)
    out = f.to_dict()
    assert out["score"] == 2.0
    assert out["ngrams"] == [{"ngram": "水蜜桃", "contribution": 3.0}]


def test_without_words_of_two_classes_of_a_blocking_rule_the_model_says_nothing(toy_guard):
    # a high score on style alone: no class word, or one class alone (稳, ASSURANCE); this
    # model has no alone threshold, so it never speaks without a rule's support
    assert toy_guard.screen("这个水 蜜 桃你看看", "agent").findings == ()
    assert toy_guard.screen("这个水 蜜 桃稳吗", "agent").verdict == "allow"


@pytest.fixture(scope="module")
def alone_guard():
    data = dict(TOY, thresholds={"block": 2.0, "review": 0.5, "alone": 1.5})
    return Guard(load_policy(), model=GuardModel(data))


def test_without_a_rule_a_high_score_asks_for_review_and_never_blocks(alone_guard):
    # no class word of any blocking rule: from the alone threshold the model warns, naming its
    # score and n-grams; even far above the block threshold it does not block
    result = alone_guard.screen("这个水 蜜 桃你看看", "agent")
    assert result.verdict == "warn"
    (f,) = result.findings
    assert (f.rule, f.score) == ("model.review", pytest.approx(2.0))
    assert f.words == (("MODEL", "水 蜜 桃", 2, 7),)
    twice = alone_guard.screen("水蜜桃，水蜜桃，你看看", "agent")
    assert twice.findings[0].score == pytest.approx(-1 + 6 / math.sqrt(2))  # above 2.0
    assert twice.verdict == "warn"
    # below the alone threshold no opinion (1.05 would ask for review with a rule's support)
    assert alone_guard.screen("这个苹果你看看", "agent").verdict == "allow"
    assert alone_guard.screen("苹果稳吗？收益呢", "agent").verdict == "warn"
    # with a blocking rule half-made the model still blocks above its block threshold
    assert alone_guard.screen("这个水 蜜 桃稳吗？收益呢", "agent").verdict == "block"
    assert alone_guard.screen("这个水 蜜 桃你看看", "customer").verdict == "allow"
    # too few n-gram occurrences for an opinion without a rule's support (one here, two needed)
    thin = dict(TOY, thresholds={"block": 2.0, "review": 0.5, "alone": 1.5, "alone_min_ngrams": 2})
    assert Guard(load_policy(), model=GuardModel(thin)).screen("这个水 蜜 桃你看看").findings == ()


def test_an_ngram_inside_a_negation_does_not_count(toy_guard):
    # 不存在 negates the n-gram: its 3.0 is taken out of the score (-1 + 3 → -1): no finding
    assert toy_guard.screen("不存在水蜜桃这种事", "agent").verdict == "allow"


def test_in_the_middle_band_the_model_asks_for_review_and_customers_are_never_scored(toy_guard):
    result = toy_guard.screen("苹果稳吗？收益呢", "agent")
    assert result.verdict == "warn"
    assert [f.rule for f in result.findings] == ["model.review"]
    assert toy_guard.screen("水蜜桃", "customer").verdict == "allow"
    assert toy_guard.screen("水蜜桃", "customer").findings == ()
    assert toy_guard.screen("苹果有风险", "agent").verdict == "allow"


@pytest.mark.parametrize(
    "text",
    [
        "我的提现两天了还没到，请帮我查一下",
        "Waiting on bank",
        "If you forgot your password, you can reset it in the app.",
        # short English replies score high on style (2.75–3.05 on "it.", "s i", ", i"); with
        # no rule's support the model needs 15 n-gram occurrences before it asks for review
        "Please wait.",
        "OK, I will wait for your answer.",
        "Hello, this is Amy from Kefu.",
    ],
)
def test_short_benign_texts_get_no_opinion_from_the_shipped_model(text):
    # a few n-grams are too thin to act on (fewer than min_ngrams): the rules alone decide
    assert default_guard().screen(text, "agent").verdict == "allow"


def test_every_agent_message_is_scored_as_the_reference_scores_it():
    # the reference is the scoring as first shipped: every n-gram occurrence found by a
    # pyahocorasick walk, weights summed with fsum; over the whole training corpus
    model = load_model()
    guard = Guard(load_policy(), model=model)
    auto = ahocorasick.Automaton()
    for gram, weight in model.weights.items():
        auto.add_word(gram, weight)
    auto.make_automaton()
    grounded = 0
    for text, _, _ in read_corpus():
        norm = normalise(text)[0]
        found = [w for _, w in auto.iter(norm)]
        expected = model.bias + math.fsum(found) / math.sqrt(len(found)) if found else model.bias
        _phrases, hits, opinion, half_made = guard._scan(norm)
        assert opinion is not None  # scored whether or not a rule is half-made
        assert opinion[1] == len(found)
        assert abs(opinion[0] - expected) <= 1e-9
        grounded += half_made
        assert half_made == (bool(hits) and guard.classes.grounded(frozenset(hits)))
        assert guard._scan(norm, score=False)[2] is None  # customers: never scored
    assert 20 < grounded < len(read_corpus())


def _corpus() -> list[tuple[str, str, list[str]]]:
    block = [f"加我微信{n}号详细聊，稳赚{n}个点" for n in range(12)] + [
        f"Add me on WeChat {n}, guaranteed {n}% return" for n in range(12)
    ]
    allow = [f"您好，您的第{n}笔出金已受理，请耐心等待" for n in range(12)] + [
        f"Your withdrawal number {n} has been processed" for n in range(12)
    ]
    rows = [(t, "block", ["offplatform"]) for t in block] + [(t, "allow", []) for t in allow]
    # blocked for personal data alone: left out of training (the validators' business)
    return rows + [(f"身份证号11010519491231002X，第{n}位客户", "block", ["pii"]) for n in range(5)]


def test_training_is_deterministic_and_chooses_ordered_thresholds():
    first = train(_corpus(), folds=3, keep=200, max_df=1.0)
    second = train(_corpus(), folds=3, keep=200, max_df=1.0)
    assert first == second
    assert first["cv"]["messages"] == 48  # the five personal-data rows are left out
    assert not any(ch.isdigit() for gram in first["weights"] for ch in gram)
    assert first["thresholds"]["review"] <= first["thresholds"]["block"]
    assert first["thresholds"]["review"] <= first["thresholds"]["alone"]
    model = GuardModel(first)
    assert model.score(normalise("加我微信聊，稳赚")[0]) > model.score(normalise("出金已受理")[0])


def test_training_refuses_a_bad_label_naming_the_row():
    with pytest.raises(ModelDataError, match="row 2"):
        train([("好的", "allow", []), ("不知道", "maybe", [])])


def test_the_shipped_model_was_trained_on_the_shipped_corpus():
    data = json.loads(MODEL_PATH.read_text("utf-8"))
    assert data["corpus"]["sha256"] == corpus_digest(read_corpus())
    assert data["cv"]["allowed_blocked"] <= 0.01
    assert data["thresholds"]["review"] < data["thresholds"]["block"]
    assert data["thresholds"]["review"] <= data["thresholds"]["alone"]
    # alone, the model asks for review of at most 0.5% of the corpus's allowed messages
    # (cross-validated)
    assert data["cv"]["allowed_alone"] <= 0.005


def test_kefu_guard_train_writes_a_model_and_names_a_bad_line(tmp_path):
    folder = tmp_path / "corpus"
    folder.mkdir()
    lines = [
        json.dumps({"text": t, "label": lab, "categories": c}, ensure_ascii=False)
        for t, lab, c in _corpus()
    ]
    (folder / "a.jsonl").write_text("\n".join(lines) + "\n", encoding="utf-8")
    out = tmp_path / "model.json"
    runner = CliRunner()
    args = ["guard", "train", "--corpus", str(folder), "--out", str(out), "--max-df", "1"]
    result = runner.invoke(app, args)
    assert result.exit_code == 0, result.output
    written = json.loads(out.read_text("utf-8"))
    GuardModel(written)  # a usable model
    assert written["corpus"]["messages"] == len(lines)
    (folder / "b.jsonl").write_text('{"text": "ok", "label": "allow"}\n{"text": "x"}\n')
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    assert "b.jsonl line 2" in result.output
