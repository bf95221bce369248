"""A scenario generator for the AML rules: ordinary background activity with every rule planted
as positives and near misses (one just below each threshold, one just outside each window).

Each planted pattern gets a customer of its own, so what a test expects of it is exact: a
positive must raise its rule for that customer (covering the listed transactions), a near miss
must raise nothing of its rule for that customer, and the background raises nothing at all.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

SH = ZoneInfo("Asia/Shanghai")
D = Decimal


@dataclass(frozen=True)
class Txn:
    txn_id: str
    customer_id: str
    ts: datetime
    kind: str
    amount: Decimal
    method: str | None = None
    counterparty_name: str | None = None
    currency: str = "CNY"


@dataclass(frozen=True)
class Cust:
    customer_id: str
    name: str
    type: str = "individual"
    opened_at: datetime = datetime(2024, 1, 2, tzinfo=UTC)
    risk_level: str = "C3"


@dataclass(frozen=True)
class Expect:
    rule: str
    customer_id: str
    txn_ids: frozenset[str] = frozenset()
    why: str = ""


@dataclass
class Scenario:
    customers: list[Cust] = field(default_factory=list)
    txns: list[Txn] = field(default_factory=list)
    positives: list[Expect] = field(default_factory=list)
    near_misses: list[Expect] = field(default_factory=list)
    background: set[str] = field(default_factory=set)
    _n: int = 0

    def customer(self, name: str, type_: str = "individual", prefix: str = "P") -> str:
        cid = f"{prefix}{len(self.customers):05d}"
        self.customers.append(Cust(cid, name, type_))
        return cid

    def add(self, cid: str, ts: datetime, kind: str, amount: str | Decimal, **kw: str) -> str:
        self._n += 1
        tid = f"T{self._n:08d}"
        self.txns.append(Txn(tid, cid, ts, kind, D(amount), **kw))  # type: ignore[arg-type]
        return tid

    def hit(self, rule: str, cid: str, *ids: str, why: str = "") -> None:
        self.positives.append(Expect(rule, cid, frozenset(ids), why))

    def miss(self, rule: str, cid: str, why: str) -> None:
        self.near_misses.append(Expect(rule, cid, why=why))


def local(y: int, mo: int, d: int, h: int = 10, mi: int = 0) -> datetime:
    """A Shanghai wall-clock time as UTC."""
    return datetime(y, mo, d, h, mi, tzinfo=SH).astimezone(UTC)


def build(n_background: int = 150, weeks: int = 8, seed: int = 7) -> Scenario:
    s = Scenario()
    rng = random.Random(seed)
    _background(s, rng, n_background, weeks)
    _large_cash(s)
    _large_transfer(s)
    _structuring(s)
    _rapid_in_out(s)
    _third_party(s)
    _dormant(s)
    _frequent(s)
    s.txns.sort(key=lambda t: (t.ts, t.txn_id))
    return s


def _background(s: Scenario, rng: random.Random, n: int, weeks: int) -> None:
    """Weekly salary-like deposits from the holder's own bank account, a few trades a day worth
    more than 10% of the deposit, a partial withdrawal at the end of the week."""
    spellings = ("{n}", "  {n} ", "{w}", "{u}")
    for i in range(n):
        en = rng.random() < 0.3
        name = f"Chen Wei{i}" if en else f"陈伟{i}"
        cid = s.customer(name, "entity" if i % 10 == 0 else "individual", prefix="B")
        s.background.add(cid)
        start = local(2026, 1, 5, 9)  # a Monday
        for w in range(weeks):
            monday = start + timedelta(weeks=w)
            dep = D(rng.randrange(5_000, 40_000)) + D(rng.randrange(100)) / 100
            spelled = rng.choice(spellings).format(
                n=name,
                w="".join(chr(ord(c) + 0xFEE0) if "!" <= c <= "~" else c for c in name),
                u=name.upper(),
            )
            s.add(cid, monday, "deposit", dep, method="bank_transfer", counterparty_name=spelled)
            for d in range(5):
                for k in range(rng.randrange(2, 6)):
                    side = "buy" if k % 2 == 0 else "sell"
                    amt = (dep * D(rng.randrange(10, 30)) / 100).quantize(D("0.01"))
                    s.add(cid, monday + timedelta(days=d, hours=1 + k), side, amt)
            s.add(
                cid,
                monday + timedelta(days=4, hours=7),
                "withdrawal",
                (dep / 2).quantize(D("0.01")),
                method="bank_transfer",
                counterparty_name=name,
            )


def _large_cash(s: Scenario) -> None:
    c = s.customer("刘一")
    t = s.add(c, local(2026, 3, 2), "deposit", "50000", method="cash")
    s.hit("large_cash", c, t, why="one cash deposit at the threshold")
    c = s.customer("刘二")
    a = s.add(c, local(2026, 3, 2, 9), "withdrawal", "30000", method="cash")
    b = s.add(c, local(2026, 3, 2, 23, 59), "withdrawal", "20000", method="cash")
    s.hit("large_cash", c, a, b, why="two cash withdrawals summed over one Shanghai day")
    c = s.customer("刘三")
    s.add(c, local(2026, 3, 2), "deposit", "49999.99", method="cash")
    s.miss("large_cash", c, "one cent below the threshold")
    c = s.customer("刘四")
    s.add(c, local(2026, 3, 2, 23, 30), "deposit", "25000", method="cash")
    s.add(c, local(2026, 3, 3, 0, 30), "deposit", "25000", method="cash")
    s.miss("large_cash", c, "split across Shanghai midnight (same UTC day)")
    c = s.customer("刘五")
    s.add(c, local(2026, 3, 2, 9), "deposit", "30000", method="cash")
    s.add(c, local(2026, 3, 2, 15), "withdrawal", "20000", method="cash")
    s.miss("large_cash", c, "two directions are not summed")
    c = s.customer("刘六")
    s.add(c, local(2026, 3, 2, 9), "deposit", "30000", method="cash")
    s.add(c, local(2026, 3, 2, 15), "deposit", "20000", method="bank_transfer")
    s.miss("large_cash", c, "a bank transfer is not cash")


def _large_transfer(s: Scenario) -> None:
    c = s.customer("钱一")
    t = s.add(c, local(2026, 3, 9), "deposit", "500000", method="bank_transfer")
    s.hit("large_transfer", c, t, why="individual at the threshold")
    c = s.customer("钱二")
    a = s.add(c, local(2026, 3, 9, 9), "withdrawal", "300000", method="card")
    b = s.add(c, local(2026, 3, 9, 16), "withdrawal", "200000", method="bank_transfer")
    s.hit("large_transfer", c, a, b, why="individual, summed over the day")
    c = s.customer("钱三")
    s.add(c, local(2026, 3, 9), "deposit", "499999.99", method="bank_transfer")
    s.miss("large_transfer", c, "individual one cent below")
    c = s.customer("钱四有限公司", "entity")
    t = s.add(c, local(2026, 3, 9), "deposit", "2000000", method="bank_transfer")
    s.hit("large_transfer", c, t, why="entity at the threshold")
    c = s.customer("钱五有限公司", "entity")
    s.add(c, local(2026, 3, 9), "deposit", "1999999.99", method="bank_transfer")
    s.miss("large_transfer", c, "entity one cent below")
    c = s.customer("钱六有限公司", "entity")
    s.add(c, local(2026, 3, 9), "deposit", "500000", method="bank_transfer")
    s.miss("large_transfer", c, "an entity is held to the entity threshold")
    c = s.customer("钱七")
    s.add(c, local(2026, 3, 9, 23, 0), "deposit", "300000", method="bank_transfer")
    s.add(c, local(2026, 3, 10, 1, 0), "deposit", "200000", method="bank_transfer")
    s.miss("large_transfer", c, "split across Shanghai midnight")


def _structuring(s: Scenario) -> None:
    c = s.customer("孙一")
    ids = [
        s.add(c, local(2026, 4, 1, 10) + timedelta(days=d), "deposit", "45000", method="cash")
        for d in (0, 3, 6)
    ]
    s.hit("structuring", c, *ids, why="three cash deposits at 90% within 7 days")
    c = s.customer("孙二")
    ids = [
        s.add(c, local(2026, 4, 1, 10) + timedelta(days=d), "withdrawal", "40000", method="cash")
        for d in (0, 1, 2, 3)
    ]
    s.hit("structuring", c, *ids, why="four withdrawals at exactly 80% make one alert")
    c = s.customer("孙三")
    for d in (0, 3, 6):
        at = local(2026, 4, 1, 10) + timedelta(days=d)
        s.add(c, at, "deposit", "39999.99", method="cash")
    s.miss("structuring", c, "one cent below the 80% band")
    c = s.customer("孙四")
    base = local(2026, 4, 1, 10)
    s.add(c, base, "deposit", "45000", method="cash")
    s.add(c, base + timedelta(days=3), "deposit", "45000", method="cash")
    s.add(c, base + timedelta(days=7, minutes=1), "deposit", "45000", method="cash")
    s.miss("structuring", c, "the third a minute outside the 7-day window")
    c = s.customer("孙五")
    s.add(c, base, "deposit", "45000", method="cash")
    s.add(c, base + timedelta(days=1), "deposit", "45000", method="cash")
    s.add(c, base + timedelta(days=6), "withdrawal", "45000", method="cash")
    s.miss("structuring", c, "two deposits and a withdrawal are not one direction")
    c = s.customer("孙六")
    for d in (0, 1, 2):
        s.add(c, base + timedelta(days=d), "deposit", "45000", method="bank_transfer")
    s.miss("structuring", c, "transfers are not cash")


def _rapid_in_out(s: Scenario) -> None:
    t0 = local(2026, 5, 4, 10)

    def plant(name: str, out: str, after: timedelta, turnover: str) -> tuple[str, str, str]:
        c = s.customer(name)
        d = s.add(c, t0, "deposit", "100000", method="bank_transfer", counterparty_name=name)
        if D(turnover):
            s.add(c, t0 + timedelta(hours=5), "buy", turnover)
        w = s.add(c, t0 + after, "withdrawal", out, method="bank_transfer", counterparty_name=name)
        return c, d, w

    c, d, w = plant("周一", "80000", timedelta(hours=71), "9999.99")
    s.hit("rapid_in_out", c, d, w, why="80% out after 71 h, turnover just below 10%")
    c, d, w = plant("周二", "100000", timedelta(hours=72), "0")
    s.hit("rapid_in_out", c, d, w, why="all out at exactly 72 h")
    c, _, _ = plant("周三", "79999.99", timedelta(hours=10), "0")
    s.miss("rapid_in_out", c, "one cent below 80% out")
    c, _, _ = plant("周四", "90000", timedelta(hours=72, minutes=1), "0")
    s.miss("rapid_in_out", c, "out a minute after the 72 h window")
    c, _, _ = plant("周五", "90000", timedelta(hours=20), "10000")
    s.miss("rapid_in_out", c, "turnover at 10% is not below 10%")
    # 80% reached by two withdrawals, the second inside the window
    c = s.customer("周六")
    d = s.add(c, t0, "deposit", "100000", method="bank_transfer", counterparty_name="周六")
    w1 = s.add(c, t0 + timedelta(hours=3), "withdrawal", "50000", method="card")
    w2 = s.add(c, t0 + timedelta(hours=60), "withdrawal", "30000", method="card")
    s.hit("rapid_in_out", c, d, w1, w2, why="two withdrawals reaching 80%")


def _third_party(s: Scenario) -> None:
    c = s.customer("吴一")
    t = s.add(
        c, local(2026, 6, 1), "deposit", "8000", method="bank_transfer", counterparty_name="郑二"
    )
    s.hit("third_party_funding", c, t, why="deposit from another person")
    c = s.customer("Wu Yi Trading Ltd", "entity")
    t = s.add(
        c, local(2026, 6, 1), "withdrawal", "8000", method="card", counterparty_name="Wu Er Ltd"
    )
    s.hit("third_party_funding", c, t, why="withdrawal to another party")
    c = s.customer("John Smith")
    s.add(
        c,
        local(2026, 6, 1),
        "deposit",
        "8000",
        method="bank_transfer",
        counterparty_name="  ＪＯＨＮ　ＳＭＩＴＨ ",
    )
    s.miss("third_party_funding", c, "the holder's name, full-width, upper case, padded")
    c = s.customer("吴三")
    s.add(c, local(2026, 6, 1), "deposit", "8000", method="cash")
    s.miss("third_party_funding", c, "no counterparty name given")


def _dormant(s: Scenario) -> None:
    t0 = local(2025, 6, 2, 10)
    c = s.customer("冯一")
    s.add(c, t0, "buy", "1000")
    t = s.add(c, t0 + timedelta(days=180), "deposit", "100000", method="bank_transfer")
    s.hit("dormant_reactivation", c, t, why="100,000 after exactly 180 days")
    c = s.customer("冯二")
    s.add(c, t0, "deposit", "1000", method="bank_transfer")
    s.add(c, t0 + timedelta(days=200), "withdrawal", "99999.99", method="bank_transfer")
    s.miss("dormant_reactivation", c, "one cent below the amount")
    c = s.customer("冯三")
    s.add(c, t0, "deposit", "1000", method="bank_transfer")
    s.add(c, t0 + timedelta(days=179, hours=23), "deposit", "150000", method="bank_transfer")
    s.miss("dormant_reactivation", c, "an hour short of 180 days")
    c = s.customer("冯四")
    s.add(c, t0 + timedelta(days=400), "deposit", "150000", method="bank_transfer")
    s.miss("dormant_reactivation", c, "a new customer is not dormant")


def _frequent(s: Scenario) -> None:
    c = s.customer("褚一")
    ids = [
        s.add(
            c,
            local(2026, 7, 1, 9, 30) + timedelta(minutes=4 * i),
            "buy" if i % 2 else "sell",
            "100",
        )
        for i in range(50)
    ]
    s.hit("frequent_trading", c, *ids, why="50 trades in one Shanghai day")
    c = s.customer("褚二")
    for i in range(49):
        s.add(c, local(2026, 7, 1, 9, 30) + timedelta(minutes=4 * i), "buy", "100")
    s.miss("frequent_trading", c, "49 trades")
    c = s.customer("褚三")
    for i in range(50):
        at = local(2026, 7, 1, 23, 0) + timedelta(minutes=2 * i)  # 25 before, 25 after midnight
        s.add(c, at, "sell", "100")
    s.miss("frequent_trading", c, "50 trades across Shanghai midnight")


def frames(s: Scenario) -> tuple[object, object]:
    """The scenario as the engine's two input frames (amounts in units)."""
    import polars as pl

    from kefu.aml.monitor import CUSTOMER_SCHEMA, TXN_SCHEMA, to_units

    customers = pl.DataFrame(
        {
            "customer_id": [c.customer_id for c in s.customers],
            "name": [c.name for c in s.customers],
            "type": [c.type for c in s.customers],
        },
        schema=CUSTOMER_SCHEMA,
    )
    txns = pl.DataFrame(
        {
            "txn_id": [t.txn_id for t in s.txns],
            "customer_id": [t.customer_id for t in s.txns],
            "ts": [t.ts for t in s.txns],
            "kind": [t.kind for t in s.txns],
            "amount": [to_units(t.amount) for t in s.txns],
            "method": [t.method for t in s.txns],
            "counterparty_name": [t.counterparty_name for t in s.txns],
        },
        schema=TXN_SCHEMA,
    )
    return customers, txns


def write_csv(s: Scenario, customers_path: object, txns_path: object) -> None:
    """The scenario as the two CSV files of `kefu aml scan`."""
    import csv
    from pathlib import Path

    with Path(str(customers_path)).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(["customer_id", "name", "type", "opened_at", "risk_level"])
        for c in s.customers:
            w.writerow([c.customer_id, c.name, c.type, c.opened_at.isoformat(), c.risk_level])
    with Path(str(txns_path)).open("w", newline="", encoding="utf-8") as f:
        w = csv.writer(f)
        w.writerow(
            [
                "txn_id",
                "customer_id",
                "ts",
                "kind",
                "amount",
                "currency",
                "method",
                "counterparty_name",
            ]
        )
        for t in s.txns:
            w.writerow(
                [
                    t.txn_id,
                    t.customer_id,
                    t.ts.astimezone(SH).isoformat(),
                    t.kind,
                    t.amount,
                    t.currency,
                    t.method or "",
                    t.counterparty_name or "",
                ]
            )
