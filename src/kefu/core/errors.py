"""Errors as RFC 9457 problem details: a stable ``type``, a human ``detail``, failing fields.

An error people read can carry a message ``key`` (of the locale files) and its ``params``
instead of a fixed text: its ``detail`` is then said in the error's own language (``lang``,
English unless the raiser knows the reader's, e.g. the acting agent's), and
:meth:`KefuError.message` says it in any other language, so the problem+json handler and the
consoles answer in the language of the request. A param may be a :class:`Phrase` (a locale key
itself, such as a field's name) or any ``callable(lang)`` (such as a person's name in that
language)."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kefu.core import i18n

PROBLEM_BASE = "https://kefu.dev/problems/"


@dataclass(frozen=True)
class Phrase:
    """A locale key with its params, said in a language when the message is rendered; a key the
    locale files do not have is said as ``fallback``."""

    key: str
    fallback: str = ""
    params: Mapping[str, Any] = field(default_factory=dict)

    def __call__(self, lang: str) -> str:
        text = _say(self.key, lang, self.params)
        return self.fallback if text == self.key and self.fallback else text


def by_language(zh: str, en: str) -> Callable[[str], str]:
    """A param known in both languages now (e.g. a person's name read before the session
    closes), said in the one the message is rendered in."""
    return lambda lang: en if i18n.normalise(lang) == "en" else zh


def _say(key: str, lang: str, params: Mapping[str, Any]) -> str:
    """``key`` in ``lang`` with its params filled in (any name, even ``key`` or ``lang``)."""
    text = i18n.t(key, lang)
    if not params or text == key:
        return text
    return text.format(**{k: (v(lang) if callable(v) else v) for k, v in params.items()})


class KefuError(Exception):
    status = 400
    slug = "bad-request"
    title = "Bad request"

    def __init__(
        self,
        detail: str = "",
        *,
        key: str | None = None,
        params: Mapping[str, Any | Callable[[str], str]] | None = None,
        lang: str = "en",
        fields: list[dict[str, Any]] | None = None,
        **extra: Any,
    ) -> None:
        self.key = key
        self.params = dict(params or {})
        self.lang = lang
        if key and not detail:
            detail = self.message(lang)
        super().__init__(detail)
        self.detail = detail
        self.fields = fields or []
        self.extra = extra

    def message(self, lang: str | None) -> str:
        """What went wrong in ``lang`` (the fixed ``detail`` for an error without a key)."""
        if not self.key or not lang:
            return self.detail
        return _say(self.key, lang, self.params)

    def problem(self, instance: str = "", lang: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {
            "type": PROBLEM_BASE + self.slug,
            "title": self.title,
            "status": self.status,
            "detail": self.message(lang),
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


def refused_field(
    field: str, message: str, *, key: str, names: str = "errors.fields", **params: Any
) -> ValidationFailed:
    """A refused field said by key, as ``<field>: <message>``: the field by its name in the
    reader's language (``<names>.<field>``; its code where the locale files have no name for
    it) and the message by ``key`` with ``params``. ``message`` is the English, kept in the
    problem's field list for programs."""
    return ValidationFailed(
        key="errors.field",
        params={
            "field": Phrase(f"{names}.{field}", field),
            "message": Phrase(key, message, params),
        },
        fields=[{"field": field, "message": message}],
    )


#: pydantic's request-validation error types that have words of their own in the locale files
#: (``errors.input.<type>``, filled with the error's ``ctx``); any other type keeps pydantic's
#: English message
INPUT_TYPES = frozenset(
    {
        "missing",
        "extra_forbidden",
        "int_parsing",
        "int_type",
        "int_from_float",
        "float_parsing",
        "float_type",
        "decimal_parsing",
        "decimal_type",
        "decimal_max_digits",
        "decimal_max_places",
        "bool_parsing",
        "bool_type",
        "string_type",
        "string_too_short",
        "string_too_long",
        "string_pattern_mismatch",
        "too_short",
        "too_long",
        "list_type",
        "dict_type",
        "model_attributes_type",
        "literal_error",
        "enum",
        "greater_than",
        "greater_than_equal",
        "less_than",
        "less_than_equal",
        "multiple_of",
        "date_parsing",
        "date_type",
        "date_from_datetime_parsing",
        "date_from_datetime_inexact",
        "datetime_parsing",
        "datetime_type",
        "datetime_from_date_parsing",
        "json_invalid",
        "json_type",
        "uuid_parsing",
        "url_parsing",
    }
)


def input_message(err: Mapping[str, Any], lang: str | None) -> str:
    """A request-validation error of pydantic (one entry of ``errors()``) in ``lang``: its type
    looked up under ``errors.input.<type>`` with its ``ctx`` as params; pydantic's own English
    for a client that names no language or a type without words of its own."""
    english = str(err.get("msg", "invalid"))
    kind = str(err.get("type", ""))
    if not lang or kind not in INPUT_TYPES:
        return english
    ctx = err.get("ctx") or {}
    try:
        return _say(f"errors.input.{kind}", lang, {k: str(v) for k, v in ctx.items()})
    except (KeyError, IndexError, ValueError):  # a ctx without the words' params
        return english


class Blocked(KefuError):
    """The compliance guard refused to deliver a message."""

    status = 422
    slug = "blocked-by-guard"
    title = "Blocked by the compliance guard"
