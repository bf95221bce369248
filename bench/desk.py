"""The desk at scale on PostgreSQL: the queue and its filters, one case, Chinese and English
search.

Fills a dedicated database with N cases and M messages (seeded, realistic zh/en support text;
about 30% of the cases carry one or two of ten tags), then times the application's own service
functions — the agent queue as it opens and filtered by tag, by channel and priority, by
customer, by creation date and by status, one case with its messages, search — and, as the
baseline, the anchors' approach (ILIKE '%term%' over message bodies) in the same run.

    python bench/desk.py                       # 1,000,000 cases / 5,000,000 messages
    python bench/desk.py --cases 100000 --messages 500000
    python bench/desk.py --skip-fill           # re-measure an existing fill
    python bench/desk.py --skip-fill --explain # and print each queue query's plan
"""

from __future__ import annotations

import argparse
import io
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from typing import Any

import psycopg
from sqlalchemy import text

from kefu.core.db import Database
from kefu.core.migrate import upgrade
from kefu.core.security import User
from kefu.core.textsearch import index_text
from kefu.desk import service

ZH_SUBJECTS = [
    "提现未到账",
    "入金没有到账",
    "登录不了",
    "密码重置",
    "委托被拒绝",
    "融资利息疑问",
    "验证码收不到",
    "App闪退",
    "手续费疑问",
    "二元期权结算争议",
    "账户被冻结",
    "更换银行卡",
    "风险测评过期",
    "开户审核进度",
    "行情延迟",
    "涨停买不进",
    "T+1规则咨询",
    "注销账户",
]
ZH_BODIES = [
    "我前天申请的提现到现在还没到账，银行那边也查不到",
    "转了{n}万进来，银行扣款了但是账户余额没变",
    "手机换号了收不到验证码，登录不了",
    "委托价格显示超出涨跌幅限制被拒绝",
    "融资{n}万用了{d}天，利息怎么算的",
    "App一打开K线图就闪退，版本5.{d}",
    "卖出{n}万元股票扣了多少手续费",
    "二元期权到期价格和我看到的不一样",
    "账户显示冻结，持仓还在，很着急",
    "我想换绑一张新的银行卡",
    "系统提示风险测评过期，不能买基金",
    "开户资料提交了{d}天还在审核",
    "行情刷新慢了好几秒",
    "今天买的股票为什么卖不出去",
]
EN_SUBJECTS = [
    "Withdrawal pending",
    "Deposit not credited",
    "Cannot log in",
    "Password reset",
    "Order rejected",
    "Margin interest question",
    "SMS code not received",
    "App crashes",
    "Fee question",
    "Binary option dispute",
    "Account frozen",
    "Change bank card",
    "KYC documents",
]
EN_BODIES = [
    "My withdrawal has been pending for {d} days and has not arrived",
    "I deposited {n}000 USD but my balance did not change",
    "I cannot log in after changing my phone",
    "Why was my limit order rejected",
    "How is the margin interest calculated for {d} days",
    "The app crashes when I open the chart",
    "Which fees were charged on my sell order",
    "My option expired at a different price than the chart showed",
    "My account is frozen and I cannot trade",
    "I want to replace my linked bank card",
    "Which documents do you accept for KYC",
]
AGENT_ZH = [
    "您好，我来帮您查询。",
    "已为您提交核查，请耐心等待。",
    "请提供银行卡后四位。",
    "该问题已处理完毕。",
]
AGENT_EN = [
    "Hello, let me check that for you.",
    "I have raised this with the team.",
    "Please confirm the last four digits.",
    "This has been resolved.",
]
TAGS = [
    "vip",
    "refund",
    "app-crash",
    "withdrawal",
    "kyc",
    "complaint",
    "margin",
    "options",
    "escalated",
    "退款",
]
ZH_QUERIES = [
    "提现 到账",
    "验证码",
    "闪退",
    "手续费",
    "冻结",
    "涨跌幅",
    "银行卡",
    "风险测评",
    "融资 利息",
    "结算",
]
EN_QUERIES = [
    "withdrawal pending",
    "deposit",
    "crashes",
    "frozen",
    "margin interest",
    "kyc documents",
    "fees",
    "bank card",
    "log in",
    "option expired",
]


def fill(url: str, n_cases: int, n_messages: int, seed: int = 7) -> float:
    rnd = random.Random(seed)
    dsn = url.replace("postgresql+psycopg://", "postgresql://")
    t0 = time.perf_counter()
    db = Database(url)
    with db.session() as s:
        service.ensure_builtin_statuses(s)
        statuses = {k: v for k, v in s.execute(text("SELECT key, id FROM case_statuses"))}
    with psycopg.connect(dsn, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO users (username, role, display_name, display_name_en, password_hash, language, is_active, is_trainee, created_at, prefs) "
            "SELECT 'agent' || g, 'agent', '坐席' || g, 'Agent ' || g, 'x', 'zh-CN', true, false, now(), '{}' FROM generate_series(1, 50) g"
        )
        conn.execute(
            "INSERT INTO users (username, role, display_name, display_name_en, password_hash, language, is_active, is_trainee, created_at, prefs) "
            "SELECT 'cust' || g, 'customer', '客户' || g, '', 'x', 'zh-CN', true, false, now(), '{}' FROM generate_series(1, 2000) g"
        )
        conn.execute(
            "INSERT INTO customers (user_id, code, name_zh, name_en, language, city, phone_enc, phone_masked, phone_index, email_enc, email_masked, id_type, id_number_enc, id_number_masked, id_number_index, kyc_status, risk_level, created_at) "
            "SELECT u.id, 'B' || u.id, u.display_name, '', 'zh', '', '', '', '', '', '', 'resident_id', '', '', '', 'verified', 'C3', now() FROM users u WHERE u.role = 'customer'"
        )
        cust_ids = [r[0] for r in conn.execute("SELECT id FROM customers")]
        agent_ids = [r[0] for r in conn.execute("SELECT id FROM users WHERE role = 'agent'")]
        conn.execute("DROP INDEX IF EXISTS ix_cases_search")
        conn.execute("DROP INDEX IF EXISTS ix_messages_search")
        now = datetime.now(UTC)
        per_case = max(1, n_messages // n_cases)
        extra = n_messages - per_case * n_cases
        msg_id = 0
        batch = 50_000
        for start in range(0, n_cases, batch):
            cbuf, mbuf, tbuf = io.StringIO(), io.StringIO(), io.StringIO()
            for cid in range(start + 1, min(start + batch, n_cases) + 1):
                en = rnd.random() < 0.3
                subject = rnd.choice(EN_SUBJECTS if en else ZH_SUBJECTS)
                # cases arrive over 720 days in id order (ids follow creation, as in a live
                # desk), a few hours of jitter apart
                span = 60 * 24 * 720
                created = now - timedelta(
                    minutes=max(1, span - span * cid // n_cases + rnd.randint(-240, 240))
                )
                r = rnd.random()
                key = (
                    "open"
                    if r < 0.05
                    else "pending"
                    if r < 0.08
                    else "resolved"
                    if r < 0.3
                    else "closed"
                )
                cat = {"open": "open", "pending": "pending"}.get(key, key)
                due = (
                    (created + timedelta(hours=rnd.randint(1, 48))).isoformat()
                    if key == "open"
                    else "\\N"
                )
                assignee = rnd.choice(agent_ids) if rnd.random() < 0.9 else "\\N"
                n = per_case + (1 if extra > 0 and rnd.random() < extra / n_cases else 0)
                if rnd.random() < 0.3:  # ~30% of cases carry one or two tags
                    for tag in rnd.sample(TAGS, 1 if rnd.random() < 0.7 else 2):
                        tbuf.write(f"{cid}\t{tag}\n")
                cbuf.write(
                    "\t".join(
                        map(
                            str,
                            (
                                cid,
                                rnd.choice(cust_ids),
                                rnd.choice(["chat", "web", "phone", "email"]),
                                subject,
                                rnd.choice(
                                    [
                                        "account",
                                        "funds",
                                        "trading",
                                        "technical",
                                        "complaint",
                                        "compliance",
                                    ]
                                ),
                                rnd.choice(["urgent", "high", "normal", "normal", "low"]),
                                statuses[key],
                                cat,
                                "en" if en else "zh",
                                assignee,
                                created.isoformat(),
                                created.isoformat(),
                                due,
                                due,
                                index_text(subject),
                                created.isoformat(),
                                "",
                                "",
                                0,
                                0,
                                n,
                            ),
                        )
                    )
                    + "\n"
                )
                for k in range(n):
                    msg_id += 1
                    if k % 2 == 0:
                        body = rnd.choice(EN_BODIES if en else ZH_BODIES).format(
                            n=rnd.randint(1, 50), d=rnd.randint(1, 9)
                        )
                        kind = "customer"
                    else:
                        body = rnd.choice(AGENT_EN if en else AGENT_ZH)
                        kind = "agent"
                    at = (created + timedelta(minutes=5 * k)).isoformat()
                    mbuf.write(
                        "\t".join(
                            (
                                str(msg_id),
                                str(cid),
                                kind,
                                body,
                                body,
                                at,
                                index_text(body),
                                str(k + 1),
                            )
                        )
                        + "\n"
                    )
            with conn.cursor() as cur:
                with cur.copy(
                    "COPY cases (id, customer_id, channel, subject, category, priority, status_id, status_category, "
                    "language, assignee_id, created_at, updated_at, first_response_due, next_due_at, search_text, last_message_at, "
                    "intent, transcript, customer_read_id, agent_read_id, last_seq) FROM STDIN"
                ) as cp:
                    cp.write(cbuf.getvalue())
                with cur.copy(
                    "COPY messages (id, case_id, kind, body, redacted, created_at, search_text, seq) FROM STDIN"
                ) as cp:
                    cp.write(mbuf.getvalue())
                with cur.copy("COPY case_tags (case_id, tag) FROM STDIN") as cp:
                    cp.write(tbuf.getvalue())
            done = min(start + batch, n_cases)
            print(
                f"  filled {done:,} cases, {msg_id:,} messages ({time.perf_counter() - t0:.0f} s)",
                flush=True,
            )
        conn.execute("SELECT setval('cases_id_seq', (SELECT max(id) FROM cases))")
        conn.execute("SELECT setval('messages_id_seq', (SELECT max(id) FROM messages))")
        conn.execute(
            "UPDATE cases SET customer_read_id = 0, agent_read_id = 0 WHERE customer_read_id IS NULL"
        )
        print("  building GIN indexes …", flush=True)
        conn.execute(
            "CREATE INDEX ix_cases_search ON cases USING gin (id, to_tsvector('simple', search_text))"
        )
        conn.execute(
            "CREATE INDEX ix_messages_search ON messages USING gin (id, to_tsvector('simple', search_text))"
        )
        conn.execute("VACUUM ANALYZE")
    db.engine.dispose()
    return time.perf_counter() - t0


def pct(xs: list[float]) -> tuple[float, float, float]:
    xs = sorted(xs)
    q = statistics.quantiles(xs, n=100, method="inclusive")
    return q[49], q[94], q[98]


#: the timed operations: key -> label (queue filters go through service.list_cases, limit 50)
OPERATIONS = {
    "queue": "agent queue (open, SLA order)",
    "queue_tag": "queue: open + tag",
    "queue_channel_priority": "queue: open + channel + priority",
    "queue_customer": "queue: one customer (all)",
    "queue_dates": "queue: created in 7 days (all)",
    "queue_status": "queue: status pending",
    "queue_resolved": "queue: resolved + closed",
    "queue_all": "queue: all cases",
    "queue_mine": "queue: mine (open + pending)",
    "case": "one case + messages",
    "search_zh": "search zh (GIN bigrams)",
    "search_en": "search en (GIN words)",
    "like_zh": "baseline ILIKE zh",
    "like_en": "baseline ILIKE en",
}


def queue_filters(rnd: random.Random, ctx: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """One random instance of each queue filter the desk offers."""
    start = ctx["oldest"] + timedelta(days=rnd.randint(0, 712))
    return {
        "queue": {"status_category": "open"},
        "queue_tag": {"status_category": "open", "tag": rnd.choice(TAGS)},
        "queue_channel_priority": {
            "status_category": "open",
            "channel": rnd.choice(["chat", "web", "phone", "email"]),
            "priority": rnd.choice(["urgent", "high", "normal", "low"]),
        },
        "queue_customer": {"customer_id": rnd.choice(ctx["customers"])},
        "queue_dates": {"created_from": start, "created_to": start + timedelta(days=7)},
        "queue_status": {"status_category": "pending"},
        "queue_resolved": {"status_category": "resolved,closed"},
        "queue_all": {},
        "queue_mine": {"status_category": "open,pending", "assignee": "me"},
    }


def explain(url: str) -> None:
    """EXPLAIN ANALYZE of each queue filter's main query, as the application builds it."""
    from sqlalchemy import event

    db = Database(url)
    seen: list[tuple[str, Any]] = []

    @event.listens_for(db.engine, "before_cursor_execute")
    def grab(conn, cursor, statement, params, context, executemany):  # type: ignore[no-untyped-def]
        if statement.lstrip().upper().startswith("SELECT CASES.ID"):
            seen.append((statement, params))

    with db.session() as s:
        ctx = context(s)
        viewer = s.get(User, ctx["agent"])
        for key, filters in queue_filters(random.Random(3), ctx).items():
            seen.clear()
            service.list_cases(s, viewer=viewer, limit=50, **filters)
            statement, params = seen[0]
            raw = s.connection().connection.dbapi_connection
            assert raw is not None
            with raw.cursor() as cur:
                cur.execute("EXPLAIN (ANALYZE, BUFFERS) " + statement, params)
                plan = "\n".join(r[0] for r in cur.fetchall())
            print(f"\n--- {key} {filters}\n{plan}")
    db.engine.dispose()


def context(s: Any) -> dict[str, Any]:
    return {
        "agent": s.scalar(text("SELECT id FROM users WHERE role = 'agent' ORDER BY id LIMIT 1")),
        "max_case": s.scalar(text("SELECT max(id) FROM cases")),
        "customers": list(s.scalars(text("SELECT id FROM customers ORDER BY id"))),
        "oldest": s.scalar(text("SELECT min(created_at) FROM cases")),
    }


def measure(url: str, n: int, seed: int = 11) -> dict[str, tuple[float, float, float]]:
    rnd = random.Random(seed)
    db = Database(url)
    out: dict[str, list[float]] = {k: [] for k in OPERATIONS}
    with db.session() as s:
        ctx = context(s)
        viewer = s.get(User, ctx["agent"])
        for i in range(n + 20):
            timings = {}
            for key, filters in queue_filters(rnd, ctx).items():
                t = time.perf_counter()
                service.list_cases(s, viewer=viewer, limit=50, **filters)
                timings[key] = time.perf_counter() - t
            t = time.perf_counter()
            case = service.visible_case(s, viewer=viewer, case_id=rnd.randint(1, ctx["max_case"]))
            service.visible_messages(s, viewer=viewer, case=case)
            timings["case"] = time.perf_counter() - t
            for lang, qs in (("zh", ZH_QUERIES), ("en", EN_QUERIES)):
                q = rnd.choice(qs)
                t = time.perf_counter()
                service.list_cases(s, viewer=viewer, q=q, limit=50)
                timings[f"search_{lang}"] = time.perf_counter() - t
                term = q.split()[0]
                t = time.perf_counter()
                s.execute(
                    text(
                        "SELECT DISTINCT case_id FROM (SELECT case_id FROM messages WHERE body ILIKE :p "
                        "ORDER BY id DESC LIMIT 50) x"
                    ),
                    {"p": f"%{term}%"},
                ).all()
                timings[f"like_{lang}"] = time.perf_counter() - t
            s.expunge_all()
            s.rollback()  # each iteration reads in a transaction of its own, as a request does
            if i >= 20:  # warm-up
                for k, v in timings.items():
                    out[k].append(v * 1000)
    db.engine.dispose()
    return {k: pct(v) for k, v in out.items()}


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--url", default="postgresql+psycopg://postgres@127.0.0.1:5432/kefu_bench_desk")
    ap.add_argument("--cases", type=int, default=1_000_000)
    ap.add_argument("--messages", type=int, default=5_000_000)
    ap.add_argument("--iterations", type=int, default=200)
    ap.add_argument("--skip-fill", action="store_true")
    ap.add_argument("--explain", action="store_true", help="print each queue query's plan")
    a = ap.parse_args()
    dbname = a.url.rsplit("/", 1)[1]
    if not a.skip_fill:
        admin = (
            a.url.rsplit("/", 1)[0].replace("postgresql+psycopg://", "postgresql://") + "/postgres"
        )
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{dbname}"')
            conn.execute(f'CREATE DATABASE "{dbname}"')
        upgrade(a.url)
        print(f"filling {a.cases:,} cases and {a.messages:,} messages into {dbname} …", flush=True)
        secs = fill(a.url, a.cases, a.messages)
        print(f"fill + index + analyze: {secs:.0f} s")
    if a.explain:
        explain(a.url)
    res = measure(a.url, a.iterations)
    print(f"\n{'operation':<36}{'p50 ms':>10}{'p95 ms':>10}{'p99 ms':>10}")
    for k, label in OPERATIONS.items():
        p50, p95, p99 = res[k]
        print(f"{label:<36}{p50:>10.1f}{p95:>10.1f}{p99:>10.1f}")
    worst = max((res[k][1], k) for k in OPERATIONS if k.startswith("queue"))
    print(
        f"goals: every queue operation p95 < 50 ms — slowest {OPERATIONS[worst[1]]} "
        f"{worst[0]:.1f} ms; English search p95 < 200 ms — {res['search_en'][1]:.1f} ms; "
        f"Chinese search p95 {res['search_zh'][1]:.1f} ms"
    )
    for lang in ("zh", "en"):
        print(
            f"ratio p95 ILIKE / ours ({lang}): {res[f'like_{lang}'][1] / res[f'search_{lang}'][1]:.1f}x"
        )
    sys.stdout.flush()


if __name__ == "__main__":
    main()
