"""The chat socket: one WebSocket per browser tab, JSON frames, committed-before-pushed messages.

A browser authenticates with its session cookie; other clients send ``auth`` {token} as their
first frame (a token never travels in the URL). Client frames: ``hello`` {case_id, last_seen}
subscribes to a case and replays what was missed; ``hello`` {feed: "alerts"} (agents and
supervisors) subscribes to the desk's notifications — a chat waiting for an agent, a customer's
reply to one of the user's cases, a case assigned to them — pushed as ``alert`` frames;
``send`` {case_id, body, key} commits a message (the key makes retries harmless); ``typing``,
``read`` {case_id, message_id}, ``ping``. Server frames: ``message``, ``ack``, ``typing``,
``read``, ``queue``, ``case``, ``chat.ended``, ``case.merged`` {case_id, target_id} (the
case was merged: follow the target), ``alert``, ``error``, ``pong``.

Refusals close the socket with a code and a reason the client shows: 4401 no valid session,
4400 malformed frame, 4413 message over the limit, 4429 too many frames (rate limit), 4404 no
such case for this user, 4403 a page from an origin that is not allowed (or a customer asking
for the agents' notifications). A socket closes with
4401 when its session ends (logout in any worker, or expiry).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from datetime import datetime
from typing import Any

from fastapi import APIRouter, WebSocket, WebSocketDisconnect
from starlette.concurrency import run_in_threadpool

from kefu.core.actions import actions_only
from kefu.core.config import get_settings
from kefu.core.db import Database, utcnow
from kefu.core.errors import KefuError, NotFound, PayloadTooLarge
from kefu.core.events import get_broker
from kefu.core.http import COOKIE, LANG_COOKIE, origin_allowed
from kefu.core.i18n import negotiate
from kefu.core.security import Role, User, can
from kefu.desk import chat, readmodel, service
from kefu.desk.schemas import message_view
from kefu.web.hub_reads import reader_for
from kefu.web.socket_writer import Post, writer_for

router = APIRouter()
log = logging.getLogger("kefu.hub")

MAX_FRAME_BYTES = 64 * 1024
RATE_PER_SEC = 10.0
BURST = 30.0


class Refuse(Exception):
    def __init__(self, code: int, reason: str) -> None:
        super().__init__(reason)
        self.code, self.reason = code, reason


class Bucket:
    """Token bucket per connection: BURST frames at once, RATE_PER_SEC sustained."""

    def __init__(self) -> None:
        self.tokens, self.at = BURST, time.monotonic()

    def take(self) -> bool:
        now = time.monotonic()
        self.tokens = min(BURST, self.tokens + (now - self.at) * RATE_PER_SEC)
        self.at = now
        if self.tokens < 1:
            return False
        self.tokens -= 1
        return True


def view_message(m: dict[str, Any], user: User) -> dict[str, Any]:
    """The desk's read model decides what this user receives of a message."""
    return message_view(m, viewer=user, lang=user.language)


class Connection:
    def __init__(self, ws: WebSocket, database: Database, user: User) -> None:
        self.ws, self.database, self.user = ws, database, user
        self.writer = writer_for(ws.app)
        self.reader = reader_for(ws.app)
        self.bucket = Bucket()
        self.cases: dict[int, asyncio.Task[None]] = {}
        #: per case: the seq up to which every message has been delivered (in order, gap-free)
        self.delivered: dict[int, int] = {}
        self.case_locks: dict[int, asyncio.Lock] = {}
        self.send_lock = asyncio.Lock()
        self.alerts: asyncio.Task[None] | None = None

    def language(self) -> str:
        """The language the socket's person reads: the page's language cookie, else theirs."""
        return negotiate(
            self.ws.headers.get("accept-language"),
            self.ws.cookies.get(LANG_COOKIE) or self.user.language,
        )

    async def send(self, frame: dict[str, Any]) -> None:
        async with self.send_lock:
            await self.ws.send_text(json.dumps(frame, ensure_ascii=False, default=str))

    def _read(self, fn: Any, *args: Any, **kw: Any) -> Any:
        with self.database.session() as s:
            actions_only(s)  # a read path never writes
            # the user as read when the socket authenticated: no query per read
            return fn(s, self.user, *args, **kw)

    async def db(
        self, fn: Any, *args: Any, write: bool = False, post: Post | None = None, **kw: Any
    ) -> Any:
        """Runs ``fn(session, user, …)``: reads in a thread of their own, writes through the
        process's group-commit writer (committed before this returns)."""
        if write:
            return await self.writer.write(lambda s, u: fn(s, u, *args, **kw), self.user.id, post)
        return await run_in_threadpool(self._read, fn, *args, **kw)

    # --- frames --------------------------------------------------------------------------

    async def hello(self, case_id: int, last_seen: int) -> None:
        lock = self.case_locks.setdefault(case_id, asyncio.Lock())
        if case_id not in self.cases:
            # subscribe before replaying, so nothing committed in between is missed
            ready = asyncio.Event()
            self.cases[case_id] = asyncio.create_task(self.follow(case_id, ready))
            await ready.wait()
        async with lock:
            try:
                # read with the hellos of other sockets that arrive together (a reconnect
                # storm): the messages after last_seen (a customer's without internal notes),
                # the delivered floor — everything up to the last seq at or below last_seen —,
                # the case's state and, for a customer, where they stand in the queue
                replay = await self.reader.replay(self.user, case_id, last_seen)
            except NotFound as exc:
                self.cases.pop(case_id).cancel()
                raise Refuse(4404, exc.detail) from exc
            self.delivered[case_id] = max(self.delivered.get(case_id, 0), replay.floor)
            for p in replay.payloads:
                await self._deliver_in_order(p)
        await self.send({"type": "case", "case": replay.state})
        if self.user.role == Role.customer:
            await self.send({"type": "queue", "case_id": case_id, **replay.queue})

    async def push_message(self, payload: dict[str, Any]) -> None:
        lock = self.case_locks.setdefault(payload["case_id"], asyncio.Lock())
        async with lock:
            await self._deliver_in_order(payload)

    async def _deliver_in_order(self, payload: dict[str, Any]) -> None:
        """Delivers each seq once and in order; a gap (an event overtaken by a later one) is
        filled from the database, where the missing messages are already committed."""
        cid, seq = payload["case_id"], payload["seq"]
        done = self.delivered.get(cid, 0)
        if seq <= done:
            return  # already delivered: never twice
        batch = [payload]
        if seq > done + 1:
            batch = await self.db(_load_range, cid, done, seq)
        for p in batch:
            if p["seq"] <= self.delivered.get(cid, 0):
                continue
            self.delivered[cid] = p["seq"]
            if p["kind"] == "note" and self.user.role == Role.customer:
                continue
            await self.send({"type": "message", "message": view_message(p, self.user)})

    async def follow(self, case_id: int, ready: asyncio.Event) -> None:
        stream = get_broker().subscribe([f"case:{case_id}"])
        first = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0)  # let the subscription register
        ready.set()
        try:
            ev = await first
            while True:
                await self.on_event(case_id, ev)
                # the subscription's queue holds what arrives meanwhile: no task per event
                ev = await stream.__anext__()
        except (asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            pass
        finally:
            with contextlib.suppress(Exception):
                first.cancel()
            with contextlib.suppress(Exception):
                await stream.aclose()  # type: ignore[attr-defined]

    async def on_event(self, case_id: int, ev: dict[str, Any]) -> None:
        kind = ev.get("type")
        if kind == "message":
            payload = ev.get("message")
            if payload is None or ev.get("slim"):
                payloads = await self.db(_load_message, ev["message_id"])
                if not payloads:
                    return
                payload = payloads[0]
            await self.push_message(payload)
        elif kind == "typing":
            if ev.get("user_id") != self.user.id:
                await self.send(ev)
        elif kind in ("read", "chat.ended"):
            await self.send(ev)
        elif kind == "case.merged":
            # kefu.desk.merge renumbered the target's conversation: count from its new end (the
            # client moves to the target and reloads it) and never replay under old numbers
            if "last_seq" in ev:
                async with self.case_locks.setdefault(case_id, asyncio.Lock()):
                    self.delivered[case_id] = max(self.delivered.get(case_id, 0), ev["last_seq"])
            await self.send(ev)
        elif kind == "case.updated":
            state = await self.db(_case_state, case_id)
            await self.send({"type": "case", "case": state["case"]})
            if self.user.role == Role.customer:
                await self.send({"type": "queue", "case_id": case_id, **state["queue"]})

    async def handle(self, raw: str) -> None:
        if len(raw.encode()) > MAX_FRAME_BYTES:
            raise Refuse(4413, f"frame over {MAX_FRAME_BYTES} bytes")
        if not self.bucket.take():
            raise Refuse(4429, "rate limit: too many frames, slow down")
        try:
            frame = json.loads(raw)
        except ValueError as exc:
            raise Refuse(4400, "malformed frame: not JSON") from exc
        if not isinstance(frame, dict) or not isinstance(frame.get("type"), str):
            raise Refuse(4400, "malformed frame: expected an object with a 'type'")
        kind = frame["type"]
        if kind == "auth":
            return  # already authenticated (by cookie): a client that always sends it is fine
        if kind == "ping":
            await self.send({"type": "pong"})
            return
        if kind == "hello" and frame.get("feed") == "alerts":
            await self.follow_alerts()
            return
        case_id = frame.get("case_id")
        if not isinstance(case_id, int) or isinstance(case_id, bool) or not 0 < case_id < 2**31:
            raise Refuse(4400, f"malformed frame: '{kind}' needs an integer case_id")
        if kind == "hello":
            last = frame.get("last_seen", 0)
            if not isinstance(last, int) or isinstance(last, bool) or not 0 <= last < 2**31:
                raise Refuse(4400, "malformed frame: last_seen must be a non-negative integer")
            await self.hello(case_id, last)
        elif kind == "send":
            await self.on_send(case_id, frame)
        elif kind == "typing":
            if case_id in self.cases:
                get_broker().publish(
                    f"case:{case_id}",
                    {
                        "type": "typing",
                        "case_id": case_id,
                        "user_id": self.user.id,
                        "role": self.user.role,
                    },
                )
        elif kind == "read":
            mid = frame.get("message_id")
            if not isinstance(mid, int) or isinstance(mid, bool) or not 0 <= mid < 2**31:
                raise Refuse(4400, "malformed frame: read needs an integer message_id")
            await self.db(
                lambda s, u: chat.mark_read(s, actor=u, case_id=case_id, message_id=mid),
                write=True,
            )
        else:
            raise Refuse(4400, f"malformed frame: unknown type {kind!r}")

    async def on_send(self, case_id: int, frame: dict[str, Any]) -> None:
        body, key = frame.get("body"), frame.get("key")
        if not isinstance(body, str) or not body.strip():
            raise Refuse(4400, "malformed frame: send needs a non-empty 'body' string")
        if key is not None and (not isinstance(key, str) or not 1 <= len(key) <= 64):
            raise Refuse(4400, "malformed frame: 'key' must be a 1–64 character string")
        limit = get_settings().max_message_chars
        if len(body) > limit:
            raise Refuse(4413, f"message over {limit} characters")
        internal = bool(frame.get("internal")) and self.user.role != Role.customer
        confirm = bool(frame.get("confirm"))

        def write(s: Any, user: User) -> dict[str, Any]:
            msg, created = service.post_message(
                s,
                actor=user,
                case_id=case_id,
                body=body,
                internal=internal,
                idempotency_key=key,
                confirm_warning=confirm,
            )
            return {"id": msg.id, "created": created, "payload": service.message_payload(msg, user)}

        try:
            result = await self.db(write, write=True, post=(case_id, key))
        except PayloadTooLarge as exc:
            raise Refuse(4413, exc.detail) from exc
        except KefuError as exc:
            # e.g. the guard blocked it: the socket stays open, the sender sees why
            await self.send(
                {
                    "type": "error",
                    "key": key,
                    "status": exc.status,
                    "code": exc.slug,
                    "detail": exc.message(self.language()),
                    **exc.extra,
                }
            )
            return
        await self.send(
            {"type": "ack", "key": key, "id": result["id"], "duplicate": not result["created"]}
        )
        await self.push_message(result["payload"])

    async def close_all(self) -> None:
        for task in self.cases.values():
            task.cancel()
        if self.alerts is not None:
            self.alerts.cancel()

    async def follow_alerts(self) -> None:
        """Subscribes this agent's socket to their notifications (once per socket)."""
        if not can(self.user, "case.take"):
            raise Refuse(4403, "notifications are for agents and supervisors")
        if self.alerts is not None:
            return
        ready = asyncio.Event()
        self.alerts = asyncio.create_task(self._alerts(ready))
        await ready.wait()

    async def _alerts(self, ready: asyncio.Event) -> None:
        stream = get_broker().subscribe([f"user:{self.user.id}", "desk:alerts"])
        pending = asyncio.ensure_future(stream.__anext__())
        await asyncio.sleep(0)  # let the subscription register
        ready.set()
        try:
            while True:
                ev = await pending
                pending = asyncio.ensure_future(stream.__anext__())
                if ev.get("type") == "case.assigned":
                    if ev.get("by") == self.user.id:
                        continue  # they took it themself
                    ev = {**ev, "type": "alert", "kind": "assigned"}
                if ev.get("type") == "alert":
                    await self.send(ev)
        except (asyncio.CancelledError, WebSocketDisconnect, RuntimeError):
            pass
        finally:
            with contextlib.suppress(Exception):
                pending.cancel()
            with contextlib.suppress(Exception):
                await stream.aclose()  # type: ignore[attr-defined]


def _load_message(s: Any, user: User, message_id: int) -> list[dict[str, Any]]:
    return readmodel.message_payload_by_id(s, message_id)


def _load_range(
    s: Any, user: User, case_id: int, after_seq: int, upto_seq: int
) -> list[dict[str, Any]]:
    return readmodel.message_payloads_between(
        s, case_id=case_id, after_seq=after_seq, upto_seq=upto_seq
    )


def _case_state(s: Any, user: User, case_id: int) -> dict[str, Any]:
    case = service.visible_case(s, viewer=user, case_id=case_id)
    return {"case": readmodel.case_state(case), "queue": chat.queue_info(s, case)}


#: how long a socket without a session cookie may take to send its auth frame
AUTH_SECONDS = 10


async def _end_with_session(ws: WebSocket, session_id: int, expires_at: datetime) -> None:
    """Closes the socket when its login ends: logout (an event from any worker) or expiry.
    The client answers the close frame, which ends the socket's receive loop."""

    async def ended() -> None:
        async for _event in get_broker().subscribe([f"session:{session_id}"]):
            return

    remaining = max((expires_at - utcnow()).total_seconds(), 0.0)
    with contextlib.suppress(TimeoutError):
        await asyncio.wait_for(ended(), timeout=remaining)
    with contextlib.suppress(Exception):
        await ws.close(4401, "session ended: log in again")


async def _first_frame_token(ws: WebSocket) -> str | None:
    """{"type": "auth", "token": "…"} as the first frame, within AUTH_SECONDS."""
    try:
        frame = json.loads(await asyncio.wait_for(ws.receive_text(), timeout=AUTH_SECONDS))
    except (TimeoutError, ValueError, WebSocketDisconnect, KeyError):
        return None
    if isinstance(frame, dict) and frame.get("type") == "auth":
        token = frame.get("token")
        if isinstance(token, str) and 0 < len(token) <= 256:
            return token
    return None


@router.websocket("/ws")
async def socket(ws: WebSocket) -> None:
    database: Database = ws.app.state.db
    if not origin_allowed(ws.headers.get("origin"), ws.headers.get("host")):
        await ws.accept()
        await ws.close(4403, "origin not allowed")
        return
    await ws.accept()
    # sockets that connect together (a reconnect storm) are authenticated together
    reader = reader_for(ws.app)
    token = ws.cookies.get(COOKIE)
    login = await reader.login(token) if token else None
    if login is None:
        # without a session cookie, the first frame carries the token: never the URL, which
        # proxies and access logs keep
        token = await _first_frame_token(ws)
        login = await reader.login(token) if token else None
    if login is None:
        await ws.close(4401, "login required: no valid session")
        return
    user = login.user
    conn = Connection(ws, database, user)
    watcher = asyncio.create_task(_end_with_session(ws, login.session_id, login.expires_at))
    try:
        while True:
            raw = await ws.receive_text()
            try:
                await conn.handle(raw)
            except Refuse as r:
                await ws.close(r.code, r.reason)
                return
    except WebSocketDisconnect:
        pass  # the client left, or answered the close of a session that ended
    except Exception:  # one bad connection never takes the others down
        log.exception("socket error for user %s", user.id)
        with contextlib.suppress(Exception):
            await ws.close(1011, "server error")
    finally:
        watcher.cancel()
        await conn.close_all()
