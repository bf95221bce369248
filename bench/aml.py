"""AML monitoring benchmark: the batch scan of N generated transactions (default 10,000,000) by
Kefu's Polars engine beside a straightforward pandas implementation of the same seven rules
(the baseline), each in a fresh process so its peak memory is its own; then the streaming
figure: p50/p99 latency per transaction stored through the feed with its monitoring check, on
an SQLite file database.

    PYTHONPATH=src python bench/aml.py                 # 10M rows, pandas baseline, streaming
    PYTHONPATH=src python bench/aml.py --rows 1000000 --stream 500
    PYTHONPATH=src python bench/aml.py --no-baseline   # the engine only

The two implementations must agree on the number of alerts per rule; the table says so.
Run it on a quiet machine: it measures wall time.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

SH = "Asia/Shanghai"
UNIT = 10_000
START = datetime(2025, 1, 1, tzinfo=UTC)


# --- the data ----------------------------------------------------------------------------------


def generate(rows: int, seed: int = 20261207) -> tuple[Any, Any]:
    """Customers and their transactions over a year, in time order (the feed's order): ~100
    transactions a customer, 18% deposits and withdrawals (10% of them cash, 1% paid by someone
    else), the rest buys and sells; a few customers with a burst of trading on one day."""
    import polars as pl

    rng = np.random.default_rng(seed)
    n_cust = max(1_000, rows // 100)
    burst_cust = rng.choice(n_cust, size=max(1, n_cust // 2000), replace=False)
    burst_rows = len(burst_cust) * 55
    base = rows - burst_rows
    cust = rng.integers(0, n_cust, base)
    ts = rng.integers(0, 365 * 86_400_000_000, base)
    kind = rng.choice(4, size=base, p=[0.10, 0.08, 0.41, 0.41])
    # bursts: 55 trades within ~4.5 hours on one day
    b_cust = np.repeat(burst_cust, 55)
    b_ts = np.repeat(rng.integers(0, 364, len(burst_cust)) * 86_400_000_000 + 3_600_000_000 * 2, 55)
    b_ts = b_ts + np.tile(np.arange(55) * 300_000_000, len(burst_cust))
    cust = np.concatenate([cust, b_cust])
    ts = np.concatenate([ts, b_ts])
    kind = np.concatenate([kind, rng.choice([2, 3], size=burst_rows)])
    is_fund = kind < 2
    amount_yuan = np.where(
        is_fund,
        rng.lognormal(mean=9.6, sigma=1.1, size=len(kind)),
        rng.lognormal(mean=9.0, sigma=1.0, size=len(kind)),
    )
    amount = (np.round(amount_yuan, 2) * 100).astype(np.int64) * 100  # whole fen, in units
    method = np.where(is_fund, rng.choice(3, size=len(kind), p=[0.10, 0.70, 0.20]), -1)
    other = is_fund & (rng.random(len(kind)) < 0.01)
    order = np.argsort(ts, kind="stable")
    kinds = pl.Series(["deposit", "withdrawal", "buy", "sell"])
    methods = pl.Series(["cash", "bank_transfer", "card"])
    c = pl.Series("c", cust[order])
    txns = pl.DataFrame(
        {
            "txn_id": pl.Series(np.arange(len(order))).cast(pl.String),
            "customer_id": ("C" + c.cast(pl.String)),
            "ts": pl.Series(START.timestamp() * 1e6 + ts[order], dtype=pl.Int64).cast(
                pl.Datetime("us", "UTC")
            ),
            "kind": kinds.gather(kind[order]),
            "amount": amount[order],
            "method": pl.Series(method[order]).replace_strict(
                {0: "cash", 1: "bank_transfer", 2: "card"}, default=None, return_dtype=pl.String
            ),
            "holder": "客户" + c.cast(pl.String),
            "other": pl.Series(other[order]),
            "is_fund": pl.Series(is_fund[order]),
        }
    ).select(
        "txn_id",
        "customer_id",
        "ts",
        "kind",
        "amount",
        "method",
        counterparty_name=pl.when(~pl.col("is_fund"))
        .then(None)
        .when(pl.col("other"))
        .then(pl.lit("某某他人"))
        .otherwise(pl.col("holder")),
    )
    ids = np.arange(n_cust)
    customers = pl.DataFrame(
        {
            "customer_id": "C" + pl.Series(ids).cast(pl.String),
            "name": "客户" + pl.Series(ids).cast(pl.String),
            "type": np.where(ids % 20 == 0, "entity", "individual"),
        }
    )
    _ = methods
    return customers, txns


# --- the baseline: the seven rules in straightforward pandas -----------------------------------


def pandas_scan(c: Any, t: Any, p: Any) -> dict[str, int]:
    """The same rules with pandas groupby / rolling / merge_asof; alert counts per rule."""
    import pandas as pd

    out: dict[str, int] = {}
    t = t.copy()
    t["day"] = t["ts"].dt.tz_convert(SH).dt.date
    funds = t[t["kind"].isin(["deposit", "withdrawal"])]
    cash = funds[funds["method"] == "cash"]
    g = cash.groupby(["customer_id", "kind", "day"])["amount"].sum()
    out["large_cash"] = int((g >= p.cash_threshold).sum())
    moved = funds[funds["method"] != "cash"]
    g = moved.groupby(["customer_id", "kind", "day"])["amount"].sum().reset_index()
    g = g.merge(c[["customer_id", "type"]], on="customer_id", how="left")
    thr = np.where(
        g["type"] == "entity", p.transfer_threshold_entity, p.transfer_threshold_individual
    )
    out["large_transfer"] = int((g["amount"] >= thr).sum())
    # structuring: windows (t − 7d, t] of band cash transactions, overlapping windows merged
    low, high = p.structuring_band
    band = cash[(cash["amount"] >= low) & (cash["amount"] < high)].sort_values(
        ["customer_id", "kind", "ts"]
    )
    week = np.timedelta64(int(p.structuring_window.total_seconds() * 1e6), "us")
    episodes = 0
    for _, grp in band.groupby(["customer_id", "kind"], sort=False):
        ts = grp["ts"].to_numpy(dtype="datetime64[us]")
        first = np.searchsorted(ts, ts - week, side="right")
        n = np.arange(len(ts)) - first + 1
        ok = n >= p.structuring_min_count
        if ok.any():
            starts, ends = ts[first[ok]], ts[ok]
            episodes += 1 + int((starts[1:] > np.maximum.accumulate(ends)[:-1]).sum())
    out["structuring"] = episodes
    # rapid in and out: each deposit against the withdrawals of the next 72 hours
    t = t.sort_values(["customer_id", "ts"], kind="stable")
    t["w"] = np.where(t["kind"] == "withdrawal", t["amount"], 0)
    t["tr"] = np.where(t["kind"].isin(["buy", "sell"]), t["amount"], 0)
    t["ct"] = t.groupby("customer_id")["tr"].cumsum()
    dep = t[t["kind"] == "deposit"][["customer_id", "txn_id", "ts", "amount", "ct"]]
    wd = t[t["kind"] == "withdrawal"][["customer_id", "ts", "amount", "ct"]]
    pairs = dep.merge(wd, on="customer_id", suffixes=("", "_w"))
    pairs = pairs[(pairs["ts_w"] > pairs["ts"]) & (pairs["ts_w"] - pairs["ts"] <= p.rapid_window)]
    pairs = pairs.sort_values(["txn_id", "ts_w"])
    pairs["out"] = pairs.groupby("txn_id")["amount_w"].cumsum()
    r = p.rapid_out_ratio
    hit = pairs[pairs["out"] * r.denominator >= pairs["amount"] * r.numerator]
    hit = hit.groupby("txn_id").head(1)
    q = p.rapid_turnover_ratio
    turnover = hit["ct_w"] - hit["ct"]
    out["rapid_in_out"] = int((turnover * q.denominator < hit["amount"] * q.numerator).sum())
    # third-party funds
    names = c.set_index("customer_id")["name"]

    def norm(s: Any) -> Any:
        return s.str.normalize("NFKC").str.lower().str.replace(r"\s+", " ", regex=True).str.strip()

    f = funds[funds["counterparty_name"].notna()]
    cp = norm(f["counterparty_name"])
    holder = norm(f["customer_id"].map(names))
    out["third_party_funding"] = int(((cp != "") & (cp != holder)).sum())
    # dormant reactivation
    prev = t.groupby("customer_id")["ts"].shift(1)
    big = t["kind"].isin(["deposit", "withdrawal"]) & (t["amount"] >= p.dormant_threshold)
    out["dormant_reactivation"] = int(
        (big & prev.notna() & (t["ts"] - prev >= p.dormant_gap)).sum()
    )
    trades = t[t["kind"].isin(["buy", "sell"])]
    n = trades.groupby(["customer_id", "day"]).size()
    out["frequent_trading"] = int((n >= p.frequent_min_count).sum())
    _ = pd
    return out


# --- one measured run per process ----------------------------------------------------------------


def _rss_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _to_pandas(df: Any) -> Any:
    """A pandas frame of numpy columns (no pyarrow here); times as UTC-aware datetimes."""
    import pandas as pd

    out = pd.DataFrame({c: df[c].to_numpy() for c in df.columns})
    if "ts" in out:
        out["ts"] = pd.to_datetime(out["ts"]).dt.tz_localize("UTC")
    return out


def run_one(which: str, data: Path) -> dict[str, Any]:
    """Loads the data, then measures one implementation: wall time and the peak memory it added
    above the loaded data."""
    import polars as pl

    from kefu.aml.content import load_policy
    from kefu.aml.monitor import alert_frame

    policy = load_policy()
    if which == "polars":
        c, t = pl.read_parquet(data / "c.parquet"), pl.read_parquet(data / "t.parquet")
        loaded = _rss_mb()
        t0 = time.perf_counter()
        df = alert_frame(c, t, policy)
        secs = time.perf_counter() - t0
        counts = {r: n for r, n in df.group_by("rule").len().iter_rows()}
    else:
        c, t = (_to_pandas(pl.read_parquet(data / f"{n}.parquet")) for n in ("c", "t"))
        loaded = _rss_mb()
        t0 = time.perf_counter()
        counts = pandas_scan(c, t, policy)
        secs = time.perf_counter() - t0
    return {
        "rows": len(t),
        "seconds": secs,
        "loaded_mb": loaded,
        "peak_mb": _rss_mb(),
        "counts": {k: v for k, v in sorted(counts.items()) if v},
    }


def batch(rows: int, baseline: bool) -> None:
    import polars as pl

    print(f"generating {rows:,} transactions …", flush=True)
    c, t = generate(rows)
    with tempfile.TemporaryDirectory(prefix="kefu-aml-bench-") as tmp:
        data = Path(tmp)
        c.write_parquet(data / "c.parquet")
        t.write_parquet(data / "t.parquet")
        del c, t
        results = {}
        for which in ("polars", "pandas") if baseline else ("polars",):
            print(f"running {which} …", flush=True)
            proc = subprocess.run(
                [sys.executable, __file__, "--one", which, "--data", str(data)],
                capture_output=True,
                text=True,
                env={**os.environ, "POLARS_MAX_THREADS": os.environ.get("POLARS_MAX_THREADS", "2")},
            )
            if proc.returncode != 0:
                raise SystemExit(proc.stderr[-3000:])
            results[which] = json.loads(proc.stdout.strip().splitlines()[-1])
    print()
    print(
        f"{'implementation':<16}{'rows':>12}{'seconds':>10}{'rows/s':>14}{'peak MB':>10}{'+MB':>8}"
    )
    for which, r in results.items():
        print(
            f"{which:<16}{r['rows']:>12,}{r['seconds']:>10.2f}{r['rows'] / r['seconds']:>14,.0f}"
            f"{r['peak_mb']:>10.0f}{r['peak_mb'] - r['loaded_mb']:>8.0f}"
        )
    if "pandas" in results:
        speed = results["pandas"]["seconds"] / results["polars"]["seconds"]
        same = results["pandas"]["counts"] == results["polars"]["counts"]
        print(
            f"\nPolars engine vs pandas baseline: {speed:.1f}× faster; "
            f"alert counts per rule {'agree' if same else 'DIFFER'}"
        )
        if not same:
            print("  polars:", results["polars"]["counts"])
            print("  pandas:", results["pandas"]["counts"])
    print("alerts per rule:", results["polars"]["counts"])
    _ = pl


# --- streaming: one transaction at a time through the feed, with the database ----------------


def streaming(count: int, history: int) -> None:
    """Stores ``count`` transfers one by one through the feed (each its own transaction: stored,
    checked against the customer's window read back from the database, committed) on an SQLite
    file holding ``history`` earlier transactions; reports latency percentiles."""
    os.environ.setdefault("KEFU_SECRET_KEY", "bench-secret")
    import kefu.models  # noqa: F401
    from kefu.aml import service as aml
    from kefu.aml.feeds import CustomerRecord, TradeRecord, TransferRecord
    from kefu.core.db import Database
    from kefu.core.migrate import upgrade

    rng = np.random.default_rng(7)
    n_cust = 200
    with tempfile.TemporaryDirectory(prefix="kefu-aml-stream-") as tmp:
        url = f"sqlite:///{tmp}/kefu.db"
        upgrade(url)
        db = Database(url)
        policy = aml.current_policy()
        with db.session() as s:
            aml.ingest(
                s,
                actor=None,
                kind="customers",
                records=[
                    CustomerRecord(customer_id=f"S{i}", name=f"客户{i}", type="individual")
                    for i in range(n_cust)
                ],
            )
        t0 = datetime(2026, 11, 1, tzinfo=UTC)
        span = 30 * 86_400
        trades = [
            TradeRecord(
                trade_id=f"H{i}",
                customer_id=f"S{i % n_cust}",
                ts=t0 + timedelta(seconds=int(rng.integers(0, span))),
                side="buy" if i % 2 else "sell",
                symbol="600519",
                qty=100,
                price="12.5",
            )
            for i in range(history)
        ]
        for i in range(0, len(trades), 10_000):
            with db.session() as s:
                aml.ingest(s, actor=None, kind="trades", records=trades[i : i + 10_000])
        lat = []
        raised = 0
        for i in range(count):
            rec = TransferRecord(
                transfer_id=f"N{i}",
                customer_id=f"S{int(rng.integers(0, n_cust))}",
                ts=t0 + timedelta(seconds=span + i * 30),
                kind="deposit" if rng.random() < 0.55 else "withdrawal",
                amount=str(int(rng.lognormal(9.6, 1.1)) + 1),
                method="cash" if rng.random() < 0.1 else "bank_transfer",
            )
            a = time.perf_counter()
            with db.session() as s:
                raised += aml.ingest(s, actor=None, kind="transfers", records=[rec]).alerts_raised
            lat.append(time.perf_counter() - a)
        _ = policy
        ms = np.array(lat) * 1000
        print(
            f"\nstreaming (SQLite file, {history:,} earlier trades, {n_cust} customers): "
            f"{count:,} transfers one by one, each stored + checked + committed"
        )
        print(
            f"  p50 {np.percentile(ms, 50):.1f} ms  p99 {np.percentile(ms, 99):.1f} ms  "
            f"max {ms.max():.1f} ms  → {count / (ms.sum() / 1000):,.0f} transactions/s "
            f"in one process; {raised} alert(s) raised"
        )


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--no-baseline", action="store_true", help="skip the pandas baseline")
    ap.add_argument("--stream", type=int, default=2_000, help="streamed transactions (0: none)")
    ap.add_argument("--history", type=int, default=20_000, help="earlier trades for streaming")
    ap.add_argument("--one", choices=("polars", "pandas"), help=argparse.SUPPRESS)
    ap.add_argument("--data", type=Path, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.one:
        print(json.dumps(run_one(args.one, args.data)))
        return
    print(
        f"load: {os.getloadavg()[0]:.2f} {os.getloadavg()[1]:.2f} {os.getloadavg()[2]:.2f} "
        f"on {os.cpu_count()} cores; POLARS_MAX_THREADS=2"
    )
    batch(args.rows, baseline=not args.no_baseline)
    if args.stream:
        streaming(args.stream, args.history)


if __name__ == "__main__":
    main()
