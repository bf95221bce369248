"""Loads the demo KYC records, questionnaire results and product requests of
content/demo/kyc.yaml through this context's actions (idempotent: a customer who already has a
KYC record or an assessment keeps it), then runs the daily KYC scan so the demo's expiring
document and lapsing assessment raise their tasks."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path
from typing import Any

import yaml
from sqlalchemy import select
from sqlalchemy.orm import Session

from kefu.core.db import utcnow
from kefu.core.security import User, get_crypto
from kefu.customers import content, kyc, suitability
from kefu.customers.models import Customer, KycRecord, SuitabilityAssessment


def _expiry(spec: Any, today: date) -> date | None:
    if spec == "long_term":
        return None
    return today + timedelta(days=int(spec))


def load(db: Session, path: Path, *, reviewer: User) -> dict[str, int]:
    """``reviewer`` (the demo's compliance officer) verifies or rejects the documents the back
    office recorded."""
    counts = {"kyc": 0, "assessments": 0, "requests": 0}
    if not path.exists():
        return counts
    data = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    ids = [q.id for q in content.questionnaire().questions]
    today = kyc.local_today()
    for n, spec in enumerate(data.get("customers") or [], 1):
        where = f"{path.name}: customers[{n}] ({spec.get('customer')})"
        user = db.scalar(select(User).where(User.username == spec["customer"]))
        cust = db.scalar(select(Customer).where(Customer.user_id == user.id)) if user else None
        if user is None or cust is None:
            raise ValueError(f"{where}: no such demo customer")
        k = spec.get("kyc")
        if k and db.scalar(select(KycRecord.id).where(KycRecord.customer_id == cust.id)) is None:
            expires = _expiry(k["expires_in_days"], today)
            # a document that has lapsed by now was recorded and checked while it was valid
            then = min(today, expires - timedelta(days=1)) if expires else today
            kyc.record_kyc(
                db,
                actor=None,
                customer_id=cust.id,
                doc_type=cust.id_type,
                doc_number=get_crypto().decrypt(cust.id_number_enc),
                doc_expires_on=expires,
                funds_source=k["funds_source"],
                funds_note=str(k.get("funds_note", "")),
                today=then,
            )
            if k.get("status", "verified") in ("verified", "rejected"):
                kyc.review_kyc(
                    db,
                    actor=reviewer,
                    customer_id=cust.id,
                    status=k.get("status", "verified"),
                    note=str(k.get("note", "")),
                    today=then,
                )
            counts["kyc"] += 1
        a = spec.get("assessment")
        has = db.scalar(
            select(SuitabilityAssessment.id).where(SuitabilityAssessment.customer_id == cust.id)
        )
        if a and has is None:
            letters = str(a["answers"])
            if len(letters) != len(ids):
                raise ValueError(f"{where}: answers needs {len(ids)} letters, one a question")
            suitability.submit_assessment(
                db,
                actor=user,
                answers=dict(zip(ids, letters, strict=True)),
                now=utcnow() - timedelta(days=int(a.get("taken_days_ago", 0))),
            )
            counts["assessments"] += 1
            if spec.get("professional"):
                suitability.set_professional(
                    db,
                    actor=reviewer,
                    customer_id=cust.id,
                    professional=True,
                    basis=str(spec["professional"]),
                )
            for r in spec.get("requests") or []:
                row = suitability.request_product(db, actor=user, code=str(r["product"]))
                if r.get("confirm") and row.outcome == "mismatch":
                    suitability.confirm_product(
                        db, actor=user, request_id=row.id, acknowledged=True
                    )
                counts["requests"] += 1
    kyc.scan(db, actor=None)
    db.flush()
    return counts
