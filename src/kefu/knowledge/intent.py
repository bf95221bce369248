"""Intent routing: classify a customer's message into a case category (or any label set a team
trains on its own history). TF-IDF over words and character n-grams (which also covers Chinese
without a segmenter) with a linear SVM: CPU-only, seconds to train, no downloads.

Model files are pickles: loading one runs code, so load only files you trained yourself."""

from __future__ import annotations

import csv
import pickle
import time
from collections.abc import Sequence
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import yaml
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import Pipeline, make_pipeline, make_union
from sklearn.svm import LinearSVC

DEMO_CASES = Path(__file__).resolve().parents[3] / "content" / "demo" / "cases.yaml"


class IntentDataError(ValueError):
    """A training or evaluation file the model cannot use, with the line that is wrong."""


def read_labelled(path: Path | str) -> tuple[list[str], list[str]]:
    """Reads a CSV with columns text,category; names the first bad line."""
    texts: list[str] = []
    labels: list[str] = []
    try:
        with open(path, encoding="utf-8", newline="") as fh:
            reader = csv.DictReader(fh)
            if not reader.fieldnames or not {"text", "category"} <= set(reader.fieldnames):
                raise IntentDataError(f"{path}: the header must have columns text,category")
            for lineno, row in enumerate(reader, start=2):
                text, label = (row.get("text") or "").strip(), (row.get("category") or "").strip()
                if not text or not label:
                    raise IntentDataError(f"{path}, line {lineno}: empty text or category")
                texts.append(text)
                labels.append(label)
    except UnicodeDecodeError as exc:
        raise IntentDataError(f"{path}: not UTF-8 ({exc.reason} at byte {exc.start})") from exc
    except OSError as exc:
        raise IntentDataError(f"{path}: {exc.strerror}") from exc
    if len(set(labels)) < 2:
        raise IntentDataError(f"{path}: needs at least two different categories")
    return texts, labels


@dataclass
class IntentModel:
    pipeline: Pipeline
    labels: list[str]
    train_seconds: float = 0.0

    @classmethod
    def train(cls, texts: Sequence[str], labels: Sequence[str], c: float = 0.5) -> IntentModel:
        pipe = make_pipeline(
            make_union(
                TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
                TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
            ),
            LinearSVC(C=c),
        )
        t = time.perf_counter()
        pipe.fit(list(texts), list(labels))
        return cls(pipe, sorted(set(labels)), time.perf_counter() - t)

    def predict(self, text: str) -> tuple[str, float]:
        """(label, margin-based confidence in 0..1)."""
        scores = np.asarray(self.pipeline.decision_function([text]))[0]
        order = np.argsort(scores)[::-1]
        classes = self.pipeline.classes_
        best = float(scores[order[0]])
        second = float(scores[order[1]]) if len(order) > 1 else best - 1.0
        confidence = float(1 / (1 + np.exp(-(best - second) * 2)))
        return str(classes[order[0]]), round(confidence, 3)

    def evaluate(self, texts: Sequence[str], labels: Sequence[str]) -> dict[str, float]:
        pred = self.pipeline.predict(list(texts))
        return {
            "accuracy": round(float(accuracy_score(labels, pred)), 4),
            "macro_f1": round(float(f1_score(labels, pred, average="macro")), 4),
        }

    def save(self, path: Path | str) -> None:
        with open(path, "wb") as fh:
            pickle.dump({"kefu_intent": 1, "model": self}, fh)

    @classmethod
    def load(cls, path: Path | str) -> IntentModel:
        with open(path, "rb") as fh:
            data = pickle.load(fh)  # noqa: S301 - trusted, self-trained files only (see module doc)
        if not isinstance(data, dict) or data.get("kefu_intent") != 1:
            raise IntentDataError(f"{path}: not a Kefu intent model")
        model: IntentModel = data["model"]
        return model


def demo_training_set() -> tuple[list[str], list[str]]:
    """The shipped default: the demo cases' subjects and customers' words → case category."""
    cases = yaml.safe_load(DEMO_CASES.read_text(encoding="utf-8"))["cases"]
    texts, labels = [], []
    for c in cases:
        texts.append(c["subject"])
        labels.append(c["category"])
        for m in c.get("messages", []):
            if m.get("by") == "customer":
                texts.append(m["body"])
                labels.append(c["category"])
    return texts, labels


@lru_cache(maxsize=1)
def default_model() -> IntentModel:
    return IntentModel.train(*demo_training_set())
