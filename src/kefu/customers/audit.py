"""The customer context's audit action names."""

from __future__ import annotations

from enum import StrEnum


class CustomerAudit(StrEnum):
    create = "customer.create"
    card_add = "customer.card_add"
    account_add = "customer.account_add"
    pii_reveal = "pii.reveal"
    kyc_record = "kyc.record"
    kyc_review = "kyc.review"
    kyc_expire = "kyc.expire"
    task_raise = "customer.task_raise"
    task_close = "customer.task_close"
    assessment = "suitability.assessment"
    assessment_refused = "suitability.assessment_refused"
    professional = "suitability.professional"
    product_request = "suitability.request"
    product_confirm = "suitability.confirm"
    product_confirm_refused = "suitability.confirm_refused"
    trade_settlement = "customer.trade_settlement"
    email_notify = "customer.email_notify"
