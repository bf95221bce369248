"""The customer context's audit action names."""

from __future__ import annotations

from enum import StrEnum


class CustomerAudit(StrEnum):
    create = "customer.create"
    card_add = "customer.card_add"
    account_add = "customer.account_add"
    pii_reveal = "pii.reveal"
    email_notify = "customer.email_notify"
