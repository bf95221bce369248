"""Intent routing: train on a team's CSV, evaluate, predict; clear errors on bad files."""

from __future__ import annotations

import json

from typer.testing import CliRunner

from kefu.knowledge.cli import intent_app
from kefu.knowledge.intent import default_model

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
