"""Live chat under load: N concurrent WebSocket clients, R messages/s, one uvicorn worker.

Each case has a customer socket (the sender) and an agent socket (the receiver). The bench
measures end-to-end delivery latency (send → the other side receives it), and counts lost
messages (acknowledged but never delivered) and duplicates (delivered twice). Phase 2 kills the
server with SIGKILL mid-run and restarts it: clients reconnect with the last id they saw and
resend anything unacknowledged with the same idempotency key.

    python bench/chat.py                          # 1,000 clients, 200 msg/s, 60 s per phase
    python bench/chat.py --clients 200 --rate 50 --seconds 10
    python bench/chat.py --baseline --rates 100,200,400 --seconds 30
        # also the baseline (a transaction per message) in the same run, and a rate sweep;
        # prints the server's and the load generator's CPU time per message
    python bench/chat.py --workers 2 --broker redis://127.0.0.1:6379/9 --rates 200,400
        # two worker processes on one port, fanning out through Redis
Targets 127.0.0.1 only; bounded in count and time.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import json
import os
import random
import secrets
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path

import httpx
import websockets

from kefu.core.db import Database
from kefu.core.migrate import upgrade


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def setup(url: str, pairs: int) -> list[tuple[int, str, str]]:
    """Creates `pairs` customers, cases and sessions directly (setup is not measured)."""
    import kefu.models  # noqa: F401
    from kefu.core.security import AuthSession, User, hash_password
    from kefu.customers.models import Customer
    from kefu.desk import service
    from kefu.desk.models import Case

    upgrade(url)
    db = Database(url)
    out = []
    now = datetime.now(UTC)
    run = secrets.token_hex(3)  # this run's users and customers: a database can be reused
    pw = hash_password("bench-password")
    with db.session() as s:
        service.ensure_builtin_statuses(s)
        st = service.status_by_key(s, "open")
        agent = User(
            username=f"bench-{run}-agent", role="agent", display_name="坐席", password_hash=pw
        )
        s.add(agent)
        s.flush()
        for i in range(pairs):
            u = User(
                username=f"bench-{run}-c{i}",
                role="customer",
                display_name=f"客户{i}",
                password_hash=pw,
            )
            s.add(u)
            s.flush()
            c = Customer(user_id=u.id, code=f"B{run}{i}", name_zh=f"客户{i}")
            s.add(c)
            s.flush()
            case = Case(
                customer_id=c.id,
                channel="chat",
                subject=f"压测会话 {i}",
                category="technical",
                priority="normal",
                status_id=st.id,
                status=st,
                status_category="open",
                language="zh",
                assignee_id=agent.id,
                created_at=now,
                updated_at=now,
            )
            s.add(case)
            s.flush()
            tokens = []
            for uid in (u.id, agent.id):
                tok = secrets.token_urlsafe(24)
                s.add(
                    AuthSession(
                        token_hash=hashlib.sha256(tok.encode()).hexdigest(),
                        user_id=uid,
                        csrf_token="x",
                        expires_at=now + timedelta(hours=6),
                    )
                )
                tokens.append(tok)
            out.append((case.id, tokens[0], tokens[1]))
    db.engine.dispose()
    return out


def _proc_cpu(pid: int) -> tuple[int, float]:
    """(parent pid, user + system CPU seconds) of a process, from Linux /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


class Server:
    def __init__(
        self,
        url: str,
        port: int,
        log: Path,
        batch: int = 200,
        workers: int = 1,
        broker: str = "memory://",
    ) -> None:
        self.url, self.port, self.log, self.batch = url, port, log, batch
        self.workers, self.broker = workers, broker
        self.proc: subprocess.Popen[bytes] | None = None

    def cpu_seconds(self) -> float:
        """The server's user + system CPU time so far: the process and, with several workers,
        its worker processes."""
        if self.proc is None or self.proc.poll() is not None:
            return 0.0
        total = _proc_cpu(self.proc.pid)[1]
        if self.workers > 1:
            for entry in Path("/proc").iterdir():
                if entry.name.isdigit():
                    try:
                        parent, cpu = _proc_cpu(int(entry.name))
                    except (OSError, ValueError, IndexError):
                        continue
                    if parent == self.proc.pid:
                        total += cpu
        return total

    def start(self) -> None:
        env = {
            **os.environ,
            "KEFU_DATABASE_URL": self.url,
            "KEFU_SECRET_KEY": "bench",
            "KEFU_BROKER_URL": self.broker,
            "KEFU_SOCKET_BATCH": str(self.batch),
        }
        self.proc = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "uvicorn",
                "kefu.web.app:create_app",
                "--factory",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--log-level",
                "warning",
                "--ws-max-queue",
                "64",
                "--ws-per-message-deflate",
                "false",  # as `kefu serve` runs it
                *(["--workers", str(self.workers)] if self.workers > 1 else []),
            ],
            env=env,
            stdout=self.log.open("ab"),
            stderr=subprocess.STDOUT,
            start_new_session=True,  # a kill takes the workers with it
        )
        deadline = time.monotonic() + 90  # a loaded 2-core machine takes 20 s and more
        while time.monotonic() < deadline:
            try:
                if httpx.get(f"http://127.0.0.1:{self.port}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.1)
        raise RuntimeError("server did not start")

    def kill(self) -> None:
        if self.proc:
            os.killpg(self.proc.pid, signal.SIGKILL)
            self.proc.wait()

    def stop(self) -> None:
        if self.proc and self.proc.poll() is None:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=20)


@dataclass
class Stats:
    sent_at: dict[str, float] = field(default_factory=dict)  # key -> first send time
    acked: dict[str, int] = field(default_factory=dict)  # key -> message id
    received: dict[int, int] = field(default_factory=dict)  # message id -> times received
    latency_ms: list[float] = field(default_factory=list)
    body_key: dict[str, str] = field(default_factory=dict)
    #: (send time, latency ms) per delivered message, for --timeline
    timeline: list[tuple[float, float]] = field(default_factory=list)
    #: the server's CPU seconds while the sockets connected; in the kill phase, seconds from
    #: the kill to /healthz answering, and from then until every socket is subscribed again
    restart: dict[str, float] = field(default_factory=dict)


class Side:
    """One socket with reconnect: hello(last_seen) on every (re)connect; resend unacked."""

    def __init__(self, base: str, case_id: int, token: str, stats: Stats, receiver: bool) -> None:
        self.url = f"{base}/ws"
        self.token = token
        self.case_id, self.stats, self.receiver = case_id, stats, receiver
        self.last_seen = 0
        self.pending: dict[str, str] = {}
        self.ws: websockets.ClientConnection | None = None
        self.stop = False
        #: the server has answered this socket's hello (its replay is done): subscribed
        self.ready = False

    async def run(self) -> None:
        while not self.stop:
            try:
                async with websockets.connect(self.url, open_timeout=10, max_queue=256) as ws:
                    self.ws, self.ready = ws, False
                    await ws.send(json.dumps({"type": "auth", "token": self.token}))
                    await ws.send(
                        json.dumps(
                            {"type": "hello", "case_id": self.case_id, "last_seen": self.last_seen}
                        )
                    )
                    for key, body in list(self.pending.items()):
                        await ws.send(
                            json.dumps(
                                {"type": "send", "case_id": self.case_id, "body": body, "key": key}
                            )
                        )
                    async for raw in ws:
                        self.on_frame(json.loads(raw))
                self.ready = False
            except (TimeoutError, OSError, websockets.WebSocketException):
                self.ws, self.ready = None, False
                if not self.stop:
                    await asyncio.sleep(0.2 + random.random() * 0.3)

    def on_frame(self, f: dict) -> None:
        if f["type"] == "case":
            self.ready = True
        elif f["type"] == "ack":
            self.pending.pop(f["key"], None)
            self.stats.acked.setdefault(f["key"], f["id"])
        elif f["type"] == "message":
            m = f["message"]
            self.last_seen = max(self.last_seen, m["id"])
            if self.receiver and m["kind"] == "customer":
                n = self.stats.received.get(m["id"], 0)
                self.stats.received[m["id"]] = n + 1
                key = self.stats.body_key.get(m["body"])
                if n == 0 and key and key in self.stats.sent_at:
                    ms = (time.perf_counter() - self.stats.sent_at[key]) * 1000
                    self.stats.latency_ms.append(ms)
                    self.stats.timeline.append((self.stats.sent_at[key], ms))

    async def send(self, key: str, body: str) -> None:
        self.pending[key] = body
        self.stats.sent_at.setdefault(key, time.perf_counter())
        self.stats.body_key[body] = key
        if self.ws is not None:
            try:
                await self.ws.send(
                    json.dumps({"type": "send", "case_id": self.case_id, "body": body, "key": key})
                )
            except websockets.WebSocketException:
                pass  # resent on reconnect


async def phase(
    base: str,
    sessions: list[tuple[int, str, str]],
    rate: int,
    seconds: int,
    server: Server | None,
    kill_at: float | None,
    tag: str,
) -> tuple[Stats, float]:
    stats = Stats()
    senders = [Side(base, c, ct, stats, False) for c, ct, _ in sessions]
    receivers = [Side(base, c, at, stats, True) for c, _, at in sessions]
    sides = senders + receivers
    tasks = [asyncio.create_task(s.run()) for s in sides]
    t_conn, cpu_conn = time.perf_counter(), server.cpu_seconds() if server else 0.0
    # the clock starts once every socket is subscribed (its hello answered): the reconnect
    # storm of 1,000 sockets is reported on its own, as the time it takes
    while sum(1 for s in sides if s.ready) < len(sides) and time.perf_counter() - t_conn < 180:
        await asyncio.sleep(0.2)
    connect_s = time.perf_counter() - t_conn
    if server:
        stats.restart["connect_cpu"] = server.cpu_seconds() - cpu_conn
    await asyncio.sleep(1)
    total = rate * seconds
    start = time.perf_counter()
    killed = False
    for i in range(total):
        target = start + i / rate
        delay = target - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        if kill_at is not None and not killed and time.perf_counter() - start >= kill_at and server:
            t_kill = time.perf_counter()
            server.kill()
            killed = True
            await asyncio.sleep(0.5)
            await asyncio.get_running_loop().run_in_executor(None, server.start)
            t_up = time.perf_counter()
            stats.restart["up"] = t_up - t_kill

            async def resubscribed(t_up: float = t_up) -> None:
                while not all(s.ready for s in sides):
                    await asyncio.sleep(0.05)
                stats.restart["subscribed"] = time.perf_counter() - t_up

            watch = asyncio.create_task(resubscribed())
        s = random.choice(senders)
        await s.send(f"{tag}-{i}", f"压测消息 {tag} #{i} load message")
    deadline = time.perf_counter() + 30  # drain: retries and replays settle
    while time.perf_counter() < deadline:
        if not any(s.pending for s in senders) and len(stats.received) >= len(stats.acked):
            break
        await asyncio.sleep(0.5)
    await asyncio.sleep(1)
    if killed:
        watch.cancel()
    for s in sides:
        s.stop = True
        if s.ws is not None:
            await s.ws.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return stats, connect_s


def report(name: str, stats: Stats, total: int) -> dict[str, float]:
    lat = sorted(stats.latency_ms)
    q = (
        statistics.quantiles(lat, n=100, method="inclusive")
        if len(lat) > 2
        else [float("nan")] * 99
    )
    acked_ids = set(stats.acked.values())
    lost = len([i for i in acked_ids if i not in stats.received]) + (total - len(stats.acked))
    dup = sum(stats.received[i] - 1 for i in acked_ids if stats.received.get(i, 0) > 1)
    dup_ids = len(stats.acked) - len(acked_ids)  # two keys → one id would mean a merged message
    delivered = len([i for i in acked_ids if i in stats.received])
    print(
        f"{name:<24} sent {total:>6}  acked {len(stats.acked):>6}  delivered {delivered:>6}  "
        f"p50 {q[49]:7.1f} ms  p95 {q[94]:7.1f} ms  p99 {q[98]:7.1f} ms  lost {lost}  duplicated {dup + dup_ids}"
    )
    return {"p50": q[49], "p95": q[94], "p99": q[98], "lost": lost, "duplicated": dup + dup_ids}


def cpu_per_message(server_s: float, client_s: float, messages: int) -> str:
    return (
        f"server CPU {server_s * 1000 / messages:.2f} ms/message, "
        f"load generator {client_s * 1000 / messages:.2f} ms/message"
    )


def timeline(stats: Stats, bucket: float = 2.0) -> None:
    """Latency by when the message was sent: a steady tail or stalls at moments."""
    if not stats.timeline:
        return
    t0 = min(t for t, _ in stats.timeline)
    buckets: dict[int, list[float]] = {}
    for t, ms in stats.timeline:
        buckets.setdefault(int((t - t0) / bucket), []).append(ms)
    for b in sorted(buckets):
        v = sorted(buckets[b])
        print(
            f"    {b * bucket:5.0f}–{(b + 1) * bucket:<5.0f}s  n {len(v):5d}  "
            f"p50 {v[len(v) // 2]:8.1f} ms  max {v[-1]:8.1f} ms"
        )


def measure(
    base: str,
    sessions: list[tuple[int, str, str]],
    server: Server,
    rate: int,
    seconds: int,
    show_timeline: bool = False,
) -> tuple[dict[str, float], str]:
    cpu0, own0 = server.cpu_seconds(), time.process_time()
    stats, connect_s = asyncio.run(phase(base, sessions, rate, seconds, server, None, f"r{rate}"))
    print(
        f"  all {len(sessions) * 2} sockets connected and subscribed in {connect_s:.1f} s "
        f"(server CPU {stats.restart['connect_cpu']:.2f} s)"
    )
    if show_timeline:
        timeline(stats)
    cpu = cpu_per_message(
        server.cpu_seconds() - cpu0, time.process_time() - own0, max(len(stats.acked), 1)
    )
    return report(f"{rate} msg/s", stats, rate * seconds), cpu


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument(
        "--clients", type=int, default=1000, help="sockets in all (half senders, half receivers)"
    )
    ap.add_argument("--rate", type=int, default=200, help="messages per second")
    ap.add_argument(
        "--rates",
        default="",
        help="also sweep these rates (e.g. 100,200,400) in each mode to find the highest that "
        "meets the p99 goal",
    )
    ap.add_argument("--seconds", type=int, default=60)
    ap.add_argument("--timeline", action="store_true", help="latency per 2 s of sending")
    ap.add_argument("--no-kill", action="store_true", help="skip the kill + restart phase")
    ap.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file)")
    ap.add_argument(
        "--workers",
        type=int,
        default=1,
        help="uvicorn worker processes on one port (the kernel spreads the sockets, so a "
        "case's two sides often land on different workers); needs --broker",
    )
    ap.add_argument(
        "--broker",
        default="memory://",
        help="KEFU_BROKER_URL of the server, e.g. redis://127.0.0.1:6379/9 for several workers",
    )
    ap.add_argument(
        "--baseline",
        action="store_true",
        help="also run the baseline: one transaction per message (KEFU_SOCKET_BATCH=1)",
    )
    a = ap.parse_args()
    if a.workers > 1 and a.broker.startswith("memory"):
        ap.error("--workers > 1 needs a shared --broker (redis://… or postgresql+psycopg://…)")
    tmp = Path(tempfile.mkdtemp(prefix="kefu-chat-bench-"))
    url = a.url or f"sqlite:///{tmp / 'bench.db'}"
    pairs = a.clients // 2
    print(
        f"{os.cpu_count()} cores; setting up {pairs} chats ({a.clients} sockets) on "
        f"{url.split('@')[-1]} …",
        flush=True,
    )
    sessions = setup(url, pairs)
    rates = sorted({a.rate, *(int(r) for r in a.rates.split(",") if r.strip())})
    modes = [("group commit", 200)] + (
        [("baseline: a transaction per message", 1)] if a.baseline else []
    )
    steady: dict[str, dict[str, float]] = {}
    for name, batch in modes:
        port = free_port()
        server = Server(
            url, port, tmp / "server.log", batch=batch, workers=a.workers, broker=a.broker
        )
        server.start()
        base = f"ws://127.0.0.1:{port}"
        try:
            print(
                f"\n== {name} (KEFU_SOCKET_BATCH={batch}), {a.clients} sockets, {a.seconds} s per rate"
            )
            best = None
            for rate in rates:
                r, cpu = measure(base, sessions, server, rate, a.seconds, a.timeline)
                print(f"  {cpu}")
                if rate == a.rate:
                    steady[name] = r
                if r["p99"] < 100 and r["lost"] == 0 and r["duplicated"] == 0:
                    best = rate
            print(
                f"  highest rate meeting p99 < 100 ms: {best if best else 'none of ' + str(rates)}"
            )
            if batch != 1 and not a.no_kill:
                print(f"kill + restart at {a.seconds // 3} s, {a.rate} msg/s", flush=True)
                s2, _ = asyncio.run(
                    phase(base, sessions, a.rate, a.seconds, server, a.seconds / 3, "kill")
                )
                r2 = report("kill + restart", s2, a.rate * a.seconds)
                up, sub = s2.restart.get("up", float("nan")), s2.restart.get("subscribed")
                print(
                    f"  server answered /healthz {up:.1f} s after the kill; all {a.clients} "
                    "sockets subscribed again "
                    + (f"{sub:.1f} s after that" if sub is not None else "— not by the end")
                )
                print(f"  after restart lost {r2['lost']:.0f}, duplicated {r2['duplicated']:.0f}")
        finally:
            server.stop()
    mine = steady["group commit"]
    print(
        f"\ngoal at {a.rate} msg/s: p99 < 100 ms — group commit p99 {mine['p99']:.1f} ms "
        f"({mine['p99'] / 100:.2f}x of the goal)"
    )
    if a.baseline:
        base_r = steady["baseline: a transaction per message"]
        print(
            f"baseline p99 {base_r['p99']:.1f} ms; group commit / baseline p99 = "
            f"{mine['p99'] / base_r['p99']:.2f}, p50 = {mine['p50'] / base_r['p50']:.2f}"
        )


if __name__ == "__main__":
    main()
