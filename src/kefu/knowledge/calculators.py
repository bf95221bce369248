"""Broker calculators: A-share price limits and fees, margin interest and maintenance ratio,
binary-option payouts. Pure and exact: Decimal in, Decimal out, rounded half-up to 0.01 where
money or prices are produced. Each rule cites its source."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import asdict, dataclass
from datetime import date
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Literal

CENT = Decimal("0.01")
Board = Literal["main", "st", "chinext", "star", "bse"]
BOARDS: tuple[str, ...] = ("main", "st", "chinext", "star", "bse")

#: SSE/SZSE rule revision: main-board risk-warning (ST, *ST) limit 5% → 10% from this date
ST_REFORM = date(2025, 7, 7)
#: ChiNext registration reform: 10% → 20% from this date (SZSE, 2020)
CHINEXT_REFORM = date(2020, 8, 24)
#: stamp duty halved to 0.05%, sells only (财政部 税务总局公告2023年第39号)
STAMP_DUTY_CUT = date(2023, 8, 28)
STAMP_DUTY = Decimal("0.0005")
STAMP_DUTY_BEFORE = Decimal("0.001")
#: transfer fee 0.001% of turnover, both sides (中国结算, since 2022-04-29)
TRANSFER_FEE = Decimal("0.00001")
#: demo broker commission: 0.025%, minimum ¥5 per order (broker-specific; at most 0.3%)
COMMISSION = Decimal("0.00025")
MIN_COMMISSION = Decimal("5")
#: demo broker maintenance-ratio thresholds (percent)
WARNING_LINE = Decimal("140")
CALL_LINE = Decimal("130")


class CalcError(ValueError):
    """Bad input, with a message naming the field (its first word)."""

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
        raise CalcError(f"{field}: {value!r} is not a number") from exc
    if not d.is_finite():
        raise CalcError(f"{field}: {value!r} is not a finite number")
    return d / 100 if pct else d


def _round(d: Decimal) -> Decimal:
    return d.quantize(CENT, rounding=ROUND_HALF_UP)


def _positive(d: Decimal, field: str) -> Decimal:
    if d <= 0:
        raise CalcError(f"{field} must be greater than 0")
    return d


def _non_negative(d: Decimal, field: str) -> Decimal:
    if d < 0:
        raise CalcError(f"{field} must not be negative")
    return d


@dataclass(frozen=True)
class PriceLimit:
    upper: Decimal | None
    lower: Decimal | None
    ratio: Decimal | None
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in asdict(self).items()}


def limit_ratio(board: str, on: date) -> Decimal:
    """The daily limit ratio of a board on a date (SSE/SZSE/BSE trading rules)."""
    if board == "main":
        return Decimal("0.10")
    if board == "st":
        return Decimal("0.10") if on >= ST_REFORM else Decimal("0.05")
    if board == "chinext":
        return Decimal("0.20") if on >= CHINEXT_REFORM else Decimal("0.10")
    if board == "star":
        return Decimal("0.20")
    if board == "bse":
        return Decimal("0.30")
    raise CalcError(f"board must be one of {', '.join(BOARDS)}, not {board!r}")


def price_limit(
    prev_close: Decimal, board: str, on: date | None = None, listing_day: int | None = None
) -> PriceLimit:
    """Limit-up and limit-down prices: previous close × (1 ± ratio), rounded half-up to 0.01."""
    _positive(prev_close, "prev_close")
    on = on or date.today()
    ratio = limit_ratio(board, on)
    if listing_day is not None:
        if listing_day < 1:
            raise CalcError("listing_day counts trading days from 1 (the first day)")
        if board == "bse" and listing_day == 1:
            return PriceLimit(
                None,
                None,
                None,
                "北交所新股上市首日不设涨跌幅限制 / BSE: no price limit on the first "
                "trading day of a new listing",
            )
        if board != "bse" and listing_day <= 5:
            return PriceLimit(
                None,
                None,
                None,
                "新股上市前5个交易日不设涨跌幅限制（注册制） / no price limit on the "
                "first 5 trading days of a new listing (registration system)",
            )
    upper = _round(prev_close * (1 + ratio))
    lower = _round(prev_close * (1 - ratio))
    pct = f"{(ratio * 100).normalize()}%"
    return PriceLimit(upper, lower, ratio, f"{board} ±{pct} on {on.isoformat()}")


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
    commission_rate: Decimal = COMMISSION,
    min_commission: Decimal = MIN_COMMISSION,
    on: date | None = None,
) -> Fees:
    """Fees of one A-share order: commission (with its minimum), transfer fee, stamp duty."""
    if side not in ("buy", "sell"):
        raise CalcError(f"side must be buy or sell, not {side!r}")
    _positive(price, "price")
    if qty <= 0:
        raise CalcError("qty must be a positive number of shares")
    _non_negative(commission_rate, "commission_rate")
    if commission_rate > Decimal("0.003"):
        raise CalcError("commission_rate above the 0.3% regulatory cap")
    _non_negative(min_commission, "min_commission")
    amount = price * qty
    commission = max(_round(amount * commission_rate), _round(min_commission))
    transfer = _round(amount * TRANSFER_FEE)
    rate = STAMP_DUTY if (on or date.today()) >= STAMP_DUTY_CUT else STAMP_DUTY_BEFORE
    stamp = _round(amount * rate) if side == "sell" else Decimal("0.00")
    return Fees(commission, transfer, stamp, commission + transfer + stamp)


def margin_interest(amount: Decimal, annual_rate: Decimal, days: int, basis: int = 360) -> Decimal:
    """Financing interest on the days actually used: amount × rate × days ÷ basis."""
    _positive(amount, "amount")
    _non_negative(annual_rate, "annual_rate")
    if annual_rate >= 1:
        raise CalcError("annual_rate looks like a percentage: write 6% or 0.06")
    if days < 0:
        raise CalcError("days must not be negative")
    if basis not in (360, 365):
        raise CalcError("basis must be 360 or 365")
    return _round(amount * annual_rate * days / basis)


@dataclass(frozen=True)
class Maintenance:
    ratio: Decimal
    status: Literal["safe", "warning", "call"]
    message: str

    def to_dict(self) -> dict[str, str]:
        return {"ratio": str(self.ratio), "status": self.status, "message": self.message}


def maintenance_ratio(
    cash: Decimal, securities_value: Decimal, debt: Decimal, interest: Decimal
) -> Maintenance:
    """(cash + securities) ÷ (debt + interest), in percent; status by the demo broker's lines
    (warning below 140%, margin call below 130%)."""
    for d, f in (
        (cash, "cash"),
        (securities_value, "securities_value"),
        (debt, "debt"),
        (interest, "interest"),
    ):
        _non_negative(d, f)
    owed = debt + interest
    if owed == 0:
        raise CalcError("debt and interest are 0: there is no maintenance ratio without debt")
    ratio = _round((cash + securities_value) / owed * 100)
    if ratio < CALL_LINE:
        return Maintenance(
            ratio,
            "call",
            "低于130%：须在2个交易日内补足，否则可能被强制平仓 / "
            "below 130%: top up within 2 trading days or positions may be closed",
        )
    if ratio < WARNING_LINE:
        return Maintenance(ratio, "warning", "低于140%警戒线 / below the 140% warning line")
    return Maintenance(ratio, "safe", "高于140% / above 140%")


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
        raise CalcError("payout_rate must be above 0 (e.g. 0.8 or 80%)")
    if outcome == "win":
        return Payout(_round(stake * (1 + payout_rate)), _round(stake * payout_rate))
    if outcome == "loss":
        return Payout(Decimal("0.00"), -_round(stake))
    if outcome == "tie":
        if tie_rule == "refund":
            return Payout(_round(stake), Decimal("0.00"))
        if tie_rule == "loss":
            return Payout(Decimal("0.00"), -_round(stake))
        raise CalcError(f"tie_rule must be refund or loss, not {tie_rule!r}")
    raise CalcError(f"outcome must be win, loss or tie, not {outcome!r}")


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
        raise CalcError(f"{name}: at most {MAX_PARAM_CHARS} characters")
    if value:
        return value
    if default is None:
        raise CalcError(f"{name} is required")
    return default


def _int(params: Mapping[str, str], name: str, default: str | None = None) -> int:
    text = _param(params, name, default)
    try:
        return int(text)
    except ValueError as exc:
        raise CalcError(f"{name}: {text!r} is not a whole number") from exc


def _day(params: Mapping[str, str], name: str) -> date | None:
    text = (params.get(name) or "").strip()
    if not text:
        return None
    try:
        return date.fromisoformat(text)
    except ValueError as exc:
        raise CalcError(f"{name}: {text!r} is not a date (YYYY-MM-DD)") from exc


def compute(kind: str, params: Mapping[str, str]) -> dict[str, Any]:
    """Runs calculator ``kind`` on string parameters named as in the CLI (underscores), as the
    desk panel and the API receive them; bad input raises CalcError naming the field."""

    def num(name: str, default: str | None = None) -> Decimal:
        return to_decimal(_param(params, name, default), name)

    if kind == "price-limit":
        listing = _int(params, "listing_day", "0")
        return price_limit(
            num("prev_close"),
            _param(params, "board", "main"),
            _day(params, "date"),
            listing or None,
        ).to_dict()
    if kind == "fees":
        return trading_fees(
            _param(params, "side", "buy"),
            num("price"),
            _int(params, "qty"),
            num("commission_rate", str(COMMISSION)),
            num("min_commission", str(MIN_COMMISSION)),
            _day(params, "date"),
        ).to_dict()
    if kind == "margin-interest":
        interest = margin_interest(
            num("amount"), num("annual_rate"), _int(params, "days"), _int(params, "basis", "360")
        )
        return {"interest": str(interest)}
    if kind == "maintenance-ratio":
        return maintenance_ratio(
            num("cash", "0"), num("securities_value"), num("debt"), num("interest", "0")
        ).to_dict()
    if kind == "binary-payout":
        return binary_payout(
            num("stake"),
            num("payout_rate"),
            _param(params, "outcome"),
            _param(params, "tie_rule", "refund"),
        ).to_dict()
    raise CalcError(f"kind must be one of {', '.join(KINDS)}, not {kind!r}")
