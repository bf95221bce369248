"""The role-play's judge, composed from the engines that judge real replies: the compliance
guard (``kefu.compliance`` public face, with its policy), the QA scorer's reply signals and its
chat scorecard (``kefu.quality.scorer`` with the quality policy). A trainee's reply is read
exactly as an agent's reply to a real customer would be."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from kefu.academy.roleplay import Persona, Run, Screen
from kefu.academy.roleplays import Scored
from kefu.compliance import service as compliance
from kefu.quality import content as quality_content
from kefu.quality import scorer

SCORECARD = "chat"


@dataclass(frozen=True)
class ServiceJudge:
    policy: scorer.QualityPolicy
    card: scorer.Scorecard

    def signals(self, text: str, lang: str) -> frozenset[str]:
        return scorer.reply_signals(text, lang=lang, policy=self.policy)

    def screen(self, text: str) -> Screen:
        result: dict[str, Any] = compliance.screen_text(text, "agent")
        return Screen(str(result["verdict"]), tuple(result["findings"]))

    def scorecard(self, run: Run, persona: Persona) -> Scored | None:
        turns: list[scorer.Turn] = []
        for t in run.turns:
            turns.append(scorer.Turn(role="customer", text=t.customer))
            turns.append(
                scorer.Turn(
                    role="agent",
                    text=t.reply,
                    guard_verdict=t.guard.verdict,
                    guard_categories=tuple(sorted(t.guard.categories)),
                )
            )
        if run.finished and run.customer:
            turns.append(scorer.Turn(role="customer", text=run.customer))
        conv = scorer.Conversation(
            channel="chat", resolved=run.outcome == "resolved", turns=tuple(turns), lang=run.lang
        )
        ev = scorer.score(conv, self.card, policy=self.policy)
        return Scored(
            score=float(ev.score),
            passed=bool(ev.passed),
            auto_fail=bool(ev.auto_fail),
            sections={k: float(v) for k, v in ev.sections.items()},
            findings=[f.to_dict(run.lang) for f in ev.findings],
        )


def default_judge() -> ServiceJudge:
    """The judge with the policies in force (the quality context caches them per file)."""
    return ServiceJudge(
        policy=quality_content.policy(), card=quality_content.scorecards()[SCORECARD]
    )
