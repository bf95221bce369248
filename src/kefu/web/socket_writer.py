"""The sockets' group-commit writer: the writes of one process's sockets (messages, read
receipts) are queued and committed together as one unit, and each socket is answered only after
that commit. A batch in which a write is refused is run again with each write in its own
SAVEPOINT, so one refusal never undoes the others."""

from __future__ import annotations

import asyncio
import logging
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from sqlalchemy import Connection
from sqlalchemy.orm import Session

from kefu.core.actions import actions_only, batched, discard_kept_records
from kefu.core.config import get_settings
from kefu.core.db import Database
from kefu.core.errors import KefuError
from kefu.core.security import User
from kefu.desk import service

__all__ = ["Post", "Writer", "writer_for"]

log = logging.getLogger("kefu.hub")

#: (case_id, idempotency key) of a message a write will post
Post = tuple[int, str | None]


class Writer:
    """Group commit for the sockets of one process: every write a socket asks for (a message, a
    read receipt) is queued; one task takes whatever has queued up since its last transaction —
    nothing is held back to wait for company — and runs it in one transaction: first as one
    unit (no savepoint per write, one flush for all), and if a write fails, again with each write
    in its own SAVEPOINT so one refusal does not undo the others. A write's result (or error) is
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
        #: batches whose fast unit failed and were run again one savepoint per write
        self.redone = 0
        self.conn: Connection | None = None
        #: the writer's own thread: a batch at a time, without the shared pool's hand-over
        self.thread = ThreadPoolExecutor(max_workers=1, thread_name_prefix="kefu-socket-writer")

    async def write(self, fn: Any, user_id: int, post: Post | None = None) -> Any:
        """Runs ``fn(session, user)`` in the next batch; ``post`` = (case_id, idempotency key)
        when ``fn`` posts a message, so the batch reads what its posts need in a few queries."""
        if self.task is None or self.task.done():
            self.task = asyncio.create_task(self._run())
        done: asyncio.Future[Any] = asyncio.get_running_loop().create_future()
        self.queue.put_nowait((fn, user_id, post, done))
        return await done

    def close(self) -> None:
        """Stops taking batches (the worker is stopping); the thread ends after its batch."""
        if self.task is not None:
            self.task.cancel()
        self.thread.submit(self._close_connection)  # after the batch it may be committing
        self.thread.shutdown(wait=False)

    def _close_connection(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    async def _run(self) -> None:
        while True:
            batch = [await self.queue.get()]
            while len(batch) < self.max_batch and not self.queue.empty():
                batch.append(self.queue.get_nowait())
            try:
                results = await asyncio.get_running_loop().run_in_executor(
                    self.thread, self._commit, [(f, u, p) for f, u, p, _ in batch]
                )
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
        with self.database.write_lock:
            try:
                return self._commit_batched(batch)
            except _Redo:
                pass
            self.redone += 1
            return self._commit_each(batch)

    def _commit_batched(self, batch: list[tuple[Any, int, Post | None]]) -> list[tuple[bool, Any]]:
        """The fast way: the batch's writes run as one unit (kefu.core.actions.batched) — no
        savepoint per write, and one flush writes all their audit entries. A write that fails
        fails the unit: it is rolled back and :class:`_Redo` asks for the careful way (a lone
        write's refusal is simply its answer, its record kept), which also answers a resent
        message (its key fails the INSERT here) and runs on a new connection if the database
        dropped this one."""
        out: list[tuple[bool, Any]] = []
        s = self.database.sessions(bind=self._connection())
        try:
            # a key used before fails its INSERT here: the batch is redone, with the keys read
            _prepare(s, batch, check_keys=False)
            with batched(s):
                for fn, user_id, _ in batch:
                    try:
                        out.append((True, fn(s, s.get(User, user_id))))
                    except Exception as exc:
                        if len(batch) == 1 and isinstance(exc, KefuError):
                            s.rollback()  # a refusal is the answer (its record is kept)
                            return [(False, exc)]
                        # the others are redone; what they queued is queued again then
                        discard_kept_records(s)
                        s.rollback()
                        raise _Redo from exc
            s.commit()
        except _Redo:
            raise
        except Exception as exc:  # the unit's own flush or commit failed
            discard_kept_records(s)
            s.rollback()
            raise _Redo from exc
        finally:
            s.close()
        return out

    def _commit_each(self, batch: list[tuple[Any, int, Post | None]]) -> list[tuple[bool, Any]]:
        """The careful way: each write in its own SAVEPOINT, so one refusal does not undo the
        others (a batch with a refused write)."""
        out: list[tuple[bool, Any]] = []
        s = self.database.sessions(bind=self._connection())
        try:
            with s.begin():
                _prepare(s, batch, check_keys=True)
                for fn, user_id, _ in batch:
                    try:
                        with s.begin_nested():
                            out.append((True, fn(s, s.get(User, user_id))))
                    except Exception as exc:
                        out.append((False, exc))
        finally:
            s.close()
        return out

    def _connection(self) -> Connection:
        """The writer thread's own connection, kept from batch to batch: no pool checkout, no
        liveness ping and no reset round trip per batch. One the database dropped is replaced
        at the next batch (the batch it failed answers its sockets with the error; they resend
        with the same keys)."""
        conn = self.conn
        if conn is None or conn.closed or conn.invalidated:
            conn = self.conn = self.database.engine.connect()
        return conn


def _prepare(s: Session, batch: list[tuple[Any, int, Post | None]], *, check_keys: bool) -> None:
    """A batch's session: written only through actions (like the HTTP routes), with what its
    posts read loaded up front (kefu.desk.messages.prepare_posts)."""
    actions_only(s)
    service.prepare_posts(
        s,
        user_ids=[u for _, u, _ in batch],
        posts=[p for _, _, p in batch if p],
        check_keys=check_keys,
    )


class _Redo(Exception):
    """A batch's fast unit failed: run it again one savepoint per write."""


def writer_for(app: Any) -> Writer:
    writer: Writer | None = getattr(app.state, "socket_writer", None)
    if writer is None:
        writer = app.state.socket_writer = Writer(app.state.db)
    return writer
