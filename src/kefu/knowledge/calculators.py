"""Broker calculators: A-share price limits and fees, margin interest and maintenance ratio,
binary-option payouts (for checking a disputed settlement). Pure and exact: Decimal in,
Decimal out, rounded half-up to 0.01 where money or prices are produced. Every rule number comes
from the rules registry (``content/policies/rules.yaml``, :mod:`kefu.knowledge.rules`), taken
as it stood on the date asked about; the caller hands the registry in."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

from kefu.knowledge.rules import Registry, RuleError, format_value, percent

CENT = Decimal("0.01")
Board = Literal["main", "st", "chinext", "star", "bse"]
#: "st" is a main-board risk-warning share (ST, *ST); ChiNext and STAR risk-warning shares
#: follow their own board's limit, so they are "chinext" and "star" here
BOARDS: tuple[str, ...] = ("main", "st", "chinext", "star", "bse")
#: the registry rules the calculators read (a registry without them is refused at first use)
PRICE_LIMIT_RULES = {b: f"price_limit_{b}" for b in BOARDS}
IPO_RULES = {b: f"ipo_first_days_{'main' if b == 'st' else b}" for b in BOARDS}


class CalcError(ValueError):
    """Bad input, with a message naming the field (its first word). ``key`` and ``params``
    name the refusal for a translated message (``calc.e_<key>`` in the locale files), so the
    desk says it in the agent's language; the English message stays for the API and the CLI."""

    def __init__(self, message: str, key: str = "", **params: object) -> None:
        super().__init__(message)
        self.key = key
        self.params = params

    @property
    def field(self) -> str:
        return str(self.args[0]).split(" ", 1)[0].rstrip(":") if self.args else ""


def to_decimal(value: object, field: str) -> Decimal:
    """Parses a number or a percentage ("0.025%" → 0.00025)."""
    text = str(value).strip().replace(",", "")
    pct = text.endswith("%")
    try:
        d = Decimal(text[:-1] if pct else text)
    except InvalidOperation as exc:
        raise CalcError(f"{field}: {value!r} is not a number", "not_number", value=value) from exc
    if not d.is_finite():
        raise CalcError(f"{field}: {value!r} is not a finite number", "not_number", value=value)
    return d / 100 if pct else d


def percentage(value: object, field: str) -> Decimal:
    """A rate as a fraction, written as people write it in a form: "6.5" and "6.5%" are 6.5%
    (0.065), "85" is 85%; a bare number below 1 ("0.065", "0.85") is already a fraction, as the
    API and the CLI have always taken it."""
    d = to_decimal(value, field)
    if str(value).strip().endswith("%") or d < 1:
        return d
    return d / 100


def _round(d: Decimal) -> Decimal:
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


def _positive(d: Decimal, field: str) -> Decimal:
    if d <= 0:
        raise CalcError(f"{field} must be greater than 0", "positive")
    return d


def _non_negative(d: Decimal, field: str) -> Decimal:
    if d < 0:
        raise CalcError(f"{field} must not be negative", "negative")
    return d


#: the boards as the explanations name them (zh, en)
BOARD_NAMES: dict[str, tuple[str, str]] = {
    "main": ("主板", "Main board"),
    "st": ("主板 ST / *ST 股票", "Main-board ST / *ST shares"),
    "chinext": ("创业板", "ChiNext"),
    "star": ("科创板", "STAR Market"),
    "bse": ("北交所", "Beijing Stock Exchange"),
}


@dataclass(frozen=True)
class PriceLimit:
    upper: Decimal | None
    lower: Decimal | None
    ratio: Decimal | None
    message_zh: str
    message_en: str

    @property
    def message(self) -> str:
        """The explanation in both languages, "中文 / English"."""
        return f"{self.message_zh} / {self.message_en}"

    def to_dict(self) -> dict[str, Any]:
        out = {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}
        return out | {"message": self.message}


def _rule(fn: Any, *args: Any) -> Any:
    """Reads the registry; a date it holds no entry for becomes a CalcError naming the date."""
    try:
        return fn(*args)
    except RuleError as exc:
        raise CalcError(f"date: {exc}", "date_rule") from exc


def limit_ratio(board: str, on: date, rules: Registry) -> Decimal:
    """The daily limit ratio of a board on a date (SSE/SZSE/BSE trading rules, dated in the
    registry)."""
    if board not in BOARDS:
        raise CalcError(f"board must be one of {', '.join(BOARDS)}, not {board!r}", "choice")
    ratio: Decimal = _rule(rules.decimal, PRICE_LIMIT_RULES[board], on)
    return ratio


def price_limit(
    prev_close: Decimal,
    board: str,
    on: date | None = None,
    listing_day: int | None = None,
    *,
    rules: Registry,
) -> PriceLimit:
    """Limit-up and limit-down prices: previous close × (1 ± ratio), rounded half-up to 0.01.
    For the first days of a new listing (``listing_day`` from 1), the regime in force on ``on``:
    no limit for the registry's ``free_days``, or, before the registration reforms, a first-day
    band on the issue price (given as ``prev_close``)."""
    _positive(prev_close, "prev_close")
    on = on or date.today()
    ratio = limit_ratio(board, on, rules)
    if listing_day is not None:
        if listing_day < 1:
            raise CalcError("listing_day counts trading days from 1 (the first day)", "listing_day")
        ipo = _rule(rules.entry, IPO_RULES[board], on)
        free = int(ipo.values.get("free_days", 0))
        if listing_day <= free:
            days_zh = format_value("trading_days", free, "zh")
            days_en = format_value("trading_days", free, "en")
            zh, en = BOARD_NAMES[board]
            return PriceLimit(
                None,
                None,
                None,
                f"{zh}新股上市前{days_zh}不设涨跌幅限制（按 {on.isoformat()} 适用的规则）。",
                f"{en}: a new listing has no daily price limit on its first {days_en} "
                f"(rules in force on {on.isoformat()}).",
            )
        if free == 0 and listing_day == 1 and "first_day_up" in ipo.values:
            up, down = Decimal(ipo.values["first_day_up"]), Decimal(ipo.values["first_day_down"])
            zh, en = BOARD_NAMES[board]
            return PriceLimit(
                _round(prev_close * (1 + up)),
                _round(prev_close * (1 - down)),
                None,
                f"{zh}新股上市首日的价格区间为发行价 +{percent(up)} 至 −{percent(down)}"
                f"（按 {on.isoformat()} 适用的规则）。",
                f"{en}: on its first day a new listing may trade from −{percent(down)} to "
                f"+{percent(up)} of the issue price (rules in force on {on.isoformat()}).",
            )
    upper = _round(prev_close * (1 + ratio))
    lower = _round(prev_close * (1 - ratio))
    zh, en = BOARD_NAMES[board]
    return PriceLimit(
        upper,
        lower,
        ratio,
        f"{zh}的涨跌幅限制为前收盘价的 ±{percent(ratio)}（按 {on.isoformat()} 适用的规则）。",
        f"{en}: the daily price limit is ±{percent(ratio)} of the previous close "
        f"(rules in force on {on.isoformat()}).",
    )


@dataclass(frozen=True)
class Fees:
    commission: Decimal
    transfer_fee: Decimal
    stamp_duty: Decimal
    total: Decimal

    def to_dict(self) -> dict[str, str]:
        return {k: str(v) for k, v in asdict(self).items()}


def trading_fees(
    side: str,
    price: Decimal,
    qty: int,
    commission_rate: Decimal | None = None,
    min_commission: Decimal | None = None,
    on: date | None = None,
    *,
    rules: Registry,
) -> Fees:
    """Fees of one A-share order on ``on`` (default today): commission (with its minimum, the
    demo broker's unless given, never above the regulatory ceiling), transfer fee on both sides
    and stamp duty on sells, each at the rate the registry holds for that date."""
    if side not in ("buy", "sell"):
        raise CalcError(f"side must be buy or sell, not {side!r}", "choice")
    _positive(price, "price")
    if qty <= 0:
        raise CalcError("qty must be a positive number of shares", "positive")
    day = on or date.today()
    if commission_rate is None:
        commission_rate = _rule(rules.decimal, "demo_commission", day, "rate")
    if min_commission is None:
        min_commission = _rule(rules.decimal, "demo_commission", day, "minimum")
    assert commission_rate is not None and min_commission is not None
    _non_negative(commission_rate, "commission_rate")
    cap: Decimal = _rule(rules.decimal, "commission_cap", day)
    if commission_rate > cap:
        raise CalcError(
            f"commission_rate above the {percent(cap)} regulatory cap", "cap", cap=percent(cap)
        )
    _non_negative(min_commission, "min_commission")
    amount = price * qty
    commission = max(_round(amount * commission_rate), _round(min_commission))
    transfer = _round(amount * _rule(rules.decimal, "transfer_fee", day))
    stamp_rate: Decimal = _rule(rules.decimal, "stamp_duty", day, "rate")
    stamp = _round(amount * stamp_rate) if side == "sell" else Decimal("0.00")
    return Fees(commission, transfer, stamp, commission + transfer + stamp)


def margin_interest(amount: Decimal, annual_rate: Decimal, days: int, basis: int = 360) -> Decimal:
    """Financing interest on the days actually used: amount × rate × days ÷ basis. The rate
    and the day basis (360 or 365) are both the customer's contract's."""
    _positive(amount, "amount")
    _non_negative(annual_rate, "annual_rate")
    if annual_rate >= 1:
        raise CalcError("annual_rate must be below 100%: write 6.5 or 6.5%", "rate_too_high")
    if days < 0:
        raise CalcError("days must not be negative", "negative")
    if basis not in (360, 365):
        raise CalcError("basis must be 360 or 365", "choice")
    return _round(amount * annual_rate * days / basis)


@dataclass(frozen=True)
class Maintenance:
    ratio: Decimal
    status: Literal["safe", "warning", "call"]
    message_zh: str
    message_en: str

    @property
    def message(self) -> str:
        """The explanation in both languages, "中文 / English"."""
        return f"{self.message_zh} / {self.message_en}"

    def to_dict(self) -> dict[str, str]:
        return {
            "ratio": str(self.ratio),
            "status": self.status,
            "message": self.message,
            "message_zh": self.message_zh,
            "message_en": self.message_en,
        }


def maintenance_ratio(
    cash: Decimal,
    securities_value: Decimal,
    debt: Decimal,
    interest: Decimal,
    *,
    rules: Registry,
    on: date | None = None,
) -> Maintenance:
    """(cash + securities) ÷ (debt + interest), in percent; status by the demo broker's
    contract lines in the registry (warning line, close-out line and its deadline)."""
    for d, f in (
        (cash, "cash"),
        (securities_value, "securities_value"),
        (debt, "debt"),
        (interest, "interest"),
    ):
        _non_negative(d, f)
    owed = debt + interest
    if owed == 0:
        raise CalcError(
            "debt and interest are 0: there is no maintenance ratio without debt", "no_debt"
        )
    day = on or date.today()
    warning: Decimal = _rule(rules.decimal, "demo_margin_lines", day, "warning_line")
    call: Decimal = _rule(rules.decimal, "demo_margin_lines", day, "call_line")
    deadline = _rule(rules.value, "demo_margin_lines", day, "call_deadline")
    ratio = _round((cash + securities_value) / owed * 100)
    if ratio < call * 100:
        return Maintenance(
            ratio,
            "call",
            f"低于{percent(call)}（平仓线）：须在{format_value('trading_days', deadline, 'zh')}"
            f"内追加担保物或减仓，使比例回到{percent(warning)}以上，否则可能被强制平仓。",
            f"Below {percent(call)} (close-out line): add collateral or reduce positions "
            f"within {format_value('trading_days', deadline, 'en')} to bring the ratio back "
            f"above {percent(warning)}, or positions may be closed out.",
        )
    if ratio < warning * 100:
        return Maintenance(
            ratio,
            "warning",
            f"低于{percent(warning)}警戒线：请关注行情，必要时追加担保物。",
            f"Below the {percent(warning)} warning line: watch the market and add collateral "
            "if needed.",
        )
    return Maintenance(
        ratio,
        "safe",
        f"高于{percent(warning)}警戒线，无需追加担保物。",
        f"Above the {percent(warning)} warning line: no collateral is needed.",
    )


@dataclass(frozen=True)
class Payout:
    returned: Decimal
    profit: Decimal

    def to_dict(self) -> dict[str, str]:
        return {"returned": str(self.returned), "profit": str(self.profit)}


def binary_payout(
    stake: Decimal, payout_rate: Decimal, outcome: str, tie_rule: str = "refund"
) -> Payout:
    """A binary option's settlement: a win returns stake × (1 + rate); a loss returns nothing;
    a tie is refunded or lost by the platform's rule."""
    _positive(stake, "stake")
    if not Decimal(0) < payout_rate <= Decimal(5):
        raise CalcError("payout_rate must be above 0% and at most 500% (e.g. 85)", "payout_range")
    if outcome == "win":
        return Payout(_round(stake * (1 + payout_rate)), _round(stake * payout_rate))
    if outcome == "loss":
        return Payout(Decimal("0.00"), -_round(stake))
    if outcome == "tie":
        if tie_rule == "refund":
            return Payout(_round(stake), Decimal("0.00"))
        if tie_rule == "loss":
            return Payout(Decimal("0.00"), -_round(stake))
        raise CalcError(f"tie_rule must be refund or loss, not {tie_rule!r}", "choice")
    raise CalcError(f"outcome must be win, loss or tie, not {outcome!r}", "choice")


# --- one entry point for the web: calculator name + string parameters → plain result --------

KINDS: tuple[str, ...] = (
    "price-limit",
    "fees",
    "margin-interest",
    "maintenance-ratio",
    "binary-payout",
)


#: longest parameter text a calculator reads (a price or an amount never needs more)
MAX_PARAM_CHARS = 40


def _param(params: Mapping[str, str], name: str, default: str | None = None) -> str:
    value = (params.get(name) or "").strip()
    if len(value) > MAX_PARAM_CHARS:
        raise CalcError(
            f"{name}: at most {MAX_PARAM_CHARS} characters", "too_long", n=MAX_PARAM_CHARS
        )
    if value:
        return value
    if default is None:
        raise CalcError(f"{name} is required", "required")
    return default


def _int(params: Mapping[str, str], name: str, default: str | None = None) -> int:
    text = _param(params, name, default)
    try:
        return int(text)
    except ValueError as exc:
        raise CalcError(f"{name}: {text!r} is not a whole number", "not_whole", value=text) from exc


def _day(params: Mapping[str, str], name: str) -> date | None:
    text = (params.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CalcError(
            f"{name}: {text!r} is not a date (YYYY-MM-DD)", "not_date", value=text
        ) from exc


def compute(kind: str, params: Mapping[str, str], rules: Registry) -> dict[str, Any]:
    """Runs calculator ``kind`` on string parameters named as in the CLI (underscores), as the
    desk panel and the API receive them; bad input raises CalcError naming the field."""

    def num(name: str, default: str | None = None) -> Decimal:
        return to_decimal(_param(params, name, default), name)

    def rate(name: str) -> Decimal:
        return percentage(_param(params, name), name)

    if kind == "price-limit":
        listing = _int(params, "listing_day", "0")
        return price_limit(
            num("prev_close"),
            _param(params, "board", "main"),
            _day(params, "date"),
            listing or None,
            rules=rules,
        ).to_dict()
    if kind == "fees":
        return trading_fees(
            _param(params, "side", "buy"),
            num("price"),
            _int(params, "qty"),
            num("commission_rate") if params.get("commission_rate") else None,
            num("min_commission") if params.get("min_commission") else None,
            _day(params, "date"),
            rules=rules,
        ).to_dict()
    if kind == "margin-interest":
        basis = _rule(rules.value, "demo_margin_rates", None, "day_basis")
        interest = margin_interest(
            num("amount"),
            rate("annual_rate"),
            _int(params, "days"),
            _int(params, "basis", str(basis)),
        )
        return {"interest": str(interest)}
    if kind == "maintenance-ratio":
        return maintenance_ratio(
            num("cash", "0"),
            num("securities_value"),
            num("debt"),
            num("interest", "0"),
            rules=rules,
            on=_day(params, "date"),
        ).to_dict()
    if kind == "binary-payout":
        return binary_payout(
            num("stake"),
            rate("payout_rate"),
            _param(params, "outcome"),
            _param(params, "tie_rule", "refund"),
        ).to_dict()
    raise CalcError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}", "choice")
