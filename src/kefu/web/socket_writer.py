"""The sockets' group-commit writer: the writes of one process's sockets (messages, read
receipts) are queued and committed together, each in its own SAVEPOINT, and each socket is
answered only after that commit."""

from __future__ import annotations

import asyncio
import logging
from typing import Any

from starlette.concurrency import run_in_threadpool

from kefu.core.actions import actions_only
from kefu.core.config import get_settings
from kefu.core.db import Database
from kefu.core.security import User
from kefu.desk import service

__all__ = ["Post", "Writer", "writer_for"]

log = logging.getLogger("kefu.hub")

#: (case_id, idempotency key) of a message a write will post
Post = tuple[int, str | None]


class Writer:
    """Group commit for the sockets of one process: every write a socket asks for (a message, a
    read receipt) is queued; one task takes whatever has queued up since its last transaction —
    nothing is held back to wait for company — and runs it in one transaction, each write in
    its own SAVEPOINT so one refusal does not undo the others. A write's result (or error) is
    handed back only after that transaction commits, so an ``ack`` still means committed, and
    the events of the batch are published at that commit. Per message this saves a thread hop,
    a lock hand-over and a commit; under load the batches grow and the cost per message falls."""

    def __init__(self, database: Database, max_batch: int | None = None) -> None:
        self.database = database
        self.max_batch = max_batch or get_settings().socket_batch
        self.queue: asyncio.Queue[tuple[Any, int, Post | None, asyncio.Future[Any]]] = (
            asyncio.Queue()
        )
        self.task: asyncio.Task[None] | None = None
        self.batches = 0
        self.writes = 0

    async def write(self, fn: Any, user_id: int, post: Post | None = None) -> Any:
        """Runs ``fn(session, user)`` in the next batch; ``post`` = (case_id, idempotency key)
        when ``fn`` posts a message, so the batch reads what its posts need in a few queries."""
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((fn, user_id, post, done))
        return await done

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                results = await run_in_threadpool(self._commit, [(f, u, p) for f, u, p, _ in batch])
            except Exception as exc:  # the transaction itself failed: nothing was written
                log.exception("socket writer: a batch of %d failed", len(batch))
                results = [(False, exc)] * len(batch)
            self.batches += 1
            self.writes += len(batch)
            for (_, _, _, done), (ok, value) in zip(batch, results, strict=True):
                if done.done():
                    continue  # the socket went away meanwhile
                if ok:
                    done.set_result(value)
                else:
                    done.set_exception(value)

    def _commit(self, batch: list[tuple[Any, int, Post | None]]) -> list[tuple[bool, Any]]:
        out: list[tuple[bool, Any]] = []
        with self.database.write_lock, self.database.session() as s:
            actions_only(s)  # the socket writes only through actions, like the HTTP routes
            service.prepare_posts(
                s, user_ids=[u for _, u, _ in batch], posts=[p for _, _, p in batch if p]
            )
            for fn, user_id, _ in batch:
                try:
                    with s.begin_nested():
                        out.append((True, fn(s, s.get(User, user_id))))
                except Exception as exc:
                    out.append((False, exc))
        return out


def writer_for(app: Any) -> Writer:
    writer: Writer | None = getattr(app.state, "socket_writer", None)
    if writer is None:
        writer = app.state.socket_writer = Writer(app.state.db)
    return writer
