"""Role-play with a simulated customer (pure): persona parsing and validation, and a
deterministic walk of the persona's dialogue graph driven by the trainee's replies.

The engine reads nothing and imports no context: it is GIVEN ``classify(text) -> signals``
(the QA scorer's reply signals in the run's language) and ``screen(text) -> Screen`` (the
compliance guard's verdict); the academy service composes both. Concept signals
(``concept:<name>``) are the persona's own and are matched here. The same persona, replies and
callables always give the same run, so a run is stored as its replies and replayed.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

LANGS = ("zh", "en")
#: the signals the contract promises for every reply (concept:<name> comes on top)
SIGNALS = frozenset(
    {"greeting", "name", "empathy", "apology", "question", "jargon", "closing", "escalate"}
)
GUARD_CATEGORIES = frozenset(
    {
        "promise",
        "inducement",
        "advice",
        "credential",
        "offplatform",
        "pii",
        "disclosure",
        "third_party",
    }
)
ENDS = ("resolved", "escalated")
Outcome = Literal["in_progress", "resolved", "escalated", "abandoned"]
MOOD_MAX = 5


class PersonaError(ValueError):
    """A malformed persona, naming the source and the field path (``states.opening.on[2].goto``)."""


@dataclass(frozen=True)
class Text:
    zh: str
    en: str

    def __call__(self, lang: str) -> str:
        return self.en if lang.startswith("en") else self.zh


Cond = tuple[Any, ...]  # ("signal", name) | ("all", conds) | ("any", conds) | ("not", cond) …


@dataclass(frozen=True)
class Rule:
    cond: Cond
    mood: int
    goto: str
    say: Text | None
    why: Text | None


@dataclass(frozen=True)
class State:
    name: str
    say: Text
    model_answer: Text | None
    rules: tuple[Rule, ...]
    end: str | None = None


@dataclass(frozen=True)
class Persona:
    slug: str
    version: int
    title: Text
    brief: Text
    hidden_goal: Text
    skills: tuple[str, ...]
    mood_start: int
    escalate_at: int
    max_turns: int
    concepts: Mapping[str, Mapping[str, tuple[str, ...]]]
    start: str
    states: Mapping[str, State]

    def concept_signals(self, text: str, lang: str) -> frozenset[str]:
        t = fold(text)
        lg = "en" if lang.startswith("en") else "zh"
        return frozenset(
            f"concept:{name}"
            for name, by_lang in self.concepts.items()
            if any(fold(p) in t for p in by_lang.get(lg, ()) if p)
        )


def fold(text: str) -> str:
    """Case- and width-insensitive form: NFKC, case folding, runs of spaces as one."""
    return re.sub(r"\s+", " ", unicodedata.normalize("NFKC", text).casefold()).strip()


# --- parsing and validation ---------------------------------------------------------------------


class _P:
    def __init__(self, source: str) -> None:
        self.source = source

    def fail(self, where: str, message: str) -> PersonaError:
        return PersonaError(f"{self.source}: {where}: {message}")

    def text(self, raw: object, where: str, *, required: bool = True) -> Text | None:
        if raw is None and not required:
            return None
        if not isinstance(raw, Mapping):
            raise self.fail(where, "needs {zh: …, en: …}")
        out = {}
        for lg in LANGS:
            v = raw.get(lg)
            if not isinstance(v, str) or not v.strip():
                raise self.fail(f"{where}.{lg}", "missing or empty")
            out[lg] = v.strip()
        return Text(**out)

    def int_(self, raw: object, where: str, lo: int, hi: int) -> int:
        if isinstance(raw, str) and re.fullmatch(r"[+-]?\d+", raw.strip()):
            raw = int(raw)
        if isinstance(raw, bool) or not isinstance(raw, int):
            raise self.fail(where, f"must be a whole number ({raw!r})")
        if not lo <= raw <= hi:
            raise self.fail(where, f"{raw} lies outside {lo}…{hi}")
        return raw

    def cond(
        self, raw: object, where: str, concepts: Mapping[str, object], known: frozenset[str]
    ) -> Cond:
        if isinstance(raw, str):
            if raw.startswith("concept:"):
                if raw[8:] not in concepts:
                    raise self.fail(where, f"unknown concept {raw[8:]!r}")
            elif raw not in known:
                raise self.fail(where, f"unknown signal {raw!r}")
            return ("signal", raw)
        if not isinstance(raw, Mapping) or len(raw) != 1:
            raise self.fail(
                where, "a condition is a signal name or one of all/any/not/guard/guard_category"
            )
        ((key, value),) = raw.items()
        if key in ("all", "any"):
            if not isinstance(value, list) or not value:
                raise self.fail(f"{where}.{key}", "needs a non-empty list")
            return (
                key,
                tuple(
                    self.cond(v, f"{where}.{key}[{i}]", concepts, known)
                    for i, v in enumerate(value)
                ),
            )
        if key == "not":
            return ("not", self.cond(value, f"{where}.not", concepts, known))
        if key == "guard":
            if value not in ("block", "warn"):
                raise self.fail(f"{where}.guard", f"must be block or warn ({value!r})")
            return ("guard", value)
        if key == "guard_category":
            if value not in GUARD_CATEGORIES:
                raise self.fail(f"{where}.guard_category", f"unknown category {value!r}")
            return ("guard_category", value)
        raise self.fail(where, f"unknown condition {key!r}")


def parse_persona(
    data: object, source: str = "<persona>", *, known_signals: frozenset[str] = SIGNALS
) -> Persona:
    """Validates a persona (the YAML as loaded) and returns it; errors name the field."""
    p = _P(source)
    if not isinstance(data, Mapping):
        raise p.fail("persona", "the file must hold a mapping")
    for key in (
        "slug",
        "version",
        "title",
        "brief",
        "hidden_goal",
        "mood",
        "max_turns",
        "start",
        "states",
    ):
        if key not in data:
            raise p.fail(key, "missing")
    slug = str(data["slug"])
    if not re.fullmatch(r"[a-z0-9][a-z0-9-]*", slug):
        raise p.fail("slug", f"{slug!r} must be lowercase letters, digits and hyphens")
    mood = data["mood"]
    if not isinstance(mood, Mapping):
        raise p.fail("mood", "needs {start: …, escalate_at: …}")
    escalate_at = p.int_(mood.get("escalate_at"), "mood.escalate_at", 1, MOOD_MAX)
    mood_start = p.int_(mood.get("start"), "mood.start", 0, escalate_at - 1)
    raw_concepts = data.get("concepts") or {}
    if not isinstance(raw_concepts, Mapping):
        raise p.fail("concepts", "needs a mapping of concept → {zh: [...], en: [...]}")
    concepts: dict[str, dict[str, tuple[str, ...]]] = {}
    for name, by_lang in raw_concepts.items():
        if not isinstance(by_lang, Mapping):
            raise p.fail(f"concepts.{name}", "needs {zh: [...], en: [...]}")
        concepts[str(name)] = {}
        for lg in LANGS:
            phrases = by_lang.get(lg)
            if (
                not isinstance(phrases, list)
                or not phrases
                or not all(isinstance(x, str) and x.strip() for x in phrases)
            ):
                raise p.fail(f"concepts.{name}.{lg}", "needs a non-empty list of phrases")
            concepts[str(name)][lg] = tuple(phrases)
    raw_states = data["states"]
    if not isinstance(raw_states, Mapping) or not raw_states:
        raise p.fail("states", "needs a mapping of state name → state")
    names = {str(n) for n in raw_states}
    states: dict[str, State] = {}
    for name, raw in raw_states.items():
        where = f"states.{name}"
        if not isinstance(raw, Mapping):
            raise p.fail(where, "needs a mapping")
        say = p.text(raw.get("say"), f"{where}.say")
        assert say is not None
        end = raw.get("end")
        if end is not None:
            if end not in ENDS:
                raise p.fail(f"{where}.end", f"must be resolved or escalated ({end!r})")
            states[str(name)] = State(str(name), say, None, (), str(end))
            continue
        model = p.text(raw.get("model_answer"), f"{where}.model_answer")
        # YAML 1.1 (PyYAML) reads the bare key `on` as the boolean true
        rules_raw = raw.get("on", raw.get(True))
        if not isinstance(rules_raw, list) or not rules_raw:
            raise p.fail(f"{where}.on", "needs a list of rules")
        rules: list[Rule] = []
        for i, r in enumerate(rules_raw):
            rw = f"{where}.on[{i}]"
            if not isinstance(r, Mapping):
                raise p.fail(rw, "needs a mapping")
            last = i == len(rules_raw) - 1
            if "else" in r:
                if r["else"] is not True:
                    raise p.fail(f"{rw}.else", "must be true")
                if not last:
                    raise p.fail(rw, "'else: true' must be the last rule")
                cond: Cond = ("else",)
            elif last:
                raise p.fail(rw, "the last rule must be 'else: true'")
            elif "if" not in r:
                raise p.fail(f"{rw}.if", "missing")
            else:
                cond = p.cond(r["if"], f"{rw}.if", concepts, known_signals)
            goto = str(r.get("goto", ""))
            if goto not in names:
                raise p.fail(f"{rw}.goto", f"unknown state {goto!r}")
            rules.append(
                Rule(
                    cond=cond,
                    mood=p.int_(r.get("mood", 0), f"{rw}.mood", -MOOD_MAX, MOOD_MAX),
                    goto=goto,
                    say=p.text(r.get("say"), f"{rw}.say", required=False),
                    why=p.text(r.get("why"), f"{rw}.why", required=False),
                )
            )
        states[str(name)] = State(str(name), say, model, tuple(rules))
    start = str(data["start"])
    if start not in states:
        raise p.fail("start", f"unknown state {start!r}")
    if states[start].end:
        raise p.fail("start", "the run cannot start in an end state")
    if not any(s.end == "resolved" for s in states.values()):
        raise p.fail("states", "no state ends 'resolved': the customer could never be helped")
    skills = data.get("skills") or []
    if not isinstance(skills, list):
        raise p.fail("skills", "needs a list")
    title, brief, goal = (p.text(data[k], k) for k in ("title", "brief", "hidden_goal"))
    assert title is not None and brief is not None and goal is not None
    return Persona(
        slug=slug,
        version=p.int_(data["version"], "version", 1, 10**6),
        title=title,
        brief=brief,
        hidden_goal=goal,
        skills=tuple(str(s) for s in skills),
        mood_start=mood_start,
        escalate_at=escalate_at,
        max_turns=p.int_(data["max_turns"], "max_turns", 1, 50),
        concepts=concepts,
        start=start,
        states=states,
    )


# --- the run ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Screen:
    """The guard's verdict on one reply, as plain data."""

    verdict: str  # block | warn | allow
    findings: tuple[Mapping[str, Any], ...] = ()

    @property
    def categories(self) -> frozenset[str]:
        return frozenset(str(f.get("category", "")) for f in self.findings)


@dataclass(frozen=True)
class TurnRecord:
    customer: str  # what the customer said before this reply
    state: str  # the state the reply answered
    reply: str
    signals: frozenset[str]
    guard: Screen
    rule: int  # index of the rule that fired
    why: str
    mood: int  # after the reply
    model_answer: str


@dataclass(frozen=True)
class Run:
    persona: str
    lang: str
    outcome: Outcome
    state: str
    mood: int
    turns: tuple[TurnRecord, ...] = ()
    customer: str = ""  # the customer's current (or last) line
    guard_failed: bool = False
    mood_path: tuple[int, ...] = field(default=())

    @property
    def finished(self) -> bool:
        return self.outcome != "in_progress"

    def findings(self) -> list[dict[str, Any]]:
        """Every guard finding of every reply, with its turn number (1-based)."""
        return [
            {"turn": i, "verdict": t.guard.verdict, **dict(f)}
            for i, t in enumerate(self.turns, start=1)
            for f in t.guard.findings
        ]


def holds(cond: Cond, signals: frozenset[str], screen: Screen) -> bool:
    kind = cond[0]
    if kind == "else":
        return True
    if kind == "signal":
        return cond[1] in signals
    if kind == "all":
        return all(holds(c, signals, screen) for c in cond[1])
    if kind == "any":
        return any(holds(c, signals, screen) for c in cond[1])
    if kind == "not":
        return not holds(cond[1], signals, screen)
    if kind == "guard":
        return bool(screen.verdict == cond[1])
    if kind == "guard_category":
        return cond[1] in screen.categories
    raise ValueError(f"unknown condition {kind!r}")


def begin(persona: Persona, lang: str) -> Run:
    lg = "en" if lang.startswith("en") else "zh"
    return Run(
        persona=persona.slug,
        lang=lg,
        outcome="in_progress",
        state=persona.start,
        mood=persona.mood_start,
        customer=persona.states[persona.start].say(lg),
        mood_path=(persona.mood_start,),
    )


def step(
    persona: Persona,
    run: Run,
    reply: str,
    *,
    classify: Callable[[str], frozenset[str]],
    screen: Callable[[str], Screen],
) -> Run:
    """One trainee reply: the first rule of the current state whose condition holds fires."""
    if run.finished:
        raise ValueError("the run is over")
    state = persona.states[run.state]
    verdict = screen(reply)
    signals = frozenset(classify(reply)) | persona.concept_signals(reply, run.lang)
    index, rule = next((i, r) for i, r in enumerate(state.rules) if holds(r.cond, signals, verdict))
    mood = max(0, min(MOOD_MAX, run.mood + rule.mood))
    target = persona.states[rule.goto]
    record = TurnRecord(
        customer=run.customer,
        state=state.name,
        reply=reply,
        signals=signals,
        guard=verdict,
        rule=index,
        why=rule.why(run.lang) if rule.why else "",
        mood=mood,
        model_answer=state.model_answer(run.lang) if state.model_answer else "",
    )
    turns = (*run.turns, record)
    outcome: Outcome = "in_progress"
    goto = target.name
    line = (rule.say or target.say)(run.lang)
    if target.end:
        outcome = "resolved" if target.end == "resolved" else "escalated"
    elif mood >= persona.escalate_at:
        outcome = "escalated"
        ends = [s for s in persona.states.values() if s.end == "escalated"]
        if ends:
            goto, line = ends[0].name, ends[0].say(run.lang)
    elif len(turns) >= persona.max_turns:
        outcome = "abandoned"
    return Run(
        persona=run.persona,
        lang=run.lang,
        outcome=outcome,
        state=goto,
        mood=mood,
        turns=turns,
        customer=line,
        guard_failed=run.guard_failed or verdict.verdict == "block",
        mood_path=(*run.mood_path, mood),
    )


def play(
    persona: Persona,
    replies: Sequence[str],
    *,
    lang: str,
    classify: Callable[[str], frozenset[str]],
    screen: Callable[[str], Screen],
) -> Run:
    """Replays ``replies`` from the start; replies after the run ended are ignored."""
    run = begin(persona, lang)
    for reply in replies:
        if run.finished:
            break
        if reply.strip():
            run = step(persona, run, reply.strip(), classify=classify, screen=screen)
    return run


def passed(run: Run, *, qa_passed: bool | None) -> bool:
    """A run passes when the customer is resolved, no reply was blocked by the guard and the
    QA scorecard (when one was scored) passed."""
    return run.outcome == "resolved" and not run.guard_failed and qa_passed is not False
