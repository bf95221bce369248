"""Compliance guard throughput and latency beside Presidio's recognizers, in one run.

100,000 seeded messages (zh and en, ≤ 500 characters; some carry personal data, including the
Chinese cases pattern recognizers miss: `卡号4111111111111111`, 19-digit UnionPay numbers,
full-width digits). Kefu's guard runs the whole pipeline (every category, validation, masking),
screening each message as an agent's without and with the learned model (the model scores
agent messages only), and as a customer's; Presidio runs only CreditCardRecognizer,
EmailRecognizer and PhoneRecognizer, called directly.

    pip install -e '.[bench]'
    python bench/guard.py [--n 100000] [--baseline-rev 9b90932]

Each row gives wall-clock and CPU messages/s (on a shared machine the CPU figure is the fairer
one); --baseline-rev runs an earlier revision's guard in the same process for a ratio.
"""

from __future__ import annotations

import argparse
import random
import statistics
import time
from pathlib import Path
from typing import Any

from kefu.compliance.content import default_guard, load_policy
from kefu.compliance.guard import Guard

ZH = [
    "您好，您的出金申请已受理，预计今天到账。",
    "请在 App 内自助重置密码，我们不会索要验证码。",
    "主板日涨跌幅限制为10%，超出价格范围的委托会被拒绝。",
    "融资利息按实际使用天数计算，年利率以合同为准。",
    "已为您提交核查，请耐心等待，感谢理解。",
    "您尾号0128的银行卡已绑定成功。",
]
EN = [
    "Your withdrawal has been processed and should arrive today.",
    "Please reset your password in the app; we never ask for codes.",
    "Orders outside the daily price limit are rejected by the exchange.",
    "Thanks for waiting, I have escalated this to the team.",
]
PII = [
    ("zh", "卡号4111111111111111，麻烦查一下"),
    ("zh", "我的银联卡6222021234567890128扣款了"),
    ("zh", "卡号４１１１１１１１１１１１１１１１"),
    ("zh", "手机13812345678，邮箱 wang@example.com"),
    ("en", "My card 4111 1111 1111 1111 was charged twice"),
    ("en", "Call me on +86 138 1234 5678 or mail lee@example.com"),
]
RISKY = [
    "这只股票稳赚不赔，赶紧满仓买入",
    "加我微信详细聊",
    "请把验证码发给我",
    "This is guaranteed return, buy now",
]
TRUTH = {  # what a correct detector finds in each PII template
    "卡号4111111111111111，麻烦查一下": {"card"},
    "我的银联卡6222021234567890128扣款了": {"card"},
    "卡号４１１１１１１１１１１１１１１１": {"card"},
    "手机13812345678，邮箱 wang@example.com": {"phone", "email"},
    "My card 4111 1111 1111 1111 was charged twice": {"card"},
    "Call me on +86 138 1234 5678 or mail lee@example.com": {"phone", "email"},
}


def corpus(n: int, seed: int = 5) -> list[str]:
    rnd = random.Random(seed)
    out = []
    for _ in range(n):
        r = rnd.random()
        if r < 0.15:
            text = rnd.choice(PII)[1]
        elif r < 0.20:
            text = rnd.choice(RISKY)
        else:
            parts = [rnd.choice(ZH if rnd.random() < 0.7 else EN) for _ in range(rnd.randint(1, 6))]
            text = " ".join(parts)
        out.append(text[:500])
    return out


def timed(fn, msgs: list[str]) -> tuple[float, list[float], float]:
    """Wall-clock seconds, per-message latencies (ms) and CPU seconds of the process (on a
    shared machine the CPU time is the fairer figure: it leaves out time spent waiting)."""
    lat = []
    c0 = time.process_time()
    t0 = time.perf_counter()
    for m in msgs:
        t = time.perf_counter()
        fn(m)
        lat.append((time.perf_counter() - t) * 1000)
    return time.perf_counter() - t0, lat, time.process_time() - c0


def _baseline(rev: str) -> tuple[Any, Any]:
    """The guard of git revision ``rev`` (one-file engine), rules only and with the model."""
    import importlib.util
    import subprocess
    import sys
    import tempfile

    import yaml

    from kefu.compliance.content import load_model

    def show(path: str) -> str:
        return subprocess.run(
            ["git", "show", f"{rev}:{path}"], capture_output=True, text=True, check=True
        ).stdout

    folder = Path(tempfile.mkdtemp())
    (folder / "guard_baseline.py").write_text(show("src/kefu/compliance/guard.py"))
    spec = importlib.util.spec_from_file_location("guard_baseline", folder / "guard_baseline.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["guard_baseline"] = module
    spec.loader.exec_module(module)
    policy = yaml.safe_load(show("content/policies/guard.yaml"))
    return module.Guard(policy), module.Guard(policy, model=load_model())


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument(
        "--baseline-rev",
        help="also run the guard of this git revision (its one-file guard.py and guard.yaml, "
        "with today's model) in the same process, e.g. 9b90932: a ratio on a shared machine",
    )
    a = ap.parse_args()
    msgs = corpus(a.n)
    guard = default_guard()  # the rules and the shipped model
    rules_only = Guard(load_policy())
    engines = [
        ("Kefu guard, agent, rules only", rules_only, "agent"),
        ("Kefu guard, agent, rules + model", guard, "agent"),
        ("Kefu guard, customer", guard, "customer"),
    ]
    if a.baseline_rev:
        old = _baseline(a.baseline_rev)
        engines += [
            (f"{a.baseline_rev}, agent, rules only", old[0], "agent"),
            (f"{a.baseline_rev}, agent, rules + model", old[1], "agent"),
        ]
    runs = {}
    for label, g, role in engines:
        for m in msgs[:1000]:
            g.screen(m, role)  # warm-up
        runs[label] = timed(lambda m, g=g, role=role: g.screen(m, role), msgs)
    fired = sum(
        1 for m in msgs[:10_000] if any(f.category == "model" for f in guard.screen(m).findings)
    )

    def q(xs: list[float], p: int) -> float:
        return statistics.quantiles(xs, n=100, method="inclusive")[p - 1]

    print(f"{a.n:,} messages, single process")
    print(f"{'':<36}{'msgs/s':>10}{'CPU msgs/s':>12}{'p50 ms':>10}{'p99 ms':>10}")
    for label, (total, lat, cpu) in runs.items():
        print(
            f"{label:<36}{a.n / total:>10,.0f}{a.n / cpu:>12,.0f}"
            f"{q(lat, 50):>10.3f}{q(lat, 99):>10.3f}"
        )
    print(f"the model gave a finding on {fired / 100:.1f}% of the messages (as an agent's)")
    if a.baseline_rev:
        for kind in ("rules only", "rules + model"):
            new, old = runs[f"Kefu guard, agent, {kind}"], runs[f"{a.baseline_rev}, agent, {kind}"]
            print(
                f"{kind}: × {old[0] / new[0]:.2f} wall-clock, × {old[2] / new[2]:.2f} CPU "
                f"against {a.baseline_rev}"
            )
    try:
        from presidio_analyzer.predefined_recognizers import (
            CreditCardRecognizer,
            EmailRecognizer,
            PhoneRecognizer,
        )
    except ImportError:
        print("Presidio is not installed (pip install -e '.[bench]'): its comparison is skipped")
        return

    recs = [CreditCardRecognizer(), EmailRecognizer(), PhoneRecognizer()]
    entities = ["CREDIT_CARD", "EMAIL_ADDRESS", "PHONE_NUMBER"]

    def presidio(m: str) -> list:
        found = []
        for r in recs:
            found.extend(r.analyze(m, entities))
        return found

    for m in msgs[:1000]:
        presidio(m)
    p_total, p_lat, p_cpu = timed(presidio, msgs)
    print(
        f"{'Presidio card+email+phone':<36}{a.n / p_total:>10,.0f}{a.n / p_cpu:>12,.0f}"
        f"{q(p_lat, 50):>10.3f}{q(p_lat, 99):>10.3f}"
    )
    g_total = runs["Kefu guard, agent, rules + model"][0]
    print(f"throughput ratio Kefu (agent, rules + model) / Presidio: {p_total / g_total:.1f}x")
    print("\nwhat each finds on the personal-data templates (truth | Kefu | Presidio):")
    kind = {"CREDIT_CARD": "card", "EMAIL_ADDRESS": "email", "PHONE_NUMBER": "phone"}
    for _, text in PII:
        ours = {f.rule.split(".")[1] for f in guard.screen(text, "customer").findings}
        theirs = {kind[r.entity_type] for r in presidio(text)}
        print(f"  {text[:40]:<42} {sorted(TRUTH[text])} | {sorted(ours)} | {sorted(theirs)}")


if __name__ == "__main__":
    main()
