"""Intent routing on Banking77 (Casanueva et al. 2020, CC BY 4.0): train on train.csv, report
test accuracy and macro-F1 beside the paper's anchors (fine-tuned BERT 93.7%, USE+ConveRT 93.4%).

    python bench/intent.py [--data ../shared/datasets/banking77]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kefu.knowledge.intent import IntentModel, read_labelled

ANCHORS = {"BERT (fine-tuned, paper)": 0.937, "USE+ConveRT (paper)": 0.934}


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument(
        "--data",
        default=str(Path(__file__).resolve().parents[2] / "shared" / "datasets" / "banking77"),
    )
    a = ap.parse_args()
    x, y = read_labelled(Path(a.data) / "train.csv")
    xt, yt = read_labelled(Path(a.data) / "test.csv")
    model = IntentModel.train(x, y)
    res = model.evaluate(xt, yt)
    print(f"Banking77: {len(x)} train / {len(xt)} test, {len(set(y))} intents (CPU, 1 process)")
    print(
        f"Kefu TF-IDF words+chars + linear SVM: accuracy {res['accuracy']:.4f}, "
        f"macro-F1 {res['macro_f1']:.4f}, training {model.train_seconds:.1f} s"
    )
    for name, acc in ANCHORS.items():
        print(f"  {name}: {acc:.3f}  (gap {res['accuracy'] - acc:+.3f})")


if __name__ == "__main__":
    main()
