"""The AML context's public face: what the shells (web, CLI, demo), other contexts and the
tests may call. Monitoring lives in alerts.py, the officer's work in cases.py, the back-office
feeds in feeds.py; the rules themselves in the engine, monitor.py."""

from __future__ import annotations

from collections.abc import Sequence

import polars as pl
from sqlalchemy.orm import Session

from kefu.aml.alerts import (
    LARGE_VALUE_RULES,
    Outcome,
    check_new,
    current_policy,
    history_frames,
    record_alerts,
    scan_database,
)
from kefu.aml.cases import (
    CASE_FILTERS,
    CaseView,
    add_comment,
    alert_list,
    assign,
    attention,
    case_list,
    case_view,
    close_case,
    compliance_officers,
    escalate,
    export_report,
    snooze_rule,
)
from kefu.aml.content import load_demo
from kefu.aml.feeds import KINDS as FEED_KINDS
from kefu.aml.feeds import MAX_BATCH, FeedResult, ingest, record_model
from kefu.aml.monitor import RULES, Alert, Policy, alerts
from kefu.customers import backoffice

__all__ = [
    "CASE_FILTERS",
    "FEED_KINDS",
    "LARGE_VALUE_RULES",
    "MAX_BATCH",
    "RULES",
    "CaseView",
    "FeedResult",
    "Outcome",
    "add_comment",
    "alert_list",
    "assign",
    "attention",
    "case_list",
    "case_view",
    "check_new",
    "close_case",
    "compliance_officers",
    "current_policy",
    "customer_codes",
    "escalate",
    "export_report",
    "history_frames",
    "import_records",
    "ingest",
    "load_demo",
    "record_alerts",
    "record_model",
    "scan_database",
    "scan_frames",
    "snooze_rule",
]


def scan_frames(customers: pl.DataFrame, txns: pl.DataFrame, policy: Policy) -> list[Alert]:
    """The engine over two frames (the CSV scan)."""
    return alerts(customers, txns, policy)


def customer_codes(db: Session, ids: Sequence[int]) -> dict[int, str]:
    """The back office's customer ids (codes) of Kefu's customer ids."""
    return backoffice.codes_of(db, ids)


def import_records(
    db: Session, *, kind: str, records: Sequence[object], where: Sequence[str]
) -> list[FeedResult]:
    """A whole file in the caller's one transaction, in batches of MAX_BATCH (the command
    line's import: nothing is stored unless every batch is)."""
    out = []
    for i in range(0, len(records), MAX_BATCH):
        out.append(
            ingest(
                db,
                actor=None,
                kind=kind,
                records=records[i : i + MAX_BATCH],  # type: ignore[arg-type]
                where=where[i : i + MAX_BATCH],
            )
        )
    return out
