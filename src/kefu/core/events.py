"""The event broker: actions publish after their transaction commits; sockets subscribe.

Backends: in-process (default, one worker). PostgreSQL LISTEN/NOTIFY and Redis pub/sub plug in
behind the same two methods for several workers.
"""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from collections.abc import AsyncIterator
from typing import Any, Protocol

from sqlalchemy import event as sa_event
from sqlalchemy.orm import Session, SessionTransaction

Event = dict[str, Any]


class Broker(Protocol):
    def publish(self, topic: str, event: Event) -> None:
        """Thread-safe; called after the change the event describes has been committed."""

    def subscribe(self, topics: list[str]) -> AsyncIterator[Event]:
        """Yields events of the topics, in publish order per topic, until cancelled."""


class MemoryBroker:
    """Fan-out to subscribers of this process (their asyncio queues, on their own loops)."""

    def __init__(self, max_queue: int = 10_000) -> None:
        self._lock = threading.Lock()
        self._subs: dict[str, set[tuple[asyncio.AbstractEventLoop, asyncio.Queue[Event]]]] = (
            defaultdict(set)
        )
        self._max_queue = max_queue

    def publish(self, topic: str, event: Event) -> None:
        self.publish_many([(topic, event)])

    def publish_many(self, events: list[tuple[str, Event]]) -> None:
        """Publishes a transaction's events in order, waking each subscriber's loop once for
        all of them rather than once per event and subscriber."""
        by_loop: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Queue[Event], Event]]] = {}
        with self._lock:
            for topic, event in events:
                for loop, queue in self._subs.get(topic, ()):
                    by_loop.setdefault(loop, []).append((queue, event))
        for loop, puts in by_loop.items():
            try:
                loop.call_soon_threadsafe(_put_all, puts)
            except RuntimeError:  # the subscriber's loop has closed
                continue

    async def subscribe(self, topics: list[str]) -> AsyncIterator[Event]:
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[Event] = asyncio.Queue(self._max_queue)
        key = (loop, queue)
        with self._lock:
            for t in topics:
                self._subs[t].add(key)
        try:
            while True:
                yield await queue.get()
        finally:
            with self._lock:
                for t in topics:
                    self._subs[t].discard(key)


def _put(queue: asyncio.Queue[Event], event: Event) -> None:
    if queue.full():  # a stalled subscriber drops its oldest event, never blocks publishers
        queue.get_nowait()
    queue.put_nowait(event)


def _put_all(puts: list[tuple[asyncio.Queue[Event], Event]]) -> None:
    for queue, event in puts:
        _put(queue, event)


_broker: Broker = MemoryBroker()


def get_broker() -> Broker:
    return _broker


def set_broker(broker: Broker) -> None:
    global _broker
    _broker = broker


def emit(db: Session, topic: str, event: Event) -> None:
    """Queues an event on the session; it is published only when the outermost transaction
    commits. An event queued inside a SAVEPOINT belongs to it: dropped if the savepoint rolls
    back, handed to the enclosing transaction if it is released."""
    owner = db.get_nested_transaction()
    db.info.setdefault(_EVENTS, []).append((owner, topic, event))


_EVENTS = "kefu_events"


def pending_events(db: Session) -> list[tuple[str, Event]]:
    """What the session will publish if it commits now (for tests and diagnostics)."""
    return [(topic, ev) for _owner, topic, ev in db.info.get(_EVENTS, ())]


@sa_event.listens_for(Session, "after_commit")
def _after_commit(session: Session) -> None:
    # SQLAlchemy fires after_commit when a SAVEPOINT is released too; only the outermost
    # commit makes the rows visible to other connections, so only it publishes
    nested = session.get_nested_transaction()
    pending = session.info.get(_EVENTS)
    if not pending:
        return
    if nested is not None:
        parent = nested.parent if nested.parent is not None and nested.parent.nested else None
        session.info[_EVENTS] = [
            (parent if owner is nested else owner, topic, ev) for owner, topic, ev in pending
        ]
        return
    session.info.pop(_EVENTS, None)
    broker = get_broker()
    many = getattr(broker, "publish_many", None)
    if many is not None:  # one wake-up (or one round trip) for the transaction's events
        many([(topic, ev) for _owner, topic, ev in pending])
        return
    for _owner, topic, ev in pending:
        broker.publish(topic, ev)


@sa_event.listens_for(Session, "after_rollback")
def _after_rollback(session: Session) -> None:
    nested = session.get_nested_transaction()
    if nested is None:
        session.info.pop(_EVENTS, None)
        return
    pending = session.info.get(_EVENTS)
    if pending:
        session.info[_EVENTS] = [item for item in pending if item[0] is not nested]


@sa_event.listens_for(Session, "after_transaction_end")
def _after_transaction_end(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None:  # the outermost transaction is over, whichever way
        session.info.pop(_EVENTS, None)


# --- several workers ------------------------------------------------------------------------


class RelayBroker:
    """Publishes through a shared transport (Redis or PostgreSQL); a background task feeds what
    arrives into this process's MemoryBroker, which the sockets subscribe to."""

    def __init__(self) -> None:
        self.local = MemoryBroker()
        self.published = 0

    def subscribe(self, topics: list[str]) -> AsyncIterator[Event]:
        return self.local.subscribe(topics)

    def deliver(self, raw: str | bytes) -> None:
        import json

        try:
            data = json.loads(raw)
            topic, ev = data["t"], data["e"]
        except (ValueError, KeyError, TypeError):
            return
        self.local.publish(topic, ev)

    @staticmethod
    def encode(topic: str, event: Event) -> str:
        import json

        return json.dumps({"t": topic, "e": event}, ensure_ascii=False, default=str)


class RedisBroker(RelayBroker):
    """Redis pub/sub on one channel; start() runs the listener in the app's event loop."""

    CHANNEL = "kefu:events"

    def __init__(self, url: str) -> None:
        super().__init__()
        import redis

        self.url = url
        self._pub = redis.Redis.from_url(url)

    def publish(self, topic: str, event: Event) -> None:
        self._pub.publish(self.CHANNEL, self.encode(topic, event))
        self.published += 1

    def publish_many(self, events: list[tuple[str, Event]]) -> None:
        """A transaction's events in one round trip, in order."""
        pipe = self._pub.pipeline(transaction=False)
        for topic, event in events:
            pipe.publish(self.CHANNEL, self.encode(topic, event))
        pipe.execute()
        self.published += len(events)

    async def run(self, ready: asyncio.Event | None = None) -> None:
        import redis.asyncio as aioredis

        client = aioredis.Redis.from_url(self.url)
        pubsub = client.pubsub()
        await pubsub.subscribe(self.CHANNEL)
        if ready is not None:
            ready.set()
        try:
            async for msg in pubsub.listen():
                if msg.get("type") == "message":
                    self.deliver(msg["data"])
        finally:
            await pubsub.aclose()  # type: ignore[no-untyped-call,unused-ignore]
            await client.aclose()


class PostgresBroker(RelayBroker):
    """PostgreSQL LISTEN/NOTIFY. Payloads over the 8000-byte NOTIFY limit are sent without the
    message body (``"slim": true``); receivers load such messages from the database."""

    CHANNEL = "kefu_events"
    LIMIT = 7500

    def __init__(self, url: str) -> None:
        super().__init__()
        import psycopg

        self.dsn = url.replace("postgresql+psycopg://", "postgresql://")
        self._conn = psycopg.connect(self.dsn, autocommit=True)
        self._lock = threading.Lock()

    def publish(self, topic: str, event: Event) -> None:
        payload = self.encode(topic, event)
        if len(payload.encode()) > self.LIMIT:
            slim = {k: v for k, v in event.items() if k != "message"} | {"slim": True}
            payload = self.encode(topic, slim)
        with self._lock:
            if self._conn.closed:
                import psycopg

                self._conn = psycopg.connect(self.dsn, autocommit=True)
            self._conn.execute("SELECT pg_notify(%s, %s)", (self.CHANNEL, payload))
        self.published += 1

    async def run(self, ready: asyncio.Event | None = None) -> None:
        import psycopg

        conn = await psycopg.AsyncConnection.connect(self.dsn, autocommit=True)
        try:
            await conn.execute(f"LISTEN {self.CHANNEL}")
            if ready is not None:
                ready.set()
            async for note in conn.notifies():
                self.deliver(note.payload)
        finally:
            await conn.close()


def broker_from_url(url: str) -> Broker:
    """memory:// (one worker), redis://host:port/db, or postgresql+psycopg://… (LISTEN/NOTIFY)."""
    if url.startswith("memory"):
        return MemoryBroker()
    if url.startswith(("redis://", "rediss://")):
        return RedisBroker(url)
    if url.startswith("postgresql"):
        return PostgresBroker(url)
    raise ValueError(f"unknown KEFU_BROKER_URL scheme: {url!r}")
