"""The guard's learned second opinion: a linear model over character n-grams and words.

Pure: a model is plain data (its n-grams with their weights, a bias and two thresholds, as read
from ``guard_model.json``) handed to the guard like its policy; :func:`train` builds that data from
labelled agent messages. Features are counted by one Aho-Corasick pass over the guard's
normalised text (:func:`kefu.compliance.guard.normalise`), the same function in training and in
serving, so what is scored is what was learned: each occurrence of a known n-gram adds its
weight, and the sum is divided by the square root of the number of occurrences (a long message
does not score high by length alone). The score is a log-odds that the message must be blocked.

Training is deterministic (sorted vocabulary, liblinear with a fixed seed, fixed folds): the
same corpus gives the same file. The thresholds are chosen by cross-validation on the training
corpus only: ``block`` is the score that ``block_fpr`` of its allowed messages exceed, ``review``
the score that ``review_fpr`` of them exceed, ``alone`` the score that ``alone_fpr`` of them
exceed (on a message that no blocking rule half-makes the model may only warn, and only from
there, and only on a message of at least ``alone_min_ngrams`` n-gram occurrences). A message
with fewer than ``min_ngrams`` n-gram occurrences gets no opinion: a score from a handful of
n-grams is too thin to act on (short texts are the rules' alone).
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Mapping, Sequence
from operator import itemgetter
from typing import Any

import ahocorasick
from ahocorasick_rs import AhoCorasick, MatchKind

from kefu.compliance.guard_text import normalise
from kefu.compliance.guard_types import Contribution

FORMAT = "kefu-guard-model/1"
LABELS = ("block", "warn", "allow")
_SECOND = itemgetter(1)


class ModelDataError(ValueError):
    """Model data (or a training corpus) the guard cannot use, with the reason."""


class GuardModel:
    """A trained model, compiled for scoring (build once, score many)."""

    def __init__(self, data: Mapping[str, Any]) -> None:
        if not isinstance(data, Mapping) or data.get("format") != FORMAT:
            raise ModelDataError(f"not a guard model (format must be {FORMAT!r})")
        try:
            self.bias = float(data["bias"])
            self.block = float(data["thresholds"]["block"])
            self.review = float(data["thresholds"]["review"])
            # without a blocking rule's class words the model only warns, from this threshold
            # (model data without it: the model never speaks alone)
            self.alone = float(data["thresholds"].get("alone", math.inf))
            self.alone_min_ngrams = int(data["thresholds"].get("alone_min_ngrams", 0))
            self.min_ngrams = int(data["thresholds"].get("min_ngrams", 0))
            weights = {str(k): float(v) for k, v in data["weights"].items()}
        except (KeyError, TypeError, ValueError) as exc:
            raise ModelDataError(f"guard model: missing or bad field ({exc})") from exc
        if not weights:
            raise ModelDataError("guard model: no weights")
        if not self.review <= self.block:
            raise ModelDataError("guard model: the review threshold is above the block threshold")
        if not self.review <= self.alone:
            raise ModelDataError("guard model: the alone threshold is below the review threshold")
        self.weights = weights
        self.info = {k: v for k, v in data.items() if k != "weights"}
        self._grams = sorted(weights)
        self._w = [weights[g] for g in self._grams]
        # scoring: one ahocorasick_rs (Rust) call returns every overlapping occurrence of every
        # n-gram as its string, and their weights are summed from one dict (no per-hit Python
        # loop, no feature list); the explanation (only for a message that reaches a threshold)
        # needs which n-gram it was and where: an automaton of the positive n-grams, built at
        # its first use
        # store_patterns: a hit is returned as the stored n-gram object itself rather than a
        # new string sliced from the message (half the cost of the call)
        self._ac = AhoCorasick(self._grams, matchkind=MatchKind.Standard, store_patterns=True)
        self._find = self._ac.find_matches_as_strings
        self._weight = weights.__getitem__
        self._positive: list[str] = []
        self._positive_auto: Any = None

    def score(self, norm: str) -> float:
        """The model's log-odds that the normalised message ``norm`` must be blocked."""
        return self.tally(norm)[0]

    def tally(self, norm: str) -> tuple[float, int]:
        """The score of ``norm`` and the number of n-gram occurrences it was made of (one
        automaton call, the weights summed in C by ``sum(map(...))``)."""
        found = self._find(norm, overlapping=True)
        if not found:
            return self.bias, 0
        return self.bias + sum(map(self._weight, found)) / math.sqrt(len(found)), len(found)

    def explain(
        self, norm: str, top: int = 5, occurrences: int | None = None
    ) -> list[Contribution]:
        """The n-grams that pushed the score up most (positive contributions, largest first);
        an n-gram overlapping one already listed is skipped. ``occurrences``: how many n-gram
        occurrences the score was divided over (the guard counts them in its own pass)."""
        if self._positive_auto is None:
            self._positive = [g for g in self._grams if self.weights[g] > 0]
            self._positive_auto = _automaton(self._positive) if self._positive else False
        if occurrences is None:
            occurrences = len(self._find(norm, overlapping=True))
        if not self._positive_auto or not occurrences:
            return []
        ends: dict[int, list[int]] = {}
        for end, i in self._positive_auto.iter(norm):
            ends.setdefault(i, []).append(end)
        grams, weights = self._positive, self.weights
        ranked = sorted((-weights[grams[i]] * len(e), grams[i], i) for i, e in ends.items())
        scale = 1 / math.sqrt(occurrences)
        out: list[Contribution] = []
        used = bytearray(len(norm))
        for neg, gram, i in ranked:
            size = len(gram)
            spans = tuple((e - size + 1, e + 1) for e in ends[i])
            if any(any(used[a:b]) for a, b in spans):
                continue
            for a, b in spans:
                used[a:b] = b"\x01" * (b - a)
            out.append(Contribution(gram, -neg * scale, spans))
            if len(out) == top:
                break
        return out


def _automaton(grams: Sequence[str]) -> Any:
    """An automaton that finds every occurrence of ``grams``; a hit's value is its index."""
    auto = ahocorasick.Automaton()
    for i, gram in enumerate(grams):
        auto.add_word(gram, i)
    auto.make_automaton()
    return auto


# --- training ---------------------------------------------------------------------------------


def _candidates(
    texts: Sequence[str], ngrams: tuple[int, int], min_df: int, max_df: float
) -> list[str]:
    """Character n-grams and jieba words (2–12 characters) found in at least ``min_df``
    messages and at most the share ``max_df`` of them: an n-gram in nearly every message says
    little and costs a lookup in every message screened. Nothing with a digit and no run of
    Chinese numerals alone: numbers are the validators' business, and an amount or a date says
    nothing about a violation."""
    import jieba

    jieba.setLogLevel(60)
    lo, hi = ngrams
    df: Counter[str] = Counter()
    for t in texts:
        grams = {t[i : i + n] for n in range(lo, hi + 1) for i in range(len(t) - n + 1)}
        grams |= {w for w in jieba.lcut(t) if 2 <= len(w) <= 12}
        df.update(g for g in grams if _usable(g))
    most = max_df * len(texts)
    return sorted(g for g, c in df.items() if min_df <= c <= most)


_NUMERALS = frozenset("零〇一二三四五六七八九十百千万两幺拐洞勾")


def _usable(gram: str) -> bool:
    """Not blank, no digit, not a run of Chinese numerals alone ("五六七"): a number."""
    if not gram.strip() or any(ch.isdigit() for ch in gram):
        return False
    return not all(ch in _NUMERALS or ch.isspace() for ch in gram)


def _matrix(texts: Sequence[str], vocab: Sequence[str]) -> Any:
    """Rows of n-gram counts over ``vocab``, scaled by 1/sqrt(occurrences) as in ``score``."""
    from scipy import sparse

    auto = _automaton(vocab)
    data: list[float] = []
    cols: list[int] = []
    ptr = [0]
    for t in texts:
        c = Counter(map(_SECOND, auto.iter(t)))
        scale = 1 / math.sqrt(sum(c.values())) if c else 0.0
        for i in sorted(c):
            cols.append(i)
            data.append(c[i] * scale)
        ptr.append(len(cols))
    return sparse.csr_matrix((data, cols, ptr), shape=(len(texts), len(vocab)))


def _fit(
    texts: Sequence[str],
    y: Sequence[int],
    *,
    ngrams: tuple[int, int],
    keep: int,
    max_df: float,
    c: float,
    seed: int,
) -> tuple[list[str], list[float], float]:
    """Vocabulary, weights and bias: a first fit over every candidate, the ``keep`` n-grams of
    largest weight kept, and a second fit over those alone (what is served)."""
    import numpy as np
    from sklearn.linear_model import LogisticRegression

    vocab = _candidates(texts, ngrams, min_df=2, max_df=max_df)
    if not vocab:
        raise ModelDataError("the corpus has no n-gram in two messages")
    first = LogisticRegression(C=c, solver="liblinear", random_state=seed, max_iter=5000)
    first.fit(_matrix(texts, vocab), y)
    kept = sorted(np.argsort(-np.abs(first.coef_[0]), kind="stable")[:keep])
    vocab = [vocab[i] for i in kept]
    second = LogisticRegression(C=c, solver="liblinear", random_state=seed, max_iter=5000)
    second.fit(_matrix(texts, vocab), y)
    return vocab, [float(w) for w in second.coef_[0]], float(second.intercept_[0])


def _quantile_above(scores: Sequence[float], rate: float) -> float:
    """The smallest threshold that at most ``rate`` of ``scores`` exceed."""
    ordered = sorted(scores, reverse=True)
    k = math.floor(rate * len(ordered))
    return ordered[k] if k < len(ordered) else ordered[-1]


def train(
    rows: Sequence[tuple[str, str, Sequence[str]]],
    *,
    ngrams: tuple[int, int] = (1, 4),
    keep: int = 4000,
    max_df: float = 0.02,
    c: float = 10.0,
    folds: int = 5,
    block_fpr: float = 0.005,
    review_fpr: float = 0.01,
    alone_fpr: float = 0.0025,
    min_ngrams: int = 10,
    alone_min_ngrams: int = 15,
    seed: int = 0,
) -> dict[str, Any]:
    """Model data from labelled agent messages ``rows`` = [(text, label, categories)] with
    label block / warn / allow (the model learns block against the rest). A message blocked for
    personal data alone is left out: the validators find identifiers exactly (checksums), and a
    model that learned "many digits" would flag order numbers. Cross-validation on the rest
    chooses the thresholds and measures the model; the figures travel in the data ("cv")."""
    import numpy as np
    from sklearn.metrics import roc_auc_score
    from sklearn.model_selection import StratifiedKFold

    for i, (text, label, _) in enumerate(rows):
        if label not in LABELS:
            raise ModelDataError(f"row {i + 1}: label must be one of {LABELS}, not {label!r}")
        if not isinstance(text, str) or not text.strip():
            raise ModelDataError(f"row {i + 1}: empty text")
    kept_rows = [(t, lab) for t, lab, cats in rows if list(cats) != ["pii"]]
    texts = [normalise(t)[0] for t, _ in kept_rows]
    labels = [lab for _, lab in kept_rows]
    y = np.array([lab == "block" for lab in labels], dtype=int)
    if y.sum() < folds or (len(y) - y.sum()) < folds:
        raise ModelDataError(f"too few messages of each kind for {folds}-fold cross-validation")
    oof = np.zeros(len(texts))
    splitter = StratifiedKFold(n_splits=folds, shuffle=True, random_state=seed)
    for tr, te in splitter.split(texts, y):
        vocab, w, b = _fit(
            [texts[i] for i in tr],
            y[tr].tolist(),
            ngrams=ngrams,
            keep=keep,
            max_df=max_df,
            c=c,
            seed=seed,
        )
        oof[te] = _matrix([texts[i] for i in te], vocab) @ np.array(w) + b
    allowed = [float(s) for s, lab in zip(oof, labels, strict=True) if lab == "allow"]
    block = _quantile_above(allowed, block_fpr)
    review = min(_quantile_above(allowed, review_fpr), block)
    alone = max(_quantile_above(allowed, alone_fpr), review)
    blocks = oof[y == 1]
    warns = oof[np.array(labels) == "warn"]
    vocab, w, b = _fit(texts, y.tolist(), ngrams=ngrams, keep=keep, max_df=max_df, c=c, seed=seed)
    return {
        "format": FORMAT,
        "bias": round(b, 6),
        "thresholds": {
            "block": round(block, 6),
            "review": round(review, 6),
            "alone": round(alone, 6),
            "min_ngrams": min_ngrams,
            "alone_min_ngrams": alone_min_ngrams,
        },
        "params": {
            "ngrams": list(ngrams),
            "words": "jieba, 2-12 characters",
            "left_out": "messages blocked for personal data alone; n-grams of digits or numerals",
            "keep": keep,
            "max_df": max_df,
            "C": c,
            "folds": folds,
            "seed": seed,
            "block_fpr": block_fpr,
            "review_fpr": review_fpr,
            "alone_fpr": alone_fpr,
        },
        "cv": {
            "messages": len(kept_rows),
            "auc": round(float(roc_auc_score(y, oof)), 4),
            "block_recall_at_block": round(float(np.mean(blocks > block)), 4),
            "block_recall_at_review": round(float(np.mean(blocks > review)), 4),
            "allowed_blocked": round(float(np.mean(np.array(allowed) > block)), 4),
            "allowed_reviewed": round(float(np.mean(np.array(allowed) > review)), 4),
            "block_recall_at_alone": round(float(np.mean(blocks > alone)), 4),
            "allowed_alone": round(float(np.mean(np.array(allowed) > alone)), 4),
            "warn_reviewed": round(float(np.mean(warns > review)), 4) if len(warns) else None,
        },
        "weights": {g: round(x, 6) for g, x in zip(vocab, w, strict=True) if round(x, 6)},
    }
