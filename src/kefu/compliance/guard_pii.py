"""Personal data in any layout: resident ID numbers (GB 11643-1999 check character and birth
date), bank cards (Luhn), mainland mobiles, e-mail and passports, written with spaces, dashes,
dots, full-width digits or Chinese numerals; found whole, validated, masked whole."""

from __future__ import annotations

import re
from datetime import date

from kefu.compliance.guard_types import Finding

# --- validators ----------------------------------------------------------------------------

_ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
_ID_CHECK = "10X98765432"


def valid_resident_id(value: str) -> bool:
    """GB 11643-1999: 17 digits + check character, with a real birth date."""
    v = value.upper()
    if not re.fullmatch(r"\d{17}[\dX]", v):
        return False
    try:
        born = date(int(v[6:10]), int(v[10:12]), int(v[12:14]))
    except ValueError:
        return False
    if not date(1900, 1, 1) <= born <= date(2100, 1, 1):
        return False
    total = sum(int(d) * w for d, w in zip(v[:17], _ID_WEIGHTS, strict=True))
    return _ID_CHECK[total % 11] == v[17]


def luhn_ok(digits: str) -> bool:
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = int(ch)
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


# Chinese numerals (and the radio readings 幺 1, 两 2, 拐 7, 洞 0, 勾 9) read as digits, one
# character for one, so a number written "一八七三零二二一零零六" is found and masked whole
_CN_DIGITS = {
    ord(k): v
    for k, v in {
        "零": "0", "〇": "0", "洞": "0", "一": "1", "幺": "1", "二": "2", "两": "2", "三": "3",
        "四": "4", "五": "5", "六": "6", "七": "7", "拐": "7", "八": "8", "九": "9", "勾": "9",
    }.items()
}  # fmt: skip
# one or two separators between digits: spaces, dashes, dots ("370202 19861231 0493",
# "610113-19920103-7558", "180.9840.9564", "1 3 3 8 …")
_S = r"[ \-.·]{0,2}"
_NOT_AFTER_DIGIT = r"(?<![0-9])(?<![0-9][ \-.·])(?<![0-9][ \-.·]{2})"
# the same test made right AFTER a pattern's first character (the digit, or e/g): a pattern that
# starts with a character class lets the regex engine skip ahead to candidates, instead of
# trying three look-behinds at every position of the message
_FIRST_NOT_AFTER_DIGIT = r"(?<![0-9].)(?<![0-9][ \-.·].)(?<![0-9][ \-.·]{2}.)"
_NOT_BEFORE_DIGIT = r"(?![ \-.·]{0,2}[0-9])"
# (kind, pattern, gate): "@" — only a text holding "@" is searched; "run" — only from the first
# run of eleven digits (every ID, card and mobile holds one), one character earlier for "+86";
# "8" — only a text holding eight digits in a row
_PII_PATTERNS: tuple[tuple[str, re.Pattern[str], str], ...] = (
    ("email", re.compile(r"[a-z0-9._%+\-]+@[a-z0-9\-]+(?:\.[a-z0-9\-]+)*\.[a-z]{2,}"), "@"),
    # an 18-character ID is tried before phones and cards, so it is never read as a phone
    (
        "id",
        re.compile(
            rf"[0-9]{_FIRST_NOT_AFTER_DIGIT}(?:{_S}[0-9]){{16}}{_S}[0-9x](?![0-9a-z])(?!{_S}[0-9])"
        ),
        "run",
    ),
    (
        "card",
        re.compile(rf"[0-9]{_FIRST_NOT_AFTER_DIGIT}(?:{_S}[0-9]){{12,18}}" + _NOT_BEFORE_DIGIT),
        "run",
    ),
    (
        "phone",
        re.compile(
            _NOT_AFTER_DIGIT + rf"(?:\+?86{_S})?1{_S}[3-9](?:{_S}[0-9]){{9}}" + _NOT_BEFORE_DIGIT
        ),
        "run",
    ),
    ("passport", re.compile(r"[eg](?<![a-z0-9].)\d{8}(?![a-z0-9])"), "8"),
)
_RUN11 = re.compile(rf"[0-9](?:{_S}[0-9]){{10}}")
_RUN8 = re.compile("[0-9]{8}")
_ANY_DIGIT = re.compile("[0-9]")
_PII_TEXT = {
    "email": ("电子邮箱", "email address"),
    "id": ("居民身份证号", "resident ID number"),
    "card": ("银行卡号", "bank card number"),
    "phone": ("手机号码", "mobile number"),
    "passport": ("护照号码", "passport number"),
}


_CN_CLASS = "[" + "".join(map(chr, _CN_DIGITS)) + "]"
_CN_ANY = re.compile(_CN_CLASS)
_CN_RUN = re.compile(_CN_CLASS + "(?:[ \\-.·]{0,2}" + _CN_CLASS + "){3,}")


def _digit_view(folded: str) -> str:
    """``folded`` with runs of four or more Chinese numerals read as digits (same length); a
    lone 一 after a number ("…8360一直") stays a word."""
    if folded.isascii() or not _CN_ANY.search(folded):
        return folded
    return _CN_RUN.sub(lambda m: m.group().translate(_CN_DIGITS), folded)


def _digits_of(raw: str, keep_x: bool = False) -> str:
    """The digits of ``raw`` as written (full-width digits kept), Chinese numerals as 0–9."""
    out = []
    for ch in raw:
        if ch.isdigit():
            out.append(ch)
        elif ord(ch) in _CN_DIGITS:
            out.append(_CN_DIGITS[ord(ch)])
        elif keep_x and ch in "xXｘＸ":
            out.append(ch)
    return "".join(out)


def _mask(kind: str, raw: str) -> str:
    digits = _digits_of(raw)
    if kind == "card":
        return f"{digits[:4]} **** **** {digits[-4:]}"
    if kind == "phone":
        d = digits[-11:]
        return f"{d[:3]}****{d[-4:]}"
    if kind == "id":
        v = _digits_of(raw, keep_x=True)
        return v[:3] + "*" * (len(v) - 7) + v[-4:]
    if kind == "email":
        local, _, domain = raw.partition("@")
        return f"{local[:1]}***@{domain}"
    return raw[:2] + "*" * (len(raw) - 4) + raw[-2:]


def find_pii(text: str, folded: str) -> tuple[list[Finding], str]:
    """The personal data in ``text`` (``folded``: the same text folded, same length) as findings
    naming each number masked, and the text with every number masked whole."""
    folded = _digit_view(folded)
    if "@" not in folded and not _ANY_DIGIT.search(folded):
        return [], text  # no digit and no "@": nothing to find (most messages)
    findings: list[Finding] = []
    spans: list[tuple[int, int, str]] = []
    run = _RUN11.search(folded)
    eight = run is not None or _RUN8.search(folded) is not None
    for kind, pattern, gate in _PII_PATTERNS:
        if (
            (gate == "@" and "@" not in folded)
            or (gate == "run" and run is None)
            or (gate == "8" and not eight)
        ):
            continue
        start = max(0, run.start() - 1) if gate == "run" and run else 0
        for m in pattern.finditer(folded, start):
            a, b = m.span()
            if any(x < b and a < y for x, y, _ in spans):
                continue
            raw = m.group()
            digits = re.sub(r"[^0-9]", "", raw)
            if kind == "id" and not valid_resident_id(re.sub(r"[^0-9x]", "", raw).upper()):
                continue
            if kind == "card" and not (
                13 <= len(digits) <= 19 and luhn_ok(digits) and digits[0] in "3456"
            ):
                continue
            spans.append((a, b, kind))
            zh, en = _PII_TEXT[kind]
            findings.append(
                Finding(
                    "pii",
                    f"pii.{kind}",
                    a,
                    b,
                    # the finding travels with the message (REST, socket, audit): it names the
                    # number masked, never in full; the offsets locate it in the text
                    _mask(kind, text[a:b]),
                    f"消息中含有完整的{zh}，个人信息须脱敏（《个人信息保护法》第51条）。",
                    f"The message contains a full {en}; personal data must be masked "
                    "(PIPL art. 51).",
                    "只引用后四位，例如「尾号0128」。"
                    if kind != "email"
                    else "请勿在消息中发送完整邮箱。",
                    "Quote the last four digits only, e.g. 'ending 0128'."
                    if kind != "email"
                    else "Do not send the full email address.",
                )
            )
    redacted = text
    for a, b, kind in sorted(spans, reverse=True):
        redacted = redacted[:a] + _mask(kind, text[a:b]) + redacted[b:]
    return findings, redacted
