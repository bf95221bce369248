"""The chat sockets' batched reader: what a socket reads when it connects — its login (the
session token) and the replay of each ``hello`` — is queued, and one task answers whatever has
queued up since its last pass in one thread hop, one session and a few queries (IN lists),
instead of a thread hop, a session and four to six queries each. After a restart every client
reconnects at once: a thousand sockets then cost the server about a third of the CPU time they
cost when each was read on its own (bench/chat.py).

Nothing is held back to wait for company: a lone request is answered at once, and requests
that arrive while a pass runs share the next one. Each request gets its own answer: one refused
``hello`` (someone else's case: 404) leaves the others of its pass answered.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from starlette.concurrency import run_in_threadpool

from kefu.core.actions import actions_only
from kefu.core.db import Database
from kefu.core.security import User, sessions_for_tokens
from kefu.desk import readmodel
from kefu.desk.readmodel import Replay

__all__ = ["Login", "Reader", "Replay", "reader_for"]

log = logging.getLogger("kefu.hub")

#: requests answered in one pass at most (bounds the IN lists and the floors' UNION ALL, which
#: SQLite caps at 500 terms)
MAX_BATCH = 200


@dataclass(frozen=True)
class Login:
    """A socket's login: the user (detached, read once when the socket authenticates) and the
    session whose end closes the socket."""

    user: User
    session_id: int
    expires_at: datetime


@dataclass(frozen=True)
class _Auth:
    token: str


@dataclass(frozen=True)
class _Hello:
    viewer: User
    case_id: int
    last_seen: int


_Job = _Auth | _Hello


class Reader:
    """Batched reads for the sockets of one process (one event loop)."""

    def __init__(self, database: Database, max_batch: int = MAX_BATCH) -> None:
        self.database = database
        self.max_batch = max_batch
        self.loop: asyncio.AbstractEventLoop | None = None
        self.queue: asyncio.Queue[tuple[_Job, asyncio.Future[Any]]] | None = None
        self.task: asyncio.Task[None] | None = None
        self.passes = 0
        self.requests = 0

    async def login(self, token: str) -> Login | None:
        """The live login of a session token (not revoked, not expired, its user active), or
        None."""
        result: Login | None = await self._ask(_Auth(token))
        return result

    async def replay(self, viewer: User, case_id: int, last_seen: int) -> Replay:
        """What a ``hello`` {case_id, last_seen} from ``viewer`` answers; raises the case's
        refusal (NotFound for a case that is missing or another customer's)."""
        result: Replay = await self._ask(_Hello(viewer, case_id, last_seen))
        return result

    async def _ask(self, job: _Job) -> Any:
        loop = asyncio.get_running_loop()
        if self.loop is not loop or self.queue is None or self.task is None or self.task.done():
            # first use, or a new event loop (a test client's): a queue and a task of its own
            self.loop, self.queue = loop, asyncio.Queue()
            self.task = loop.create_task(self._run(self.queue))
        done: asyncio.Future[Any] = loop.create_future()
        self.queue.put_nowait((job, done))
        return await done

    async def _run(self, queue: asyncio.Queue[tuple[_Job, asyncio.Future[Any]]]) -> None:
        while True:
            batch = [await queue.get()]
            while len(batch) < self.max_batch and not queue.empty():
                batch.append(queue.get_nowait())
            jobs = [job for job, done in batch if not done.done()]  # skip sockets gone meanwhile
            if not jobs:
                continue
            try:
                answered = await run_in_threadpool(self._answer, jobs)
                results = dict(zip(map(id, jobs), answered, strict=True))
            except Exception as exc:  # the pass itself failed (the database): tell them all
                log.exception("socket reader: a pass of %d failed", len(jobs))
                results = {id(job): (False, exc) for job in jobs}
            self.passes += 1
            self.requests += len(jobs)
            for job, done in batch:
                if done.done() or id(job) not in results:
                    continue
                ok, value = results[id(job)]
                if ok:
                    done.set_result(value)
                else:
                    done.set_exception(value)

    def _answer(self, jobs: list[_Job]) -> list[tuple[bool, Any]]:
        auths = [j for j in jobs if isinstance(j, _Auth)]
        hellos = [j for j in jobs if isinstance(j, _Hello)]
        answers: dict[int, tuple[bool, Any]] = {}
        with self.database.session() as s:
            actions_only(s)  # a read path never writes
            if auths:
                found = sessions_for_tokens(s, [a.token for a in auths])
                users = {user.id: user for user, _ in found.values()}
                for user in users.values():
                    s.expunge(user)  # the socket keeps it; nothing lazy is left to load
                for a in auths:
                    hit = found.get(a.token)
                    login = None if hit is None else Login(hit[0], hit[1].id, hit[1].expires_at)
                    answers[id(a)] = (True, login)
            if hellos:
                replays = readmodel.chat_replays(
                    s, [(h.viewer, h.case_id, h.last_seen) for h in hellos]
                )
                for h, r in zip(hellos, replays, strict=True):
                    answers[id(h)] = (False, r) if isinstance(r, Exception) else (True, r)
        return [answers[id(j)] for j in jobs]


def reader_for(app: Any) -> Reader:
    reader: Reader | None = getattr(app.state, "socket_reader", None)
    if reader is None:
        reader = app.state.socket_reader = Reader(app.state.db)
    return reader
