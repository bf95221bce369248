"""Masking of personal data for display: never more than the documented characters."""

from __future__ import annotations

import re

_DIGITS = re.compile(r"\D")


def _alnum(value: str) -> str:
    return "".join(ch for ch in value if ch.isalnum())


def last4(number: str) -> str:
    return _alnum(number)[-4:]


def mask_card(number: str) -> str:
    """``6222021234560128`` → ``6222 **** **** 0128`` (first 4 and last 4 digits)."""
    digits = _DIGITS.sub("", number)
    if len(digits) < 8:
        return "*" * len(digits)
    return f"{digits[:4]} **** **** {digits[-4:]}"


def mask_phone(number: str) -> str:
    """``13812345678`` → ``138****5678``; a +86 / 0086 prefix is kept."""
    raw = number.strip()
    prefix = ""
    digits = _DIGITS.sub("", raw)
    if raw.startswith("+86") or (raw.startswith("0086") and len(digits) == 15):
        prefix, digits = "+86 ", digits[-11:]
    if len(digits) < 7:
        return prefix + "*" * len(digits)
    return f"{prefix}{digits[:3]}{'*' * (len(digits) - 7)}{digits[-4:]}"


def mask_id_number(number: str) -> str:
    """Resident ID ``110105194912310021`` → ``110***********0021`` (first 3, last 4);
    passports ``E12345678`` → ``E1*****78`` (first 2, last 2)."""
    value = _alnum(number).upper()
    if len(value) >= 15:
        return value[:3] + "*" * (len(value) - 7) + value[-4:]
    if len(value) >= 6:
        return value[:2] + "*" * (len(value) - 4) + value[-2:]
    return "*" * len(value)


def mask_email(addr: str) -> str:
    """``zhang.wei@example.com`` → ``z***@example.com``."""
    local, sep, domain = addr.strip().partition("@")
    if not sep:
        return "***"
    return f"{local[:1]}***@{domain}"


def mask_name(name: str) -> str:
    """``王建国`` → ``王**``; ``Wang Jianguo`` → ``Wang J*****``."""
    name = name.strip()
    if not name:
        return ""
    if " " in name:
        first, _, rest = name.partition(" ")
        return f"{first} {rest[:1]}{'*' * (len(rest) - 1)}"
    return name[:1] + "*" * (len(name) - 1)
