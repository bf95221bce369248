"""The AML context's audit action names."""

from __future__ import annotations

from enum import StrEnum


class AmlAudit(StrEnum):
    feed_batch = "feeds.batch"
    alert_raised = "aml.alert_raised"
    alert_updated = "aml.alert_updated"
    case_opened = "aml.case_opened"
    case_assigned = "aml.case_assigned"
    case_commented = "aml.case_commented"
    case_escalated = "aml.case_escalated"
    case_closed = "aml.case_closed"
    rule_snoozed = "aml.rule_snoozed"
    report_exported = "aml.report_exported"
    scan = "aml.scan"
