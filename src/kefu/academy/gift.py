"""GIFT (Moodle's plain-text question format): parser and writer (the Moodle XML export is in
``moodle.py``).

Pure: text in, plain data out. Supported: ``$CATEGORY:`` lines, ``::titles::``, ``[format]``
prefixes, ``//`` comments, per-answer feedback ``#…``, general feedback ``####…``, weights
``%50%`` / ``%-100%``, the escapes ``\\~ \\= \\# \\{ \\} \\: \\\\ \\n`` and the question types
single choice, multiple choice (partial credit, negative weights), true/false, short answer,
numeric (tolerance or range), matching and essay. A question without an answer block is a
"description" (text only, never graded). ``write(parse(t))`` parses back to the same questions.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Literal

Kind = Literal[
    "single", "multiple", "truefalse", "short", "numeric", "matching", "essay", "description"
]
KINDS: tuple[Kind, ...] = (
    "single",
    "multiple",
    "truefalse",
    "short",
    "numeric",
    "matching",
    "essay",
    "description",
)
FORMATS = ("moodle", "markdown", "html", "plain")
_SPECIAL = "~=#{}:"
HUNDRED = Decimal(100)


class GiftError(ValueError):
    """Malformed GIFT, naming the line (1-based) and the question title when there is one."""


@dataclass(frozen=True)
class Answer:
    """One answer. ``weight`` is a percentage (-100…100). Matching: ``text`` -> ``match``.
    Numeric: ``value`` ± ``tolerance``, or the range ``low``..``high``."""

    text: str = ""
    weight: Decimal = Decimal(0)
    feedback: str = ""
    match: str | None = None
    value: Decimal | None = None
    tolerance: Decimal | None = None
    low: Decimal | None = None
    high: Decimal | None = None

    def accepts(self, x: Decimal) -> bool:
        """Numeric answers: whether ``x`` lies inside this answer's tolerance or range."""
        if self.low is not None and self.high is not None:
            return self.low <= x <= self.high
        if self.value is not None:
            return abs(x - self.value) <= (self.tolerance or Decimal(0))
        return False


@dataclass(frozen=True)
class Question:
    kind: Kind
    text: str
    title: str = ""
    category: str = ""
    answers: tuple[Answer, ...] = ()
    general_feedback: str = ""
    fmt: str = "moodle"
    #: true/false: the right answer and the two feedbacks (shown when wrong / when right)
    truth: bool | None = None
    feedback_wrong: str = ""
    feedback_right: str = ""
    #: text after the answer block ("missing word" questions)
    text_after: str = ""
    line: int = field(default=0, compare=False)


# --- escapes ------------------------------------------------------------------------------------


def escape(text: str) -> str:
    out = text.replace("\\", "\\\\")
    for ch in _SPECIAL:
        out = out.replace(ch, "\\" + ch)
    return out.replace("\r\n", "\n").replace("\n", "\\n")


def unescape(text: str) -> str:
    out: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            nxt = text[i + 1]
            out.append("\n" if nxt == "n" else nxt)
            i += 2
            continue
        out.append(ch)
        i += 1
    return "".join(out)


def _find(text: str, token: str, start: int = 0) -> int:
    """Index of the first unescaped ``token`` at or after ``start``, or -1."""
    i = start
    while i < len(text):
        if text[i] == "\\":
            i += 2
            continue
        if text.startswith(token, i):
            return i
        i += 1
    return -1


def _split(text: str, seps: str) -> list[tuple[str, str]]:
    """Splits at unescaped characters of ``seps``: [(separator, chunk)], the first separator ''."""
    parts: list[tuple[str, str]] = []
    sep, buf, i = "", [], 0
    while i < len(text):
        ch = text[i]
        if ch == "\\" and i + 1 < len(text):
            buf.append(text[i : i + 2])
            i += 2
            continue
        if ch in seps:
            parts.append((sep, "".join(buf)))
            sep, buf = ch, []
        else:
            buf.append(ch)
        i += 1
    parts.append((sep, "".join(buf)))
    return parts


# --- parsing ------------------------------------------------------------------------------------


def _chunks(text: str) -> Iterator[tuple[int, str]]:
    """(first line number, text) of each blank-line-separated block, comments removed."""
    buf: list[str] = []
    first = 0
    for no, raw in enumerate(text.replace("\r\n", "\n").split("\n"), start=1):
        line = raw.rstrip()
        if line.lstrip().startswith("//"):
            continue
        if not line.strip():
            if buf:
                yield first, "\n".join(buf)
                buf = []
            continue
        if line.lstrip().upper().startswith("$CATEGORY:"):
            if buf:
                yield first, "\n".join(buf)
                buf = []
            yield no, line.strip()
            continue
        if not buf:
            first = no
        buf.append(line)
    if buf:
        yield first, "\n".join(buf)


def _number(raw: str, where: str) -> Decimal:
    try:
        value = Decimal(raw.strip())
    except InvalidOperation:
        raise GiftError(f"{where}: {raw.strip()!r} is not a number") from None
    if not value.is_finite():
        raise GiftError(f"{where}: {raw.strip()!r} is not a number")
    return value


def _weight(body: str, where: str) -> tuple[Decimal | None, str]:
    body = body.lstrip()
    if not body.startswith("%"):
        return None, body
    end = body.find("%", 1)
    if end < 0:
        raise GiftError(f"{where}: a weight needs a closing % ({body[:20]!r})")
    weight = _number(body[1:end], where)
    if not -HUNDRED <= weight <= HUNDRED:
        raise GiftError(f"{where}: weight {weight}% lies outside -100…100")
    return weight, body[end + 1 :]


def _text_and_feedback(body: str) -> tuple[str, str]:
    cut = _find(body, "#")
    if cut < 0:
        return unescape(body).strip(), ""
    return unescape(body[:cut]).strip(), unescape(body[cut + 1 :]).strip()


def _numeric_answer(spec: str, weight: Decimal, feedback: str, where: str) -> Answer:
    spec = unescape(spec).strip()
    if ".." in spec:
        lo, hi = spec.split("..", 1)
        low, high = _number(lo, where), _number(hi, where)
        if low > high:
            raise GiftError(f"{where}: range {spec!r} runs backwards")
        return Answer(weight=weight, feedback=feedback, low=low, high=high)
    value, _, tol = spec.partition(":")
    tolerance = _number(tol, where) if tol.strip() else Decimal(0)
    if tolerance < 0:
        raise GiftError(f"{where}: tolerance {tolerance} is negative")
    return Answer(
        weight=weight, feedback=feedback, value=_number(value, where), tolerance=tolerance
    )


def _answer_block(block: str, where: str) -> tuple[Kind, dict[str, object]]:
    gf_at = _find(block, "####")
    general = ""
    if gf_at >= 0:
        general = unescape(block[gf_at + 4 :]).strip()
        block = block[:gf_at]
    body = block.strip()
    out: dict[str, object] = {"general_feedback": general}
    if not body:
        return "essay", out
    if body.startswith("#"):
        return "numeric", out | {"answers": _numeric(body[1:].strip(), where)}
    head = _split(body, "#")
    if head[0][1].strip().upper() in ("T", "TRUE", "F", "FALSE"):
        if len(head) > 3:
            raise GiftError(f"{where}: true/false takes at most two feedbacks")
        fbs = [unescape(chunk).strip() for _, chunk in head[1:]] + ["", ""]
        return "truefalse", out | {
            "truth": head[0][1].strip().upper().startswith("T"),
            "feedback_wrong": fbs[0],
            "feedback_right": fbs[1],
        }
    raw = _split(body, "=~")
    if raw[0][1].strip():
        raise GiftError(f"{where}: answers must start with = or ~ (found {raw[0][1].strip()!r})")
    items = raw[1:]
    if not items:
        raise GiftError(f"{where}: the answer block has no answers")
    markers = {sep for sep, _ in items}
    if all(_find(chunk, "->") >= 0 for _, chunk in items if chunk.strip()) and markers == {"="}:
        pairs: list[Answer] = []
        for _, chunk in items:
            cut = _find(chunk, "->")
            if cut < 0:
                raise GiftError(f"{where}: a matching pair needs '->'")
            left, right = unescape(chunk[:cut]).strip(), unescape(chunk[cut + 2 :]).strip()
            if not right:
                raise GiftError(f"{where}: matching pair {left!r} has nothing on the right")
            pairs.append(Answer(text=left, weight=HUNDRED if left else Decimal(0), match=right))
        if sum(1 for p in pairs if p.text) < 2:
            raise GiftError(f"{where}: a matching question needs at least two pairs")
        return "matching", out | {"answers": tuple(pairs)}
    answers: list[Answer] = []
    for sep, chunk in items:
        weight, rest = _weight(chunk, where)
        if weight is None:
            weight = HUNDRED if sep == "=" else Decimal(0)
        text, feedback = _text_and_feedback(rest)
        if not text:
            raise GiftError(f"{where}: an answer is empty")
        answers.append(Answer(text=text, weight=weight, feedback=feedback))
    if markers == {"="}:
        return "short", out | {"answers": tuple(answers)}
    kind: Kind = "single" if "=" in markers else "multiple"
    if kind == "multiple" and not any(a.weight > 0 for a in answers):
        raise GiftError(f"{where}: no answer has a positive weight (use = or ~%50%…)")
    return kind, out | {"answers": tuple(answers)}


def _numeric(body: str, where: str) -> tuple[Answer, ...]:
    if not body.lstrip().startswith(("=", "~")):
        spec, feedback = body, ""
        cut = _find(body, "#")
        if cut >= 0:
            spec, feedback = body[:cut], unescape(body[cut + 1 :]).strip()
        return (_numeric_answer(spec, HUNDRED, feedback, where),)
    answers = []
    for sep, chunk in _split(body, "=~")[1:]:
        weight, rest = _weight(chunk, where)
        if weight is None:
            weight = HUNDRED if sep == "=" else Decimal(0)
        cut = _find(rest, "#")
        spec, feedback = (rest, "") if cut < 0 else (rest[:cut], unescape(rest[cut + 1 :]).strip())
        answers.append(_numeric_answer(spec, weight, feedback, where))
    if not answers:
        raise GiftError(f"{where}: a numeric question needs an answer")
    return tuple(answers)


def parse_question(chunk: str, *, category: str = "", line: int = 0) -> Question:
    text = chunk.strip()
    title = ""
    where = f"line {line}"
    if text.startswith("::"):
        end = _find(text, "::", 2)
        if end < 0:
            raise GiftError(f"{where}: the title has no closing '::'")
        title = unescape(text[2:end]).strip()
        text = text[end + 2 :].lstrip()
        where = f"line {line} ({title})"
    fmt = "moodle"
    if text.startswith("["):
        close = text.find("]")
        name = text[1:close].strip().lower() if close > 0 else ""
        if name in FORMATS:
            fmt, text = name, text[close + 1 :].lstrip()
    start = _find(text, "{")
    if start < 0:
        if _find(text, "}") >= 0:
            raise GiftError(f"{where}: '}}' without '{{' (escape it as \\}})")
        return Question(
            kind="description",
            text=unescape(text).strip(),
            title=title,
            category=category,
            fmt=fmt,
            line=line,
        )
    end = _find(text, "}", start + 1)
    if end < 0:
        raise GiftError(f"{where}: the answer block '{{' is never closed")
    nested = _find(text[start + 1 : end], "{")
    if nested >= 0:
        raise GiftError(f"{where}: '{{' inside the answer block (escape it as \\{{)")
    before, block, after = text[:start], text[start + 1 : end], text[end + 1 :]
    if _find(after, "{") >= 0 or _find(after, "}") >= 0:
        raise GiftError(f"{where}: a question has one answer block")
    kind, parts = _answer_block(block, where)
    question_text = unescape(before).strip()
    if not question_text:
        raise GiftError(f"{where}: the question has no text")
    return Question(
        kind=kind,
        text=question_text,
        title=title,
        category=category,
        fmt=fmt,
        text_after=unescape(after).strip(),
        line=line,
        **parts,  # type: ignore[arg-type]
    )


def parse(text: str) -> list[Question]:
    """Every question of a GIFT file, each carrying the category in force where it stands."""
    category = ""
    out: list[Question] = []
    for line, chunk in _chunks(text):
        if chunk.upper().startswith("$CATEGORY:"):
            category = chunk.split(":", 1)[1].strip()
            continue
        out.append(parse_question(chunk, category=category, line=line))
    titles = [q.title for q in out if q.title]
    dup = next((t for t in titles if titles.count(t) > 1), None)
    if dup is not None:
        raise GiftError(f"question title {dup!r} appears twice")
    return out


# --- writing ------------------------------------------------------------------------------------


def _num(d: Decimal) -> str:
    return format(d, "f")


def _weight_text(weight: Decimal) -> str:
    return f"%{_num(weight)}%"


def _answer_line(marker: str, a: Answer, explicit: bool) -> str:
    w = _weight_text(a.weight) if explicit else ""
    fb = f"#{escape(a.feedback)}" if a.feedback else ""
    return f"\t{marker}{w}{escape(a.text)}{fb}"


def _numeric_spec(a: Answer) -> str:
    if a.low is not None and a.high is not None:
        return f"{_num(a.low)}..{_num(a.high)}"
    return f"{_num(a.value or Decimal(0))}:{_num(a.tolerance or Decimal(0))}"


def write_question(q: Question) -> str:
    head = f"::{escape(q.title)}::" if q.title else ""
    if q.fmt != "moodle":
        head += f"[{q.fmt}]"
    head += escape(q.text)
    if q.kind == "description":
        return head
    lines: list[str] = []
    if q.kind == "essay":
        pass
    elif q.kind == "truefalse":
        fb = ""
        if q.feedback_wrong or q.feedback_right:
            fb = f"#{escape(q.feedback_wrong)}"
            if q.feedback_right:
                fb += f"#{escape(q.feedback_right)}"
        lines.append(("\tTRUE" if q.truth else "\tFALSE") + fb)
    elif q.kind == "numeric":
        lines.append("\t#")
        for a in q.answers:
            marker = "=" if a.weight == HUNDRED else "~"
            w = "" if a.weight in (HUNDRED, Decimal(0)) else _weight_text(a.weight)
            fb = f"#{escape(a.feedback)}" if a.feedback else ""
            lines.append(f"\t{marker}{w}{_numeric_spec(a)}{fb}")
    elif q.kind == "matching":
        for a in q.answers:
            lines.append(f"\t={escape(a.text)} -> {escape(a.match or '')}")
    elif q.kind == "short":
        for a in q.answers:
            lines.append(_answer_line("=", a, a.weight != HUNDRED))
    else:
        # a single choice keeps one '=' answer: GIFT reads '=' answers alone as a short answer
        first = (
            next((a for a in q.answers if a.weight == HUNDRED), None)
            if q.kind == "single"
            else None
        )
        for a in q.answers:
            if a is first:
                lines.append(_answer_line("=", a, False))
            else:
                lines.append(_answer_line("~", a, a.weight != 0))
    if q.general_feedback:
        lines.append(f"\t####{escape(q.general_feedback)}")
    block = "{\n" + "\n".join(lines) + "\n}" if lines else "{}"
    tail = f" {escape(q.text_after)}" if q.text_after else ""
    return f"{head} {block}{tail}"


def write(questions: Iterable[Question]) -> str:
    """GIFT text: a ``$CATEGORY:`` line where the category changes, a blank line between
    questions."""
    out: list[str] = []
    category: str | None = None
    for q in questions:
        if q.category != category and q.category:
            out.append(f"$CATEGORY: {q.category}\n")
        category = q.category
        out.append(write_question(q) + "\n")
    return "\n".join(out)
