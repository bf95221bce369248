"""Input checks shared by the desk's actions: each error names the field that is wrong."""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable

from kefu.core.config import get_settings
from kefu.core.errors import PayloadTooLarge, ValidationFailed


def field_error(field: str, message: str) -> ValidationFailed:
    return ValidationFailed(f"{field}: {message}", fields=[{"field": field, "message": message}])


def check_choice(field: str, value: str, allowed: tuple[str, ...]) -> None:
    if value not in allowed:
        raise field_error(field, f"{value!r} is not one of {', '.join(allowed)}")


def check_body(body: str) -> str:
    """A message body: not empty, not over the configured length, no control characters."""
    limit = get_settings().max_message_chars
    if len(body) > limit:
        raise PayloadTooLarge(
            f"message is {len(body)} characters; the limit is {limit}",
            limit=limit,
            fields=[{"field": "body", "message": "too long"}],
        )
    if not body.strip():
        raise field_error("body", "must not be empty")
    bad = [ch for ch in body if ord(ch) < 32 and ch not in "\n\r\t"]
    if bad:
        raise field_error("body", f"contains control character U+{ord(bad[0]):04X}")
    return body


def check_subject(subject: str) -> str:
    subject = subject.strip()
    if not subject:
        raise field_error("subject", "must not be empty")
    if len(subject) > 200:
        raise field_error("subject", "at most 200 characters")
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
                field, f"tag {tag[:40]!r}: 1–32 letters, digits, '-', '_' or '.', no spaces"
            )
        if tag not in out:
            out.append(tag)
    return out
