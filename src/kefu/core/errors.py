"""Errors as RFC 9457 problem details: a stable ``type``, a human ``detail``, failing fields."""

from __future__ import annotations

from typing import Any

PROBLEM_BASE = "https://kefu.dev/problems/"


class KefuError(Exception):
    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(
        self, detail: str, *, fields: list[dict[str, Any]] | None = None, **extra: Any
    ) -> None:
        super().__init__(detail)
        self.detail = detail
        self.fields = fields or []
        self.extra = extra

    def problem(self, instance: str = "") -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.detail,
        }
        if instance:
            body["instance"] = instance
        if self.fields:
            body["errors"] = self.fields
        body.update(self.extra)
        return body


class BadRequest(KefuError):
    pass


class ValidationFailed(KefuError):
    status = 422
    slug = "validation"
    title = "Invalid input"


class Unauthorized(KefuError):
    status = 401
    slug = "unauthorized"
    title = "Authentication required"


class Forbidden(KefuError):
    status = 403
    slug = "forbidden"
    title = "Not allowed"


class NotFound(KefuError):
    status = 404
    slug = "not-found"
    title = "Not found"


class Conflict(KefuError):
    status = 409
    slug = "conflict"
    title = "Conflict"


class PayloadTooLarge(KefuError):
    status = 413
    slug = "too-large"
    title = "Payload too large"


class TooManyRequests(KefuError):
    status = 429
    slug = "rate-limited"
    title = "Too many requests"


class Blocked(KefuError):
    """The compliance guard refused to deliver a message."""

    status = 422
    slug = "blocked-by-guard"
    title = "Blocked by the compliance guard"
