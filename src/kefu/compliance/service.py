"""Wiring of the compliance guard into message delivery: screen, decide, audit, report.

Agents: ``block`` is never delivered; ``warn`` needs an explicit confirmation (recorded as an
override); the guard fails closed — if it cannot screen, nothing is sent. Customers are never
blocked: their personal data is masked for staff views, and a message saying that "staff" asked
for a password or moved them off-platform raises a compliance report.
"""

from __future__ import annotations

import logging
from typing import Any, Literal

from sqlalchemy.orm import Session

from kefu.compliance.audit import GuardAudit
from kefu.core import audit
from kefu.core.actions import record_refusal
from kefu.core.errors import Blocked, KefuError, Phrase, ValidationFailed, by_language
from kefu.core.events import emit
from kefu.core.security import Role, User

log = logging.getLogger("kefu.guard")


class GuardUnavailable(KefuError):
    status = 503
    slug = "guard-unavailable"
    title = "Compliance guard unavailable"


class NeedsConfirmation(KefuError):
    status = 409
    slug = "guard-warning"
    title = "Confirm or edit: the compliance guard has a warning"


def screen_text(text: str, role: str) -> dict[str, Any]:
    """The guard's verdict as plain data (also behind POST /api/v1/screen)."""
    from kefu.compliance.content import screen
    from kefu.compliance.guard import GuardInputError

    try:
        who: Literal["agent", "customer"] = "customer" if role == "customer" else "agent"
        result: dict[str, Any] = screen(text, who).to_dict()
        return result
    except GuardInputError as exc:
        said = Phrase(f"compliance_review.errors.input_{exc.key}", str(exc), exc.params)
        raise ValidationFailed(
            key="compliance_review.errors.input",
            params={"message": said},
            fields=[{"field": "text", "message": str(exc)}],
        ) from exc


def _with_suitability(result: dict[str, Any], body: str, level: tuple[str, bool]) -> dict[str, Any]:
    """The guard's result plus a warning for each product pitched above the customer's level
    (the context check the pure guard cannot make: it does not know the customer)."""
    from kefu.customers.suitability import pitch_findings_for

    extra = pitch_findings_for(body, level)
    if not extra:
        return result
    verdict = "warn" if result["verdict"] == "allow" else result["verdict"]
    return {**result, "verdict": verdict, "findings": [*result["findings"], *extra]}


def screen_message(
    db: Session,
    *,
    actor: User,
    case_id: int,
    body: str,
    internal: bool,
    confirm_warning: bool = False,
    suitability: tuple[str, bool] | None = None,
) -> tuple[str, dict[str, Any] | None]:
    """Returns (redacted body, guard record) or raises Blocked / NeedsConfirmation.
    ``suitability`` is the customer's (category, professional) when the desk knows it: a reply
    that pitches a product above that level gets a ``suitability`` warning."""
    role = "customer" if actor.role == Role.customer else "agent"
    if internal:
        # notes never reach a customer; their personal data is masked for staff who may not
        # reveal it (the author reads their own words)
        noted = screen_text(body, "customer")
        pii = [f for f in noted["findings"] if f["category"] == "pii"]
        return noted["redacted"], ({"verdict": "allow", "findings": pii} if pii else None)
    try:
        result = screen_text(body, role)
    except ValidationFailed:
        raise
    except Exception as exc:  # fail closed
        log.exception("guard failed")
        record_refusal(
            db,
            actor_id=actor.id,
            action=GuardAudit.error,
            entity="case",
            entity_id=case_id,
            data={"error": exc.__class__.__name__},
        )
        raise GuardUnavailable(key="compliance_review.errors.guard_unavailable") from exc
    if role == "agent" and suitability is not None:
        result = _with_suitability(result, body, suitability)
    findings = result["findings"]
    record = {"verdict": result["verdict"], "findings": findings}
    if role == "agent" and result["verdict"] == "block":
        # the refusal stays on record although nothing is delivered and the request fails
        record_refusal(
            db,
            actor_id=actor.id,
            action=GuardAudit.block,
            entity="case",
            entity_id=case_id,
            data={"text": result["redacted"], "findings": findings},
        )
        first = findings[0] if findings else {}
        said = first.get("explanation", {})
        raise Blocked(
            key="compliance_review.errors.not_sent",
            params={
                "why": by_language(said.get("zh", "合规规则"), said.get("en", "compliance rule"))
            },
            findings=findings,
            verdict="block",
        )
    if role == "agent" and result["verdict"] == "warn":
        if not confirm_warning:
            record_refusal(
                db,
                actor_id=actor.id,
                action=GuardAudit.warn,
                entity="case",
                entity_id=case_id,
                data={"text": result["redacted"], "findings": findings},
            )
            raise NeedsConfirmation(
                key="compliance_review.errors.confirm_or_edit", findings=findings, verdict="warn"
            )
        audit.record(
            db,
            actor_id=actor.id,
            action=GuardAudit.override,
            entity="case",
            entity_id=case_id,
            data={"text": result["redacted"], "findings": findings},
        )
        record["confirmed"] = True
    if role == "customer" and result.get("report"):
        audit.record(
            db,
            actor_id=actor.id,
            action=GuardAudit.report,
            entity="case",
            entity_id=case_id,
            data={"text": result["redacted"], "findings": findings},
        )
        emit(db, "compliance", {"type": "guard.report", "case_id": case_id})
        record["report"] = True
    return result["redacted"], record if findings else None
