"""Size: parsing, lookup by date, bilingual formatting and placeholder rendering all follow one
entry format (kinds, fields, dated entries); kept together so that a new kind is added in one place.

The rules registry: every regulatory or house number the knowledge base, the calculators and
the desk repeat (price limits, fees, lots, hours, margin lines, retention periods, AML
thresholds, suitability bands …), each with dated entries, its source and the day it was last
checked. Pure: :func:`parse_registry` takes the parsed YAML (``content/policies/rules.yaml``,
read by ``knowledge/content.py``) and returns plain data that answers ``value(rule, as_of)``,
formats values in Chinese and English and renders ``{{rule:ID}}`` / ``{{rule:ID.field}}``
placeholders in article text."""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import date
from decimal import Decimal, InvalidOperation
from typing import Any

#: how a field's values are written and shown
KINDS = (
    "percent",  # a fraction: 0.001 → 0.1%
    "cny",  # yuan: 50000 → 5万元 / ¥50,000
    "usd",  # US dollars: 10000 → 1万美元 / US$10,000
    "number",  # a plain number
    "shares",
    "years",
    "months",
    "days",
    "trading_days",
    "working_days",
    "time_range",  # "09:15-09:25" → 9:15–9:25
    "date",
    "text",  # {zh: …, en: …}
)
_DECIMAL_KINDS = {"percent", "cny", "usd", "number"}
_INT_KINDS = {"shares", "years", "months", "days", "trading_days", "working_days"}
_UNITS = {
    "shares": ("股", "share", "shares"),
    "years": ("年", "year", "years"),
    "months": ("个月", "month", "months"),
    "days": ("天", "day", "days"),
    "trading_days": ("个交易日", "trading day", "trading days"),
    "working_days": ("个工作日", "working day", "working days"),
}
_ID = re.compile(r"^[a-z][a-z0-9_]*$")
_TIME_RANGE = re.compile(r"^([01]\d|2[0-3]):[0-5]\d-([01]\d|2[0-3]):[0-5]\d$")
_MONTHS_EN = (
    "January February March April May June July August September October November December"
).split()

#: ``{{rule:ID}}``, ``{{rule:ID.field}}``, optionally ``@prev`` (the entry before the one in
#: force) or ``@YYYY-MM-DD``; the pseudo-field ``since`` is the entry's effective date
PLACEHOLDER = re.compile(
    r"\{\{\s*rule:([a-z][a-z0-9_]*)(?:\.([a-z][a-z0-9_]*))?(?:@(prev|\d{4}-\d{2}-\d{2}))?\s*\}\}"
)
_ANY_PLACEHOLDER = re.compile(r"\{\{\s*rule\s*:[^}]*\}\}|\{\{\s*rule\s*:")


class RuleError(ValueError):
    """A malformed registry (naming the file, the rule and the field) or a reference to a rule,
    a field or a date the registry does not hold."""


@dataclass(frozen=True)
class Text:
    zh: str
    en: str


Value = Decimal | int | str | date | Text


@dataclass(frozen=True)
class Entry:
    #: None only for a rule's first entry: in force before the next one, start not recorded
    effective: date | None
    values: Mapping[str, Value]
    source: str
    checked: date
    note: str = ""


@dataclass(frozen=True)
class Rule:
    id: str
    title_zh: str
    title_en: str
    fields: Mapping[str, str]  # field → kind
    entries: tuple[Entry, ...]  # oldest first
    #: words that name the rule in a sentence (zh and en); a sentence holding one of them and
    #: one of the rule's values typed by hand is what the content test refuses
    terms: tuple[str, ...] = ()

    def title(self, lang: str) -> str:
        return self.title_en if lang.startswith("en") else self.title_zh

    def index_on(self, day: date) -> int:
        """The position of the entry in force on ``day``."""
        found = -1
        for i, e in enumerate(self.entries):
            if e.effective is None or e.effective <= day:
                found = i
        if found < 0:
            first = self.entries[0].effective
            raise RuleError(
                f"rule {self.id!r}: no entry in force on {day.isoformat()} "
                f"(the registry starts on {first.isoformat() if first else '?'})"
            )
        return found

    def entry(self, day: date) -> Entry:
        return self.entries[self.index_on(day)]

    def previous(self, day: date) -> Entry:
        i = self.index_on(day)
        if i == 0:
            raise RuleError(f"rule {self.id!r}: no entry before the one in force on {day}")
        return self.entries[i - 1]


@dataclass(frozen=True)
class Ref:
    rule: str
    field: str | None
    at: str | None  # "prev", an ISO date or None (the entry in force)
    text: str

    @property
    def name(self) -> str:
        return self.rule + (f".{self.field}" if self.field else "")


@dataclass(frozen=True)
class Registry:
    rules: Mapping[str, Rule] = field(default_factory=dict)

    def rule(self, rule_id: str) -> Rule:
        try:
            return self.rules[rule_id]
        except KeyError:
            raise RuleError(f"unknown rule {rule_id!r}") from None

    def entry(self, rule_id: str, as_of: date | None = None) -> Entry:
        return self.rule(rule_id).entry(as_of or date.today())

    def value(self, rule_id: str, as_of: date | None = None, field: str | None = None) -> Value:
        """The value of ``rule_id`` (its ``field``, or its only field) in force on ``as_of``
        (default today). A dotted id (``stamp_duty.rate``) names the field too."""
        if field is None and "." in rule_id:
            rule_id, field = rule_id.split(".", 1)
        rule = self.rule(rule_id)
        return _field_value(rule, rule.entry(as_of or date.today()), field)

    def decimal(self, rule_id: str, as_of: date | None = None, field: str | None = None) -> Decimal:
        v = self.value(rule_id, as_of, field)
        if isinstance(v, bool) or not isinstance(v, (Decimal, int)):
            raise RuleError(f"rule {rule_id!r}: {field or 'value'} is not a number")
        return Decimal(v)

    def resolve(self, ref: Ref, as_of: date | None = None) -> tuple[str, Value]:
        """The kind and value a placeholder stands for."""
        rule = self.rule(ref.rule)
        day = as_of or date.today()
        if ref.at == "prev":
            entry = rule.previous(day)
        elif ref.at:
            entry = rule.entry(date.fromisoformat(ref.at))
        else:
            entry = rule.entry(day)
        if ref.field == "since":
            if entry.effective is None:
                raise RuleError(f"{ref.text}: the start of this entry is not recorded")
            return "date", entry.effective
        name = _field_name(rule, ref.field)
        return rule.fields[name], _field_value(rule, entry, ref.field)

    def render(self, text: str, lang: str, as_of: date | None = None) -> str:
        """``text`` with every placeholder replaced by its value in ``lang``; an unknown rule or
        field, or a malformed placeholder, raises :class:`RuleError` quoting it."""
        for bad in _ANY_PLACEHOLDER.finditer(text):
            if not PLACEHOLDER.fullmatch(bad.group(0)):
                raise RuleError(f"malformed placeholder {bad.group(0)!r}")

        def one(m: re.Match[str]) -> str:
            ref = Ref(m.group(1), m.group(2), m.group(3), m.group(0))
            try:
                kind, value = self.resolve(ref, as_of)
            except RuleError as exc:
                raise RuleError(f"{ref.text}: {exc}") from None
            return format_value(kind, value, lang)

        return PLACEHOLDER.sub(one, text)

    def table(self, as_of: date | None = None, *, history: bool = False) -> list[dict[str, Any]]:
        """One row per rule (the entry in force on ``as_of``) or, with ``history``, per entry."""
        day = as_of or date.today()
        rows: list[dict[str, Any]] = []
        for rule in self.rules.values():
            if history:
                entries = list(rule.entries)
            else:
                try:
                    entries = [rule.entry(day)]
                except RuleError:
                    continue
            for e in entries:
                rows.append(
                    {
                        "rule": rule.id,
                        "title": {"zh": rule.title_zh, "en": rule.title_en},
                        "effective": e.effective.isoformat() if e.effective else None,
                        "values": {
                            f: {
                                "kind": rule.fields[f],
                                "value": _plain_value(v),
                                "zh": format_value(rule.fields[f], v, "zh"),
                                "en": format_value(rule.fields[f], v, "en"),
                            }
                            for f, v in e.values.items()
                        },
                        "source": e.source,
                        "checked": e.checked.isoformat(),
                        **({"note": e.note} if e.note else {}),
                    }
                )
        return rows


def references(text: str) -> list[Ref]:
    return [Ref(m.group(1), m.group(2), m.group(3), m.group(0)) for m in PLACEHOLDER.finditer(text)]


def _field_name(rule: Rule, field: str | None) -> str:
    if field is None:
        if len(rule.fields) != 1:
            raise RuleError(
                f"rule {rule.id!r} has fields {', '.join(rule.fields)}: name one "
                f"({{{{rule:{rule.id}.FIELD}}}})"
            )
        return next(iter(rule.fields))
    if field not in rule.fields:
        raise RuleError(f"rule {rule.id!r} has no field {field!r} ({', '.join(rule.fields)})")
    return field


def _field_value(rule: Rule, entry: Entry, field: str | None) -> Value:
    name = _field_name(rule, field)
    if name not in entry.values:
        when = entry.effective.isoformat() if entry.effective else "the first entry"
        raise RuleError(f"rule {rule.id!r}: the entry of {when} has no {name!r}")
    return entry.values[name]


# --- formatting ------------------------------------------------------------------------------


def plain(d: Decimal) -> str:
    """A decimal without exponent or trailing zeros: 10 → "10" (never "1E+1"), 0.050 → "0.05"."""
    return format(d.normalize(), "f")


def percent(fraction: Decimal) -> str:
    """0.1 → "10%", 0.00001 → "0.001%"."""
    return plain(fraction * 100) + "%"


def _grouped(d: Decimal) -> str:
    return format(d.normalize(), ",f")


def _money_zh(d: Decimal, unit: str) -> str:
    if d >= 10_000 and d % 10_000 == 0:
        return f"{plain(d / 10_000)}万{unit}"
    return f"{plain(d)}{unit}"


def format_value(kind: str, value: Value, lang: str) -> str:
    en = lang.startswith("en")
    if isinstance(value, Text):
        return value.en if en else value.zh
    if isinstance(value, date):
        if en:
            return f"{value.day} {_MONTHS_EN[value.month - 1]} {value.year}"
        return f"{value.year}年{value.month}月{value.day}日"
    if kind == "time_range":
        start, end = (f"{int(t[:2])}:{t[3:]}" for t in str(value).split("-"))
        return f"{start}–{end}"
    if kind in _INT_KINDS:
        zh, one, many = _UNITS[kind]
        n = int(value)
        return (f"{n} {one if n == 1 else many}") if en else f"{n}{zh}"
    d = Decimal(value) if not isinstance(value, Decimal) else value
    if kind == "percent":
        return percent(d)
    if kind == "cny":
        return f"¥{_grouped(d)}" if en else _money_zh(d, "元")
    if kind == "usd":
        return f"US${_grouped(d)}" if en else _money_zh(d, "美元")
    return plain(d)


def _plain_value(v: Value) -> Any:
    if isinstance(v, Text):
        return {"zh": v.zh, "en": v.en}
    if isinstance(v, date):
        return v.isoformat()
    if isinstance(v, Decimal):
        return plain(v)
    return v


# --- hand-typed numbers ----------------------------------------------------------------------


def _number_patterns(kind: str, value: Value) -> list[str]:
    """Regexes matching ``value`` written out by hand in either language."""
    if isinstance(value, Text):
        return []
    if isinstance(value, date):
        return [
            rf"{value.year}\s*年\s*0?{value.month}\s*月\s*0?{value.day}\s*日",
            rf"(?<!\d){value.day}\s+{_MONTHS_EN[value.month - 1]}\s+{value.year}",
            rf"{_MONTHS_EN[value.month - 1]}\s+{value.day},?\s+{value.year}",
            re.escape(value.isoformat()),
        ]
    if kind == "time_range":
        out = []
        for part in str(value).split("-"):
            h, m = part.split(":")
            out.append(rf"(?<![\d:])0?{int(h)}:{m}(?![\d])")
        return out
    b = r"(?<![\d.,])"
    if kind in _INT_KINDS:
        zh, one, many = _UNITS[kind]
        n = int(value)
        return [rf"{b}{n}\s*{re.escape(zh)}", rf"{b}{n}[\s-]+(?:{one}|{many})\b"]
    d = value if isinstance(value, Decimal) else Decimal(value)
    if kind == "percent":
        core = plain(d * 100)
        tail = "0*" if "." in core else r"(?:\.0+)?"
        return [rf"{b}{re.escape(core)}{tail}\s*[%％]"]
    if kind in ("cny", "usd"):
        cores = {re.escape(_grouped(d)), re.escape(plain(d))}
        unit_zh = "元" if kind == "cny" else "美元"
        # an amount with cents (¥5.00) is a worked result, not the rule restated
        pats = [rf"{b}(?:{'|'.join(sorted(cores))})(?![\d.,])\s*{unit_zh}"]
        if d >= 10_000 and d % 10_000 == 0:
            pats.append(rf"{b}{re.escape(plain(d / 10_000))}\s*万")
        sign = r"(?:¥|￥|RMB\s*|CNY\s*|人民币\s*)" if kind == "cny" else r"(?:US\$|USD\s*|\$)"
        pats.append(rf"{sign}(?:{'|'.join(sorted(cores))})(?![\d]|[.,]\d)")
        if kind == "cny":
            pats.append(rf"{b}(?:{'|'.join(sorted(cores))})\s*yuan")
        return pats
    return []


@dataclass(frozen=True)
class HandTyped:
    rule: str
    field: str
    text: str
    line: str


def hand_typed(text: str, registry: Registry) -> list[HandTyped]:
    """Rule values typed by hand in ``text`` (placeholders removed first): a line that names a
    rule (one of its ``terms``) and holds one of its values, current or past, as a number."""
    found: list[HandTyped] = []
    clean = PLACEHOLDER.sub("§", text)
    for line in clean.splitlines():
        for rule in registry.rules.values():
            if not any(_names(t, line) for t in rule.terms):
                continue
            for name, kind, value in _all_values(rule):
                for pat in _number_patterns(kind, value):
                    m = re.search(pat, line, flags=re.IGNORECASE)
                    if m:
                        found.append(HandTyped(rule.id, name, m.group(0), line.strip()))
                        break
    return found


def _names(term: str, line: str) -> bool:
    """A Latin term is a whole word (any case: "ST" is not in "first"); a Chinese one a
    substring."""
    if term.isascii() and term[:1].isalnum():
        return re.search(rf"(?<![A-Za-z]){re.escape(term)}(?![A-Za-z])", line, re.I) is not None
    return term in line


def _all_values(rule: Rule) -> Iterator[tuple[str, str, Value]]:
    for e in rule.entries:
        if e.effective is not None:
            yield "since", "date", e.effective
        for name, v in e.values.items():
            yield name, rule.fields[name], v


# --- parsing ---------------------------------------------------------------------------------


def _date(value: Any, where: str) -> date:
    if isinstance(value, date):
        return value
    try:
        return date.fromisoformat(str(value))
    except ValueError:
        raise RuleError(f"{where}: {value!r} is not a date (YYYY-MM-DD)") from None


def _value(kind: str, raw: Any, where: str) -> Value:
    if raw is None:
        raise RuleError(f"{where}: no value")
    if kind in _DECIMAL_KINDS:
        if isinstance(raw, bool) or isinstance(raw, float):
            raise RuleError(f"{where}: {raw!r} must be read as an exact decimal")
        try:
            d = Decimal(str(raw))
        except InvalidOperation:
            raise RuleError(f"{where}: {raw!r} is not a number") from None
        if not d.is_finite() or d < 0:
            raise RuleError(f"{where}: {raw!r} is not a non-negative number")
        if kind == "percent" and d > 10:
            raise RuleError(f"{where}: {raw!r} — a percent is written as a fraction (0.1 = 10%)")
        return d
    if kind in _INT_KINDS:
        if isinstance(raw, bool) or not isinstance(raw, (int, Decimal)) or int(raw) != raw:
            raise RuleError(f"{where}: {raw!r} is not a whole number")
        return int(raw)
    if kind == "time_range":
        if not isinstance(raw, str) or not _TIME_RANGE.match(raw):
            raise RuleError(f"{where}: {raw!r} is not a time range HH:MM-HH:MM")
        return raw
    if kind == "date":
        return _date(raw, where)
    if kind == "text":
        if not isinstance(raw, Mapping) or not raw.get("zh") or not raw.get("en"):
            raise RuleError(f"{where}: a text value needs zh and en")
        return Text(str(raw["zh"]), str(raw["en"]))
    raise RuleError(f"{where}: unknown kind {kind!r}")  # pragma: no cover - kinds are checked


def parse_registry(data: Any, source: str = "rules.yaml") -> Registry:
    """Validates the parsed YAML of the registry; every error names ``source``, the rule and
    the field. Decimal values must arrive exact (strings, ints or Decimals — never floats)."""
    if not isinstance(data, Mapping) or not isinstance(data.get("rules"), Mapping):
        raise RuleError(f"{source}: expected a mapping with 'rules'")
    rules: dict[str, Rule] = {}
    for rule_id, spec in data["rules"].items():
        where = f"{source}: rule {rule_id!r}"
        if not isinstance(rule_id, str) or not _ID.match(rule_id):
            raise RuleError(f"{where}: ids are lower-case letters, digits and _")
        if not isinstance(spec, Mapping):
            raise RuleError(f"{where}: expected a mapping")
        title = spec.get("title")
        if not isinstance(title, Mapping) or not title.get("zh") or not title.get("en"):
            raise RuleError(f"{where}: field 'title' needs zh and en")
        if "kind" in spec and "fields" in spec:
            raise RuleError(f"{where}: give 'kind' (one value) or 'fields', not both")
        fields = spec.get("fields") or ({"value": spec["kind"]} if "kind" in spec else None)
        if not isinstance(fields, Mapping) or not fields:
            raise RuleError(f"{where}: field 'fields' (or 'kind') is missing")
        for name, kind in fields.items():
            if not isinstance(name, str) or not _ID.match(name) or name == "since":
                raise RuleError(f"{where}: bad field name {name!r}")
            if kind not in KINDS:
                raise RuleError(f"{where}: field {name!r}: kind {kind!r} not one of {KINDS}")
        raw_entries = spec.get("entries")
        if not isinstance(raw_entries, list) or not raw_entries:
            raise RuleError(f"{where}: field 'entries' needs at least one dated entry")
        entries: list[Entry] = []
        for i, raw in enumerate(raw_entries, start=1):
            ew = f"{where}: entry {i}"
            if not isinstance(raw, Mapping):
                raise RuleError(f"{ew}: expected a mapping")
            unknown = set(raw) - {"effective", "value", "values", "source", "checked", "note"}
            if unknown:
                raise RuleError(f"{ew}: unknown field(s) {', '.join(sorted(map(str, unknown)))}")
            if raw.get("effective") is None and i > 1:
                raise RuleError(f"{ew}: field 'effective' is missing (only the first may omit it)")
            effective = (
                _date(raw["effective"], f"{ew}: effective") if raw.get("effective") else None
            )
            for key in ("source", "checked"):
                if not raw.get(key):
                    raise RuleError(f"{ew}: field {key!r} is missing")
            if "value" in raw:
                if len(fields) != 1 or "values" in raw:
                    raise RuleError(f"{ew}: 'value' is for a rule with one field; use 'values'")
                given: Mapping[Any, Any] = {next(iter(fields)): raw["value"]}
            else:
                given = raw.get("values") or {}
                if not isinstance(given, Mapping) or not given:
                    raise RuleError(f"{ew}: field 'values' is missing")
            values: dict[str, Value] = {}
            for name, v in given.items():
                if name not in fields:
                    raise RuleError(f"{ew}: field {name!r} is not declared in 'fields'")
                values[str(name)] = _value(fields[name], v, f"{ew}: field {name!r}")
            if entries and effective is not None:
                last = entries[-1].effective
                if last is not None and effective <= last:
                    raise RuleError(f"{ew}: effective {effective} is not after {last}")
            entries.append(
                Entry(
                    effective,
                    values,
                    str(raw["source"]).strip(),
                    _date(raw["checked"], f"{ew}: checked"),
                    str(raw.get("note") or "").strip(),
                )
            )
        terms = spec.get("terms") or []
        if not isinstance(terms, list) or not all(isinstance(t, str) and t for t in terms):
            raise RuleError(f"{where}: field 'terms' is a list of words")
        rules[rule_id] = Rule(
            rule_id,
            str(title["zh"]),
            str(title["en"]),
            dict(fields),
            tuple(entries),
            tuple(terms),
        )
    return Registry(rules)
