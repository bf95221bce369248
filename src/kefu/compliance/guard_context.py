"""Context both ways: whether a hit of the guard is a violation or a warning about one.

A hit is cleared when a negation or warning frame precedes it in its clause ("无法保证", "never"),
a negating character stands right before it (不保本), a negation stands between the words of a
composition ("亏损不会由公司赔付"), a warning frame follows it in its sentence ("…的说法是违规的",
"…is a scam"), reported speech precedes it in its sentence ("如果有人说…", "if anyone tells
you…"), or it is quoted in a message that holds either kind of frame. The impersonation report
of a customer's message (who × what × asked of them) lives here too."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from kefu.compliance.guard_text import (
    _BOUNDARY,
    _CLAUSE_END,
    _NEG_CHARS,
    _SENTENCE_END,
    _Phrases,
    _terms,
    normalise,
)


def _norm_terms(spec: Any) -> list[str]:
    return [normalise(t)[0].strip() for t in _terms(spec)]


def _single_quotes(text: str) -> int:
    """ASCII single quotes used as quotation marks ('包赚', 'read me the code'), not apostrophes
    between two letters (don't, you'll)."""
    count = 0
    for i, ch in enumerate(text):
        if ch == "'" and not (
            0 < i < len(text) - 1 and text[i - 1].isalpha() and text[i + 1].isalpha()
        ):
            count += 1
    return count


class Context:
    """The policy's negations and frames, compiled (small automata: dozens of frames are asked
    for on every hit)."""

    def __init__(self, policy: Mapping[str, Any]) -> None:
        self.window = int(policy.get("negation_window", 12))
        self.window_latin = int(policy.get("negation_window_latin", 32))
        self.negations = sorted(
            {normalise(t)[0].strip() or t for t in _terms(policy.get("negations"))},
            key=len,
            reverse=True,
        )
        ctx = policy.get("context") or {}
        self.frames_after = _norm_terms(ctx.get("after"))
        self.reported = _norm_terms(ctx.get("reported"))
        self.after_window = int(ctx.get("after_window", 40))
        self._negations = _Phrases(self.negations, words=True)
        self._frames_after = _Phrases(self.frames_after)
        self._reported = _Phrases(self.reported)
        self._not_reported = _Phrases(_norm_terms(ctx.get("not_reported")))

    def framed(self, norm: str, start: int, end: int) -> bool:
        """A warning frame after the hit in the same sentence ("…的说法是违规的", "…is a scam"),
        reported speech before it in the sentence ("如果有人说…", "if anyone tells you…"),
        or the hit quoted in a message that corrects or warns."""
        hi = end
        while hi < len(norm) and hi - end < self.after_window and norm[hi] not in _SENTENCE_END:
            hi += 1
        if self._frames_after.any_in(norm, end, hi):
            return True
        lo = start
        while lo > 0 and norm[lo - 1] not in _SENTENCE_END:
            lo -= 1
        before = norm[lo:start]
        if self._reported_in(norm, lo, start):
            return True
        opened = max(before.rfind(q) for q in "“「『‘")
        quoted = opened != -1 and not any(q in before[opened + 1 :] for q in "”」』’")
        if quoted or before.count('"') % 2 or _single_quotes(before) % 2:
            return self._frames_after.any_in(norm) or self._reported_in(norm, 0, len(norm))
        return False

    def _reported_in(self, norm: str, lo: int, hi: int) -> bool:
        """Reported speech in ``norm[lo:hi]``, not inside a phrase of ``not_reported`` (跟您说下:
        the agent telling, not "you said")."""
        spans = self._reported.spans(norm, lo, hi)
        if not spans:
            return False
        unsaid = self._not_reported.spans(norm, max(0, lo - 2), hi)
        return any(not any(a <= s and e <= b for a, b in unsaid) for s, e in spans)

    def negated(self, norm: str, start: int, end: int, latin: bool = False) -> bool:
        """The hit ``norm[start:end]`` is negated or framed as a warning."""
        if self.framed(norm, start, end):
            return True
        if start > 0 and norm[start - 1] in _NEG_CHARS:
            return True  # a negating character right before the words: 不保本, 没跌过 …
        window = self.window_latin if latin else self.window
        lo = start
        while lo > 0 and start - lo < window and norm[lo - 1] not in _BOUNDARY:
            lo -= 1
        return any(pos < start for pos in self._negations.starts(norm, lo, end))

    def negated_between(self, norm: str, spans: list[tuple[int, int]]) -> bool:
        """A negation between the words of a composition, outside the words themselves
        ("亏损不会由公司赔付")."""
        lo = min(a for a, _ in spans)
        hi = max(b for _, b in spans)
        for a in self._negations.starts(norm, lo, hi):
            if any(x <= a < y for x, y in spans):
                continue
            # a negation governs the rest of its clause: it counts when the next word of the
            # composition is in the same clause ("验证码不用输App里，直接告诉我" still asks)
            nxt = min((x for x, _ in spans if x > a), default=hi)
            if not any(ch in _CLAUSE_END for ch in norm[a:nxt]):
                return True
        return False


class Reports:
    """A customer's message says someone posing as staff asked them for a secret, to move off
    the platform or to pay a person (``impersonation:`` in guard.yaml)."""

    def __init__(self, policy: Mapping[str, Any]) -> None:
        imp = policy.get("impersonation") or {}
        self.actors = _norm_terms(imp.get("actors"))
        self.asks = _norm_terms(imp.get("asks"))
        self._actors = _Phrases(self.actors)
        self._asks = _Phrases(self.asks)
        self._claims = _Phrases(_norm_terms(imp.get("claims")))
        self._requests = _Phrases(_norm_terms(imp.get("requests")))
        self.ask_classes = frozenset(imp.get("ask_classes") or [])
        self._legitimate = _Phrases(_norm_terms(imp.get("legitimate")))
        for name in self.ask_classes:
            if name not in (policy.get("classes") or {}):
                raise ValueError(f"guard policy: impersonation names unknown class {name!r}")

    def raised(self, norm: str, class_hits: Mapping[str, list[tuple[int, int]]]) -> bool:
        """Who (actor or claim), what (an ask word or a word of an ask class) and that it was
        asked of them (a request word, or the claim); not when staff sent them to do it
        themselves in the firm's app (``legitimate``)."""
        claim = self._claims.any_in(norm)
        if not (claim or self._actors.any_in(norm)):
            return False
        if not (self._asks.any_in(norm) or any(class_hits.get(name) for name in self.ask_classes)):
            return False
        if not (claim or self._requests.any_in(norm)):
            return False
        return not self._legitimate.any_in(norm)
