"""Classical item analysis of quiz attempts (pure): facility, discrimination, reliability.

Input: one row per finished attempt, ``{item: fraction}`` with fractions in 0…1 (an attempt of a
random quiz holds only the questions it drew). For each item:

- facility index = the mean fraction over the attempts that saw the item (×100, in percent);
- discrimination index = Pearson's r between the item's fraction and the rest of the test (the
  attempt's total minus this item) over the attempts that saw it — Moodle's "discrimination
  index"; None when either side does not vary.

For the quiz: Cronbach's alpha over the attempt × slot matrix (position 1…k of the quiz, the same
for every attempt whichever question was drawn there), which equals KR-20 when every item is
right or wrong: alpha = k/(k-1) · (1 − Σ var(slot) / var(total)), population variances.
"""

from __future__ import annotations

import math
from collections.abc import Hashable, Mapping, Sequence
from dataclasses import dataclass


@dataclass(frozen=True)
class ItemStats:
    item: Hashable
    attempts: int
    facility: float  # percent
    sd: float
    discrimination: float | None


@dataclass(frozen=True)
class QuizStats:
    attempts: int
    slots: int
    mean: float  # percent of the maximum
    sd: float  # percent
    reliability: float | None  # Cronbach's alpha / KR-20


def _mean(xs: Sequence[float]) -> float:
    return sum(xs) / len(xs)


def _pvar(xs: Sequence[float]) -> float:
    m = _mean(xs)
    return sum((x - m) ** 2 for x in xs) / len(xs)


def pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    """Pearson's correlation, None when fewer than 2 points or either side is constant."""
    if len(xs) != len(ys):
        raise ValueError("pearson: sequences differ in length")
    if len(xs) < 2:
        return None
    mx, my = _mean(xs), _mean(ys)
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    if sxx == 0 or syy == 0:
        return None
    return sxy / math.sqrt(sxx * syy)


def item_stats(rows: Sequence[Mapping[Hashable, float]]) -> list[ItemStats]:
    """Per item, in the order items are first met."""
    order: dict[Hashable, None] = {}
    for row in rows:
        for item in row:
            order.setdefault(item, None)
    totals = [sum(float(v) for v in row.values()) for row in rows]
    out: list[ItemStats] = []
    for item in order:
        xs = [float(row[item]) for row in rows if item in row]
        rest = [t - float(row[item]) for row, t in zip(rows, totals, strict=True) if item in row]
        out.append(
            ItemStats(
                item=item,
                attempts=len(xs),
                facility=100 * _mean(xs),
                sd=math.sqrt(_pvar(xs)),
                discrimination=pearson(xs, rest),
            )
        )
    return out


def quiz_stats(slots: Sequence[Sequence[float]]) -> QuizStats:
    """``slots``: one row per attempt, the fraction scored at each position of the quiz."""
    if not slots:
        return QuizStats(attempts=0, slots=0, mean=0.0, sd=0.0, reliability=None)
    k = len(slots[0])
    if any(len(row) != k for row in slots):
        raise ValueError("quiz_stats: every attempt needs the same number of slots")
    totals = [sum(float(x) for x in row) for row in slots]
    var_total = _pvar(totals)
    alpha: float | None = None
    if k > 1 and len(slots) > 1 and var_total > 0:
        var_items = sum(_pvar([float(row[j]) for row in slots]) for j in range(k))
        alpha = k / (k - 1) * (1 - var_items / var_total)
    scale = 100 / k if k else 0.0
    return QuizStats(
        attempts=len(slots),
        slots=k,
        mean=_mean(totals) * scale,
        sd=math.sqrt(var_total) * scale,
        reliability=alpha,
    )
