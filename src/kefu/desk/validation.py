"""Input checks shared by the desk's actions: each error names the field that is wrong.

An error given a message ``key`` (``errors.<key>`` in locales/errors) is said in the language
of whoever reads it, the field by its name in that language (``errors.fields.<field>``); its
English words are the API's ``detail`` for a client that asks for no language."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from kefu.core.config import get_settings
from kefu.core.errors import PayloadTooLarge, Phrase, ValidationFailed


def field_error(
    field: str, message: str, *, key: str | None = None, **params: Any
) -> ValidationFailed:
    """A refused field; with ``key`` the message is looked up (``message`` is its English, kept
    for the field list of the problem details)."""
    if key is None:
        return ValidationFailed(
            f"{field}: {message}", fields=[{"field": field, "message": message}]
        )
    return ValidationFailed(
        key="errors.field",
        params={
            "field": Phrase(f"errors.fields.{field}", field),
            "message": Phrase(f"errors.{key}", message, params),
        },
        fields=[{"field": field, "message": message}],
    )


def as_field(exc: ValidationFailed, field: str) -> ValidationFailed:
    """A check's refusal named after the field it was made for (a note checked as a body)."""
    message = exc.fields[0]["message"] if exc.fields else exc.detail
    if exc.key == "errors.field":
        params = {**exc.params, "field": Phrase(f"errors.fields.{field}", field)}
        return ValidationFailed(
            key="errors.field", params=params, fields=[{"field": field, "message": message}]
        )
    return field_error(field, exc.detail.split(": ", 1)[-1])


def check_choice(field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        choices = ", ".join(allowed)
        raise field_error(
            field,
            f"{value!r} is not one of {choices}",
            key="not_one_of",
            value=repr(value),
            choices=choices,
        )


def check_body(body: str) -> str:
    """A message body: not empty, not over the configured length, no control characters."""
    limit = get_settings().max_message_chars
    if len(body) > limit:
        raise PayloadTooLarge(
            key="errors.too_long",
            params={"n": len(body), "limit": limit},
            limit=limit,
            fields=[{"field": "body", "message": "too long"}],
        )
    if not body.strip():
        raise field_error("body", "must not be empty", key="empty")
    bad = [ch for ch in body if ord(ch) < 32 and ch not in "\n\r\t"]
    if bad:
        code = f"U+{ord(bad[0]):04X}"
        raise field_error(
            "body", f"contains control character {code}", key="control_char", code=code
        )
    return body


def check_subject(subject: str) -> str:
    subject = subject.strip()
    if not subject:
        raise field_error("subject", "must not be empty", key="empty")
    if len(subject) > 200:
        raise field_error("subject", "at most 200 characters", key="at_most_chars", n=200)
    return subject


_TAG = re.compile(r"[\w.\-]{1,32}")


def normalise_tags(raw: Iterable[str], *, field: str = "tags") -> list[str]:
    """Tags as stored: width-folded, trimmed, lower-cased, deduplicated in order. A tag the
    desk cannot store is refused by name, not cut."""
    out: list[str] = []
    for item in raw:
        tag = unicodedata.normalize("NFKC", str(item)).strip().lower()
        if not tag:
            continue
        if not _TAG.fullmatch(tag):
            raise field_error(
                field,
                f"tag {tag[:40]!r}: 1–32 letters, digits, '-', '_' or '.', no spaces",
                key="bad_tag",
                tag=repr(tag[:40]),
            )
        if tag not in out:
            out.append(tag)
    return out
