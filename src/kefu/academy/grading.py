"""The quiz grader: one question and one response in, a mark out (pure).

Responses are plain JSON values, indices pointing into the question's ORIGINAL answer order
(shuffling is a view concern): single choice an ``int``, multiple choice a list of ints,
true/false a ``bool``, short answer and numeric a ``str``, matching a ``{left: right}`` mapping,
essay a ``str`` (pending until a trainer grades it). A mark is a fraction of the question's
points, never below 0 (negative weights only take back credit inside one question) nor above 1.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation
from typing import Literal

from kefu.academy.gift import HUNDRED, Answer, Question

Status = Literal["correct", "partial", "wrong", "blank", "pending"]
ZERO, ONE = Decimal(0), Decimal(1)


@dataclass(frozen=True)
class Mark:
    """``fraction`` is None while an essay waits for its trainer."""

    fraction: Decimal | None
    status: Status
    feedback: tuple[str, ...] = ()

    def points(self, out_of: Decimal) -> Decimal | None:
        return None if self.fraction is None else (self.fraction * out_of).quantize(Decimal("0.01"))


class ResponseError(ValueError):
    """A response of the wrong shape for its question type. ``key`` and ``params`` name it for
    a translated message (``academy.errors.response_<key>``); the English stays for the CLI."""

    def __init__(self, message: str, key: str = "", **params: object) -> None:
        super().__init__(message)
        self.key = key
        self.params = params


_SPACES = re.compile(r"\s+")
_TRAILING = ".。!！?？;；,，"


def normalise(text: str) -> str:
    """Short answers compare after NFKC (full-width → half-width), case folding, trimming,
    collapsing runs of spaces, dropping spaces next to non-ASCII characters (Chinese is written
    without them) and dropping trailing punctuation."""
    t = _SPACES.sub(" ", unicodedata.normalize("NFKC", text).casefold()).strip()
    t = re.sub(r" (?=[^\x00-\x7f])|(?<=[^\x00-\x7f]) ", "", t)
    return t.rstrip(_TRAILING).strip()


def parse_number(text: str) -> Decimal | None:
    """A typed number: full-width digits, thousands separators and spaces are accepted."""
    t = unicodedata.normalize("NFKC", text).strip().replace(",", "").replace(" ", "")
    if not t:
        return None
    try:
        value = Decimal(t)
    except InvalidOperation:
        return None
    return value if value.is_finite() else None


def _clamp(x: Decimal) -> Decimal:
    return max(ZERO, min(ONE, x))


def _status(fraction: Decimal) -> Status:
    if fraction >= ONE:
        return "correct"
    return "partial" if fraction > ZERO else "wrong"


def _mark(fraction: Decimal, feedback: Sequence[str]) -> Mark:
    f = _clamp(fraction)
    return Mark(f, _status(f), tuple(x for x in feedback if x))


def _index(value: object, answers: Sequence[Answer]) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise ResponseError("a choice is the number of an answer", "choice")
    if not 0 <= value < len(answers):
        raise ResponseError(f"answer {value} does not exist", "no_answer", value=value)
    return value


def grade(q: Question, response: object) -> Mark:
    """The mark of ``response`` to ``q``; ``None`` (or an empty answer) is a blank."""
    if q.kind == "description":
        raise ResponseError("a description is not a question", "description")
    if response is None or response == "" or response == [] or response == {}:
        return Mark(None, "pending") if q.kind == "essay" else Mark(ZERO, "blank")
    if q.kind == "essay":
        if not isinstance(response, str):
            raise ResponseError("an essay answer is text", "essay")
        return Mark(None, "pending")
    if q.kind == "single":
        a = q.answers[_index(response, q.answers)]
        return _mark(a.weight / HUNDRED, [a.feedback])
    if q.kind == "multiple":
        if not isinstance(response, list | tuple | set | frozenset):
            raise ResponseError("a multiple-choice answer is a list of answer numbers", "multi")
        chosen = sorted({_index(v, q.answers) for v in response})
        total = sum((q.answers[i].weight for i in chosen), ZERO)
        return _mark(total / HUNDRED, [q.answers[i].feedback for i in chosen])
    if q.kind == "truefalse":
        if not isinstance(response, bool):
            raise ResponseError("a true/false answer is true or false", "truefalse")
        right = response == q.truth
        return _mark(ONE if right else ZERO, [q.feedback_right if right else q.feedback_wrong])
    if q.kind == "short":
        if not isinstance(response, str):
            raise ResponseError("a short answer is text", "short")
        given = normalise(response)
        hits = [a for a in q.answers if normalise(a.text) == given]
        if not hits:
            return _mark(ZERO, [])
        best = max(hits, key=lambda a: a.weight)
        return _mark(best.weight / HUNDRED, [best.feedback])
    if q.kind == "numeric":
        if not isinstance(response, str | int | Decimal) or isinstance(response, bool):
            raise ResponseError("a numeric answer is a number", "numeric")
        x = parse_number(str(response))
        if x is None:
            return Mark(ZERO, "wrong", ("not a number",))
        hits = [a for a in q.answers if a.accepts(x)]
        if not hits:
            return _mark(ZERO, [])
        best = max(hits, key=lambda a: a.weight)
        return _mark(best.weight / HUNDRED, [best.feedback])
    if q.kind == "matching":
        if not isinstance(response, Mapping):
            raise ResponseError("a matching answer maps each item to a choice", "matching")
        pairs = [a for a in q.answers if a.text]
        matched = sum(1 for a in pairs if response.get(a.text) == a.match)
        return _mark(Decimal(matched) / Decimal(len(pairs)), [])
    raise ResponseError(f"unknown question type {q.kind!r}", "kind", kind=repr(q.kind))


def rubric_mark(points: Decimal, out_of: Decimal, comment: str = "") -> Mark:
    """A trainer's mark of an essay: ``points`` of ``out_of`` (both ≥ 0)."""
    if not (points.is_finite() and out_of.is_finite()) or out_of <= 0 or not 0 <= points <= out_of:
        raise ResponseError(f"points must lie between 0 and {out_of}", "points", out_of=out_of)
    return _mark(points / out_of, [comment])


def max_fraction(q: Question) -> Decimal:
    """The best mark a response can reach (a bank author may write a question whose weights
    never add up to 100 %; the editor warns about it)."""
    if q.kind == "multiple":
        return _clamp(sum((a.weight for a in q.answers if a.weight > 0), ZERO) / HUNDRED)
    if q.kind in ("single", "short", "numeric"):
        return _clamp(max((a.weight for a in q.answers), default=ZERO) / HUNDRED)
    return ONE
