"""Agreement between raters: Cohen's kappa (two raters) and Fleiss' kappa (any number of
raters, each subject rated by the same number), with Landis & Koch's reading of the value.
Pure: plain sequences in, floats out. ``None`` stands for an undefined kappa (every rating in
one category: chance agreement is 1)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Hashable, Mapping, Sequence


class AgreementError(ValueError):
    """Ratings that cannot be compared (different lengths, too few raters, uneven rows)."""


def cohen_kappa(a: Sequence[Hashable], b: Sequence[Hashable]) -> float | None:
    """κ = (p_o − p_e) / (1 − p_e) for two raters' labels of the same subjects."""
    if len(a) != len(b):
        raise AgreementError(f"the two raters rated {len(a)} and {len(b)} subjects")
    n = len(a)
    if n == 0:
        raise AgreementError("no subjects")
    p_o = sum(x == y for x, y in zip(a, b, strict=True)) / n
    ca, cb = Counter(a), Counter(b)
    p_e = sum(ca[k] * cb.get(k, 0) for k in ca) / (n * n)
    if p_e == 1:
        return None
    return (p_o - p_e) / (1 - p_e)


def fleiss_kappa(counts: Sequence[Sequence[int]]) -> float | None:
    """Fleiss' κ from an N × k table: ``counts[i][j]`` raters put subject i in category j;
    every row sums to the same number of raters n ≥ 2."""
    if not counts:
        raise AgreementError("no subjects")
    n = sum(counts[0])
    if n < 2:
        raise AgreementError("Fleiss' kappa needs at least two raters per subject")
    k = len(counts[0])
    for i, row in enumerate(counts):
        if len(row) != k or sum(row) != n:
            raise AgreementError(f"subject {i + 1}: expected {n} ratings over {k} categories")
    big_n = len(counts)
    p_i = [(sum(c * c for c in row) - n) / (n * (n - 1)) for row in counts]
    p_bar = sum(p_i) / big_n
    p_j = [sum(row[j] for row in counts) / (big_n * n) for j in range(k)]
    p_e = sum(p * p for p in p_j)
    if p_e == 1:
        return None
    return (p_bar - p_e) / (1 - p_e)


def table(
    ratings: Sequence[Mapping[str, str]], categories: Sequence[str]
) -> tuple[list[str], list[list[int]]]:
    """The subjects every rater rated, and their N × k count table for :func:`fleiss_kappa`."""
    if not ratings:
        return [], []
    subjects = sorted(set.intersection(*(set(r) for r in ratings)))
    index = {c: j for j, c in enumerate(categories)}
    rows: list[list[int]] = []
    for s in subjects:
        row = [0] * len(categories)
        for r in ratings:
            if r[s] not in index:
                raise AgreementError(f"{s}: unknown category {r[s]!r}")
            row[index[r[s]]] += 1
        rows.append(row)
    return subjects, rows


def kappa(ratings: Sequence[Mapping[str, str]], categories: Sequence[str]) -> float | None:
    """Cohen's κ for two raters, Fleiss' κ for more, over the subjects all of them rated."""
    if len(ratings) < 2:
        raise AgreementError("agreement needs at least two raters")
    subjects, rows = table(ratings, categories)
    if not subjects:
        raise AgreementError("the raters have no subject in common")
    if len(ratings) == 2:
        return cohen_kappa([ratings[0][s] for s in subjects], [ratings[1][s] for s in subjects])
    return fleiss_kappa(rows)


#: Landis & Koch (1977): below 0 poor; up to 0.20 slight, 0.40 fair, 0.60 moderate, 0.80
#: substantial, above almost perfect — (upper bound, zh, en)
_BANDS = (
    (0.20, "轻微", "slight"),
    (0.40, "一般", "fair"),
    (0.60, "中等", "moderate"),
    (0.80, "较强", "substantial"),
)


def reading(value: float | None, lang: str = "zh") -> str:
    """Landis & Koch's reading of a kappa (undefined: all ratings in one category)."""
    en = lang.startswith("en")
    if value is None:
        return "all ratings in one category" if en else "所有评分落在同一类别"
    if value < 0:
        return "poor" if en else "差（低于随机）"
    for upper, zh, eng in _BANDS:
        if value <= upper:
            return eng if en else zh
    return "almost perfect" if en else "几乎完全一致"
