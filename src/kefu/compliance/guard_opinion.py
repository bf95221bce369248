"""The learned model's opinion of an agent's message as a finding: review (warns) or block, its
score, the n-grams that contributed most and where they are in the draft."""

from __future__ import annotations

from kefu.compliance.guard_context import Context
from kefu.compliance.guard_text import _LATIN
from kefu.compliance.guard_types import Finding, Scorer

MODEL_BLOCK = "model.block"
MODEL_REVIEW = "model.review"
_MODEL_TEXT = {
    MODEL_BLOCK: (
        "学习模型判定这条消息与违规消息高度相似（未命中具体规则），已拦截；请按规范改写。",
        "The learned model scores this message as a violation with high confidence (no single "
        "rule names it); it is blocked — rewrite it within the rules.",
    ),
    MODEL_REVIEW: (
        "学习模型判定这条消息可能违规，需要复核：确认内容合规后再发送。",
        "The learned model scores this message as a possible violation: it needs review — "
        "send it only if you are sure it is compliant.",
    ),
}
_MODEL_HINT = (
    "只陈述事实与流程，不承诺收益、不给买卖建议、不索要密码验证码、不引导到平台外。",
    "State facts and procedures only: no promised returns, no trade calls, no codes or "
    "passwords, no move off the platform.",
)


def model_finding(
    model: Scorer,
    context: Context,
    text: str,
    norm: str,
    offsets: list[int] | None,
    score: float,
    occurrences: int,
    grounded: bool,
) -> Finding | None:
    """The model's opinion of an agent's message (``score``, over ``occurrences`` n-grams), once
    its negated n-grams are taken out. When the message's class words half-make a blocking rule
    (``grounded``: a trade and an instrument, a request and a secret …) it warns from the review
    threshold (``model.review``) and blocks from the block threshold (``model.block``). Without
    them it may only warn, and only from the higher ``model.alone`` threshold on a message of
    at least ``model.alone_min_ngrams`` n-gram occurrences: a text can score high on style
    alone ("Please wait." scores 2.86 on "it." and "e w"), so a score no rule supports asks a
    reviewer, it never blocks."""
    floor = model.review if grounded else model.alone
    least = model.min_ngrams if grounded else max(model.min_ngrams, model.alone_min_ngrams)
    if score < floor or occurrences < least:
        return None
    # context both ways, as for the rules: an n-gram inside a negation or a warning frame
    # ("不存在稳赚不赔的投资", "…is a scam") does not count towards the score
    top = []
    for c in model.explain(norm, top=8, occurrences=occurrences):
        if all(context.negated(norm, a, b, bool(_LATIN.match(norm[a]))) for a, b in c.spans):
            score -= c.contribution
        else:
            top.append(c)
    if score < floor:
        return None
    rule = MODEL_BLOCK if grounded and score >= model.block else MODEL_REVIEW
    top = top[:5]
    spans = sorted(span for c in top for span in c.spans)
    if offsets is not None:
        spans = [(offsets[a], offsets[b - 1] + 1) for a, b in spans]
    words = tuple(("MODEL", text[a:b], a, b) for a, b in spans)
    start = spans[0][0] if spans else 0
    end = max(b for _, b in spans) if spans else len(text)
    zh, en = _MODEL_TEXT[rule]
    return Finding(
        "model",
        rule,
        start,
        end,
        text[start:end],
        zh,
        en,
        _MODEL_HINT[0],
        _MODEL_HINT[1],
        words=words,
        score=score,
        ngrams=tuple((c.ngram, c.contribution) for c in top),
    )
