"""The e-mail channel's audit action names."""

from __future__ import annotations

from enum import StrEnum


class MailAudit(StrEnum):
    received = "mail.received"
    queued = "mail.queued"
    sent = "mail.sent"
    retry = "mail.retry"
    failed = "mail.failed"
    bounced = "mail.bounced"
