"""The e-mail engine: reads an incoming message (charsets, RFC 2047 headers, HTML reduced to
text, quoted history trimmed, bounces and auto-replies told apart from people) and composes an
outgoing one with threading headers. Pure: bytes and plain data in, plain data out."""

from __future__ import annotations

import html as html_lib
import re
from dataclasses import dataclass
from datetime import datetime
from email import message_from_bytes, message_from_string, policy
from email.header import Header, decode_header
from email.message import EmailMessage, Message
from email.utils import format_datetime, formataddr, parseaddr

from bs4 import BeautifulSoup
from bs4.element import NavigableString, Tag

__all__ = [
    "Outgoing",
    "ParsedMail",
    "case_number",
    "clean_subject",
    "compose",
    "decode_bytes",
    "html_to_text",
    "message_ids",
    "parse",
    "reply_subject",
    "trim_quoted",
]

#: declared charsets read through a superset or a better codec: Chinese mail labelled GB2312
#: routinely carries GBK characters (and GBK ones GB18030 characters)
CHARSET_ALIASES = {
    "gb2312": "gb18030",
    "gb_2312-80": "gb18030",
    "euc-cn": "gb18030",
    "x-euc-cn": "gb18030",
    "gbk": "gb18030",
    "x-gbk": "gb18030",
    "cp936": "gb18030",
    "ms936": "gb18030",
    "windows-936": "gb18030",
    "big5": "big5hkscs",
    "ks_c_5601-1987": "cp949",
    "us-ascii": "utf-8",
    "ascii": "utf-8",
}


def decode_bytes(data: bytes, charset: str | None) -> str:
    """Text of ``data`` in its declared charset (through the aliases above); an undeclared or
    wrong charset falls back to UTF-8, then GB18030, and never raises."""
    tried: list[str] = []
    declared = (charset or "").strip().strip('"').lower()
    for cs in (CHARSET_ALIASES.get(declared, declared), "utf-8", "gb18030"):
        if not cs or cs in tried:
            continue
        tried.append(cs)
        try:
            return data.decode(cs)
        except (LookupError, UnicodeDecodeError):
            continue
    return data.decode("utf-8", errors="replace")


def _header(msg: Message, name: str) -> str:
    """A header as text: RFC 2047 words decoded through the charset aliases, raw 8-bit bytes
    (which some clients send unencoded) read as UTF-8 or GB18030."""
    raw = msg.get(name)
    if raw is None:
        return ""
    out: list[str] = []
    # raw 8-bit bytes arrive as a Header of charset "unknown-8bit": decode_header returns them
    for chunk, cs in decode_header(raw if isinstance(raw, Header) else str(raw)):
        if isinstance(chunk, bytes):
            out.append(decode_bytes(chunk, None if cs == "unknown-8bit" else cs))
        else:
            out.append(chunk)
    return re.sub(r"\s+", " ", "".join(out)).strip()


_ID = re.compile(r"<([^<>\s]+@[^<>\s]+)>")


def message_ids(value: str) -> tuple[str, ...]:
    """The message ids in a Message-ID / In-Reply-To / References header, without brackets."""
    found = _ID.findall(value)
    if not found and value.strip() and "@" in value and " " not in value.strip():
        found = [value.strip().strip("<>")]
    return tuple(dict.fromkeys(found))


# --- the case number in a subject -------------------------------------------------------------

_CASE_NO = re.compile(r"(?:\[\s*#|工单\s*[#＃]\s*|工單\s*[#＃]\s*|\bcase\s*#\s*)(\d{1,12})", re.I)


def case_number(subject: str) -> int | None:
    """The case a subject names: ``[#41]``, ``[工单 #41]``, ``工单#41``, ``[Case #41]``."""
    m = _CASE_NO.search(subject)
    return int(m.group(1)) if m else None


_REPLY_PREFIX = re.compile(
    r"^\s*(?:(?:re|fw|fwd|aw|sv|答复|回复|回覆|转发|轉寄)\s*[:：]\s*)+", re.I
)
_CASE_TAG = re.compile(r"\s*\[\s*(?:#|工单\s*#|工單\s*#|case\s*#)\s*\d+\s*\]", re.I)


def clean_subject(subject: str) -> str:
    """A subject without reply/forward prefixes ("Re:", "回复：" …) and case tags."""
    return re.sub(r"\s+", " ", _CASE_TAG.sub("", _REPLY_PREFIX.sub("", subject))).strip()


def reply_subject(subject: str, case_id: int, lang: str) -> str:
    """The subject of the desk's mail on a case: the case's subject without earlier reply
    prefixes or case tags, then the case number a reply threads by."""
    base = clean_subject(subject)
    if lang == "en":
        return f"Re: {base} [Case #{case_id}]".replace("  ", " ")
    return f"回复：{base} [工单 #{case_id}]".replace("  ", " ")


# --- HTML to text -------------------------------------------------------------------------------

_DROP = ("script", "style", "head", "title", "meta", "template", "noscript", "object", "iframe")
_BLOCK = (
    "p",
    "div",
    "tr",
    "table",
    "ul",
    "ol",
    "h1",
    "h2",
    "h3",
    "h4",
    "h5",
    "h6",
    "pre",
    "hr",
    "blockquote",
    "section",
    "article",
    "header",
    "footer",
    "address",
)
#: containers mail clients put quoted history in (Gmail, Apple Mail, Thunderbird, Outlook web)
_QUOTE_SELECTORS = "blockquote, div.gmail_quote, div.yahoo_quoted, div#divRplyFwdMsg"


def html_to_text(markup: str) -> str:
    """Readable text of an HTML mail: no markup, scripts or styles, one line per block, list
    items as "- …", and quoted history marked with "> " so :func:`trim_quoted` removes it."""
    soup = BeautifulSoup(markup, "html.parser")
    for tag in soup(list(_DROP)):
        tag.decompose()
    for node in soup.find_all(string=True):
        if isinstance(node, NavigableString) and node.find_parent("pre") is None:
            node.replace_with(re.sub(r"\s+", " ", str(node)))
    for quote in soup.select(_QUOTE_SELECTORS):
        if quote.find_parent(["blockquote"]) is not None or quote.parent is None:
            continue
        text = _block_text(quote)
        quoted = "\n".join("> " + line for line in text.splitlines())
        quote.replace_with(NavigableString("\n" + quoted + "\n"))
    return _tidy(_block_text(soup))


def _block_text(root: Tag) -> str:
    for br in root.find_all("br"):
        br.replace_with(NavigableString("\n"))
    for li in root.find_all("li"):
        li.insert(0, NavigableString("\n- "))
    for td in root.find_all(["td", "th"]):
        td.append(NavigableString(" "))
    for block in root.find_all(list(_BLOCK)):
        block.insert(0, NavigableString("\n"))
        block.append(NavigableString("\n"))
    return root.get_text()


def _tidy(text: str) -> str:
    lines = [line.replace("\xa0", " ").strip() for line in text.splitlines()]
    out: list[str] = []
    for line in lines:
        if not line and (not out or not out[-1]):
            continue
        out.append(line)
    return "\n".join(out).strip()


# --- quoted history -------------------------------------------------------------------------------

_CUT_LINE = [
    re.compile(r"^-- ?$"),  # signature separator
    re.compile(
        r"^[-_=\s]{2,}\s*(?:original message|forwarded message|原始邮件|原始郵件|原邮件|"
        r"转发的邮件|轉寄的郵件)\s*[-_=\s]*$",
        re.I,
    ),
    re.compile(r"^on\b.{0,300}\bwrote\s*:\s*$", re.I),
    re.compile(r"^.{0,300}(?:写道|寫道)\s*[:：]\s*$"),
    re.compile(r"^.{0,300}\bschrieb\s*:\s*$", re.I),
]
_OUTLOOK_FROM = re.compile(r"^\*?\s*(?:from|发件人|發件人|寄件者)\s*\*?\s*[:：]", re.I)
_OUTLOOK_NEXT = re.compile(
    r"^\*?\s*(?:sent|date|to|subject|发送时间|發送時間|时间|日期|寄件日期|收件人|主题|主旨)\s*\*?\s*[:：]",
    re.I,
)


def _cut_here(lines: list[str], i: int) -> bool:
    line = lines[i].strip()
    if any(p.match(line) for p in _CUT_LINE):
        return True
    # "On Mon, 7 Dec 2026 at 13:00, Wang <wang@example.com>" / "wrote:" wrapped onto two lines
    if re.match(r"^on\b", line, re.I) and i + 1 < len(lines):
        joined = line + " " + lines[i + 1].strip()
        if _CUT_LINE[2].match(joined):
            return True
    if re.match(r"^_{8,}$", line):
        return any(_OUTLOOK_FROM.match(x.strip()) for x in lines[i + 1 : i + 3])
    if _OUTLOOK_FROM.match(line):
        return any(_OUTLOOK_NEXT.match(x.strip()) for x in lines[i + 1 : i + 5])
    return False


def trim_quoted(text: str) -> str:
    """The new words of a reply: cut at the first attribution line ("On … wrote:", "在…写道：",
    "-----Original Message-----", an Outlook "From:/发件人:" header block, a "-- " signature),
    lines quoted with ">" dropped. A message that is nothing but quotes is kept whole."""
    lines = text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    kept: list[str] = []
    for i, line in enumerate(lines):
        if _cut_here(lines, i):
            break
        if line.lstrip().startswith(">"):
            continue
        kept.append(line.rstrip())
    trimmed = _tidy("\n".join(kept))
    return trimmed or _tidy(text)


# --- bounces and auto-replies ---------------------------------------------------------------------

_DAEMON = re.compile(r"^(?:mailer-daemon|postmaster|mail-daemon|bounce[s]?)(?:[+@]|$)", re.I)
_BOUNCE_SUBJECT = re.compile(
    r"undeliver(?:able|ed)|delivery status notification|delivery (?:has )?failed|"
    r"mail delivery (?:failed|failure|system|subsystem)|returned mail|failure notice|"
    r"退信|邮件投递失败|無法投遞|无法投递|投递失败|系统退信",
    re.I,
)
_AUTO_SUBJECT = re.compile(
    r"自动回复|自動回覆|自动答复|自動答覆|auto(?:matic)?[- ]?(?:reply|response|answer)|"
    r"autoreply|out of (?:the )?office|\bOOO\b|休假中|不在办公室",
    re.I,
)
_AUTO_PRECEDENCE = {"bulk", "auto_reply", "junk", "list"}


@dataclass(frozen=True)
class ParsedMail:
    """An incoming message as the desk needs it."""

    message_id: str
    in_reply_to: tuple[str, ...]
    references: tuple[str, ...]
    from_addr: str
    from_name: str
    subject: str
    #: the new words (quoted history trimmed); ``full_text`` is the whole body as text
    text: str
    full_text: str
    from_html: bool
    #: "mail" (a person wrote it), "bounce" (a delivery report) or "auto_reply"
    kind: str
    #: why a message is a bounce or an auto-reply (the header or pattern that says so)
    reason: str
    #: for a bounce: the ids of the message that could not be delivered, and the report's status
    bounced_ids: tuple[str, ...]
    bounce_status: str
    language: str

    @property
    def thread_ids(self) -> tuple[str, ...]:
        """Ids that may name a message the desk sent or received, most specific first."""
        return tuple(
            dict.fromkeys((*self.bounced_ids, *self.in_reply_to, *reversed(self.references)))
        )


def _clean(text: str) -> str:
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    return "".join(ch for ch in text if ch in "\n\t" or (ord(ch) >= 32 and ord(ch) != 127))


def _part_text(part: Message) -> str:
    payload = part.get_payload(decode=True)
    if not isinstance(payload, bytes):
        return ""
    return _clean(decode_bytes(payload, part.get_content_charset()))


def _body(msg: Message) -> tuple[str, bool]:
    """The message's text: the first text/plain part that is not an attachment, else the first
    text/html part reduced to text (a forwarded message's text counts when there is no other)."""
    plain: str | None = None
    markup: str | None = None
    for part in msg.walk():
        if part.is_multipart():
            continue
        if part.get_content_disposition() == "attachment":
            continue
        ctype = part.get_content_type()
        if ctype == "text/plain" and plain is None:
            plain = _part_text(part)
        elif ctype == "text/html" and markup is None:
            markup = _part_text(part)
    if plain and plain.strip():
        return plain, False
    if markup:
        return html_to_text(markup), True
    return plain or "", False


def _delivery_report(msg: Message) -> tuple[tuple[str, ...], str]:
    """A DSN's original message ids and status (RFC 3464), or a plain bounce's quoted headers."""
    ids: list[str] = []
    status = ""
    for part in msg.walk():
        ctype = part.get_content_type()
        if ctype == "message/delivery-status":
            for block in part.get_payload() if isinstance(part.get_payload(), list) else []:
                if isinstance(block, Message) and block.get("Status"):
                    diag = str(block.get("Diagnostic-Code", "")).strip()
                    status = f"{block.get('Status', '')} {diag}".strip()
        elif ctype == "message/rfc822":
            for inner in part.get_payload() if isinstance(part.get_payload(), list) else []:
                if isinstance(inner, Message):
                    ids.extend(message_ids(str(inner.get("Message-ID", ""))))
        elif ctype == "text/rfc822-headers":
            headers = message_from_string(_part_text(part))
            ids.extend(message_ids(str(headers.get("Message-ID", ""))))
    if not ids:  # non-standard bounces quote the original headers in their text
        text, _html = _body(msg)
        ids.extend(_ID.findall(" ".join(re.findall(r"(?im)^message-id:\s*(<[^>]+>)", text))))
    return tuple(dict.fromkeys(ids)), status[:300]


def _classify(
    msg: Message, subject: str, sender: str, envelope_from: str | None
) -> tuple[str, str]:
    ctype = msg.get_content_type()
    if ctype == "multipart/report" and "delivery-status" in str(msg.get_param("report-type")):
        return "bounce", "multipart/report; report-type=delivery-status"
    null_sender = envelope_from is not None and envelope_from.strip("<> ") == ""
    if _DAEMON.match(sender):
        return "bounce", f"from {sender.split('@')[0]}"
    if null_sender and _BOUNCE_SUBJECT.search(subject):
        return "bounce", "null sender, delivery-failure subject"
    auto = _header(msg, "Auto-Submitted").lower()
    if auto and auto != "no":
        return "auto_reply", f"Auto-Submitted: {auto}"
    for name in ("X-Autoreply", "X-Autorespond", "X-Autoresponder", "X-Autogenerated"):
        if msg.get(name) is not None:
            return "auto_reply", name
    for name in ("Precedence", "X-Precedence"):
        value = _header(msg, name).lower()
        if value in _AUTO_PRECEDENCE:
            return "auto_reply", f"{name}: {value}"
    if msg.get("List-Id") is not None or msg.get("List-Unsubscribe") is not None:
        return "auto_reply", "mailing list"
    if _BOUNCE_SUBJECT.search(subject) and re.search(r"(?i)daemon|postmaster|system", sender):
        return "bounce", "delivery-failure subject"
    if _AUTO_SUBJECT.search(subject):
        return "auto_reply", "auto-reply subject"
    if null_sender:
        return "auto_reply", "null envelope sender"
    return "mail", ""


def _language(text: str) -> str:
    return "zh" if re.search(r"[\u4e00-\u9fff]", text) else "en"


def parse(raw: bytes, *, envelope_from: str | None = None) -> ParsedMail:
    """Reads one message as received (the bytes of SMTP DATA). ``envelope_from`` is the SMTP
    sender; an empty one ("<>") marks a machine-written message."""
    msg = message_from_bytes(raw, policy=policy.compat32)
    subject = _header(msg, "Subject")
    name, addr = parseaddr(_header(msg, "From"))
    sender = addr.strip().lower()
    full, from_html = _body(msg)
    kind, reason = _classify(msg, subject, sender, envelope_from)
    bounced: tuple[str, ...] = ()
    status = ""
    if kind == "bounce":
        bounced, status = _delivery_report(msg)
    return ParsedMail(
        message_id=next(iter(message_ids(_header(msg, "Message-ID"))), ""),
        in_reply_to=message_ids(_header(msg, "In-Reply-To")),
        references=message_ids(_header(msg, "References")),
        from_addr=sender,
        from_name=name.strip(),
        subject=subject,
        text=trim_quoted(full) if kind == "mail" else _tidy(full),
        full_text=_tidy(full),
        from_html=from_html,
        kind=kind,
        reason=reason,
        bounced_ids=bounced,
        bounce_status=status,
        language=_language(subject + full),
    )


# --- composing ------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Outgoing:
    """One message the desk sends: a reply on an e-mail case or a notification of one."""

    message_id: str
    from_addr: str
    from_name: str
    to_addr: str
    to_name: str
    subject: str
    text: str
    date: datetime
    in_reply_to: str = ""
    references: tuple[str, ...] = ()
    with_html: bool = True
    #: a notification written by the desk, not a person's reply (RFC 3834)
    auto_generated: bool = False


def compose(out: Outgoing) -> EmailMessage:
    """The MIME message: plain text (UTF-8) and, optionally, a simple HTML part built from the
    same text with every character escaped."""
    msg = EmailMessage(policy=policy.SMTP)
    msg["Message-ID"] = f"<{out.message_id}>"
    msg["Date"] = format_datetime(out.date)
    msg["From"] = formataddr((out.from_name, out.from_addr)) if out.from_name else out.from_addr
    msg["To"] = formataddr((out.to_name, out.to_addr)) if out.to_name else out.to_addr
    msg["Subject"] = out.subject
    if out.in_reply_to:
        msg["In-Reply-To"] = f"<{out.in_reply_to}>"
    if out.references:
        msg["References"] = " ".join(f"<{r}>" for r in out.references)
    if out.auto_generated:
        msg["Auto-Submitted"] = "auto-generated"
    msg.set_content(out.text, charset="utf-8")
    if out.with_html:
        paragraphs = "".join(
            "<p>" + "<br>".join(html_lib.escape(line) for line in block.split("\n")) + "</p>"
            for block in re.split(r"\n\s*\n", out.text.strip())
        )
        msg.add_alternative(
            f'<!doctype html><html><body><div lang="zh-CN">{paragraphs}</div></body></html>',
            subtype="html",
            charset="utf-8",
        )
    return msg
