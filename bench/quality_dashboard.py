"""The /quality dashboard's queries over 1,000,000 finished cases on PostgreSQL: p50/p95 of
each aggregation the dashboard runs (weekly trend, by agent, by category, by channel, totals)
over all cases and over the last 90 days, then the data is dropped.

Baseline, "Python loop": fetching the rows the weekly breakdown needs and aggregating them in
Python (what "aggregations in SQL, not Python" rules out), timed once on the same data.

    KEFU_BENCH_DATABASE_URL=postgresql+psycopg://postgres@127.0.0.1:5432/test_quality \\
        python bench/quality_dashboard.py [--cases 1000000] [--runs 20]

The database's schema is dropped and migrated afresh: point it at a scratch database.
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from collections import defaultdict
from datetime import date, timedelta

from sqlalchemy import text

from kefu.core.db import Database
from kefu.core.migrate import upgrade
from kefu.core.security import User
from kefu.quality.metrics import Filters, breakdown, totals

SEED = """
INSERT INTO users (id, username, role, display_name, display_name_en, password_hash, language,
  is_active, is_trainee, created_at, prefs)
SELECT g, 'bench-agent-' || g, 'agent', '坐席' || g, 'Agent ' || g, 'x', 'zh-CN', true, false,
  now(), '{}'::json FROM generate_series(1, 60) g;
INSERT INTO customers (id, code, name_zh, name_en, language, city, phone_enc, phone_masked,
  phone_index, email_enc, email_masked, id_type, id_number_enc, id_number_masked,
  id_number_index, kyc_status, risk_level, created_at)
VALUES (1, 'BENCH', '压测客户', 'Bench', 'zh', '', '', '', '', '', '', 'resident_id', '', '', '',
  'verified', 'C3', now());
"""
CASES = """
INSERT INTO cases (id, customer_id, channel, subject, category, intent, priority, status_id,
  status_category, language, created_at, updated_at, transcript, search_text, last_seq,
  customer_read_id, agent_read_id)
SELECT g, 1, (ARRAY['chat','web','phone','email'])[1 + g % 4], 'bench case ' || g,
  (ARRAY['account','funds','trading','technical','complaint','compliance'])[1 + g % 6], '',
  'normal', (SELECT id FROM case_statuses WHERE key = 'closed'), 'closed', 'zh',
  now() - (g % 730) * interval '1 day', now(), '', '', 0, 0, 0
FROM generate_series(1, :n) g
"""
EVALS = """
INSERT INTO quality_evaluations (case_id, current, agent_id, scorecard, score, raw_score, passed,
  auto_fail, sections, findings, items, scored_at, channel, category, priority, opened_at,
  finished_at, first_response_seconds, first_response_business_minutes, resolution_seconds,
  resolution_business_minutes, agent_replies, first_response_met, resolution_met, reopened,
  complaint, product_code, problem_code, compliance, override_reason)
SELECT g, true, 1 + g % 60, 'chat', s, s, s >= 80, g % 97 = 0,
  '{"opening": 80, "compliance": 100}'::json, '[]'::json, '{}'::json, now(),
  (ARRAY['chat','web','phone','email'])[1 + g % 4],
  (ARRAY['account','funds','trading','technical','complaint','compliance'])[1 + g % 6], 'normal',
  now() - (g % 730) * interval '1 day' - interval '3 hours', now() - (g % 730) * interval '1 day',
  30 + g % 900, g % 60, 3600 + g % 86400, g % 900, 1 + g % 9, g % 5 <> 0, g % 7 <> 0,
  g % 23 = 0, g % 6 = 4, (ARRAY['00','01','06','K1','K2','18'])[1 + g % 6],
  (ARRAY['P01','P02','P03','P04','P05','P06'])[1 + g % 6], g % 6 = 5, ''
FROM (SELECT g, (40 + (g * 37) % 61)::numeric(5,1) AS s FROM generate_series(1, :n) g) x
"""
CSAT = """
INSERT INTO csat_surveys (case_id, requested_at, score, comment, answered_at)
SELECT g, now(), 1 + g % 5, '', now() FROM generate_series(1, :n) g WHERE g % 3 <> 0
"""


def pct(values: list[float], p: float) -> float:
    s = sorted(values)
    return s[min(len(s) - 1, round(p * (len(s) - 1)))]


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--runs", type=int, default=20)
    args = ap.parse_args()
    url = os.environ.get("KEFU_BENCH_DATABASE_URL")
    if not url or not url.startswith("postgresql"):
        raise SystemExit("set KEFU_BENCH_DATABASE_URL to a scratch PostgreSQL database")
    db = Database(url)
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    db.engine.dispose()
    upgrade(url)
    print(f"load: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    t = time.perf_counter()
    with db.engine.begin() as conn:
        for stmt in SEED.strip().split(";\n"):
            if stmt.strip():
                conn.execute(text(stmt))
        conn.execute(text(CASES), {"n": args.cases})
        conn.execute(text(EVALS), {"n": args.cases})
        conn.execute(text(CSAT), {"n": args.cases})
    with db.engine.connect() as conn:
        conn.execution_options(isolation_level="AUTOCOMMIT").execute(text("VACUUM ANALYZE"))
    print(f"{args.cases:,} finished cases loaded in {time.perf_counter() - t:.1f} s")
    viewer = User(username="bench", role="supervisor", is_active=True)
    today = date.today()
    recent = Filters(start=today - timedelta(days=90), end=today)
    queries = {
        "weekly trend": lambda s, f: breakdown(
            s, viewer=viewer, group="period", period="week", filters=f
        ),
        "by agent": lambda s, f: breakdown(s, viewer=viewer, group="agent", filters=f),
        "by category": lambda s, f: breakdown(s, viewer=viewer, group="category", filters=f),
        "by channel": lambda s, f: breakdown(s, viewer=viewer, group="channel", filters=f),
        "totals": lambda s, f: totals(s, viewer=viewer, filters=f),
    }
    print(f"{'query':<14} {'range':<9} {'p50 ms':>8} {'p95 ms':>8}")
    worst = 0.0
    with db.session() as s:
        for label, f in (("all", Filters()), ("90 days", recent)):
            for name, q in queries.items():
                times = []
                for _ in range(args.runs):
                    t = time.perf_counter()
                    q(s, f)
                    times.append((time.perf_counter() - t) * 1000)
                p95 = pct(times, 0.95)
                worst = max(worst, p95)
                print(f"{name:<14} {label:<9} {statistics.median(times):8.1f} {p95:8.1f}")
        t = time.perf_counter()
        rows = s.execute(
            text(
                "SELECT e.finished_at, COALESCE(e.override_score, e.score), e.first_response_seconds,"
                " c.score FROM quality_evaluations e LEFT JOIN csat_surveys c ON c.case_id ="
                " e.case_id WHERE e.current"
            )
        )
        acc: dict[object, list[float]] = defaultdict(lambda: [0, 0.0, 0, 0])
        for fin, sc, frt, cs in rows:
            wk = fin.date() - timedelta(days=fin.weekday())
            a = acc[wk]
            a[0] += 1
            a[1] += float(sc)
            a[2] += 1 if cs is not None and cs >= 4 else 0
            a[3] += frt or 0
        loop_ms = (time.perf_counter() - t) * 1000
    print(f"Python-loop weekly trend (baseline), all: {loop_ms:8.1f} ms once")
    print(f"worst p95 {worst:.1f} ms — goal < 500 ms: {'met' if worst < 500 else 'NOT met'}")
    with db.engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    print("bench data dropped")


if __name__ == "__main__":
    main()
