"""The chat's group-commit writer alone: CPU time per message, without sockets.

Posts N customer messages through ``kefu.web.socket_writer.Writer`` in batches of B (each batch
awaited before the next, so B is the batch the writer commits), on a fresh SQLite file or a
given database, and prints the process's CPU time and wall time per message. The sockets'
share of a message's cost is left out, so this isolates what the database path costs.

    python bench/chat_writer.py                       # SQLite, 2,000 messages, batches of 1 and 5
    python bench/chat_writer.py --url postgresql+psycopg://…/<db> --batches 1
    PYTHONPATH=<a checkout of another commit>/src python bench/chat_writer.py
        # the same measurement of another commit's writer, as its baseline

Targets a local database only; bounded in count.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).parent))
os.environ.setdefault("KEFU_SECRET_KEY", "bench")
os.environ.setdefault("KEFU_BROKER_URL", "memory://")

from chat import setup
from kefu.core.db import Database
from kefu.core.security import session_for_token
from kefu.desk import service
from kefu.web.socket_writer import Writer


def _post(case_id: int, body: str, key: str) -> Any:
    def fn(s: Any, user: Any) -> dict[str, Any]:
        msg, _ = service.post_message(
            s, actor=user, case_id=case_id, body=body, idempotency_key=key
        )
        return service.message_payload(msg, user)

    return fn


async def _measure(db: Database, pairs: list[tuple[int, int]], n: int, batch: int) -> str:
    writer = Writer(db)
    warm = pairs[:20]  # the first statements compile and caches fill: not measured
    await asyncio.gather(
        *(
            writer.write(_post(c, "预热", f"w{batch}-{i}"), u, (c, f"w{batch}-{i}"))
            for i, (c, u) in enumerate(warm)
        )
    )
    wall0, cpu0 = time.perf_counter(), time.process_time()
    for start in range(0, n, batch):
        jobs = []
        for i in range(start, min(start + batch, n)):
            c, u = random.choice(pairs)
            key = f"b{batch}-{i}"
            jobs.append(writer.write(_post(c, f"压测消息 #{i} load message", key), u, (c, key)))
        await asyncio.gather(*jobs)
    cpu, wall = time.process_time() - cpu0, time.perf_counter() - wall0
    close = getattr(writer, "close", None)  # an older writer has none
    if close is not None:
        close()
    return (
        f"batches of {batch:>3}: CPU {cpu * 1000 / n:6.3f} ms/message, "
        f"wall {wall * 1000 / n:6.3f} ms/message ({n} messages)"
    )


def main() -> None:
    ap = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    ap.add_argument("--url", default=None, help="database URL (default: a fresh SQLite file)")
    ap.add_argument("--messages", type=int, default=2000)
    ap.add_argument("--batches", default="1,5", help="batch sizes to measure, e.g. 1,5,20")
    a = ap.parse_args()
    url = a.url or f"sqlite:///{Path(tempfile.mkdtemp(prefix='kefu-writer-bench-')) / 'w.db'}"
    print(f"{os.cpu_count()} cores; {url.split('@')[-1]}", flush=True)
    sessions = setup(url, 200)
    db = Database(url)
    with db.session() as s:
        users = []
        for _, token, _ in sessions:
            found = session_for_token(s, token)
            assert found is not None
            users.append(found[0].id)
    pairs = [(case_id, user) for (case_id, _, _), user in zip(sessions, users, strict=True)]
    for batch in (int(b) for b in a.batches.split(",") if b.strip()):
        print(asyncio.run(_measure(db, pairs, a.messages, batch)), flush=True)
    db.engine.dispose()


if __name__ == "__main__":
    main()
