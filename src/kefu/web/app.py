"""Size: the security middlewares sit beside the one factory that installs them, in its order.

The application factory: API routers, consoles, problem+json errors, health. The security
middlewares (headers and CSP, body limit, NUL refusal, access-log redaction) are kept beside the
factory that installs them and in the order it does, so a reader sees the whole request pipeline
in one file."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import logging
import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.staticfiles import StaticFiles
from sqlalchemy import text
from sqlalchemy.exc import IntegrityError
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from kefu import __version__
from kefu.academy.pages import router as academy_pages
from kefu.academy.views import router as academy_api
from kefu.aml.pages import router as aml_pages
from kefu.aml.views import router as aml_api
from kefu.compliance.content import default_guard
from kefu.compliance.pages import router as compliance_pages
from kefu.compliance.views import router as compliance_api
from kefu.core import audit, i18n
from kefu.core.config import get_settings
from kefu.core.db import Database
from kefu.core.errors import PROBLEM_BASE, KefuError, Phrase, input_message
from kefu.core.events import broker_from_url, set_broker
from kefu.core.http import asked_language, error_page, language, templates
from kefu.customers.pages import router as customers_pages
from kefu.customers.views import router as customers_api
from kefu.desk import email_channel
from kefu.desk.admin_pages import router as desk_admin_pages
from kefu.desk.calendar_pages import router as calendar_pages
from kefu.desk.chat_views import router as desk_chat_api
from kefu.desk.mail_views import pages as mail_pages
from kefu.desk.mail_views import router as mail_api
from kefu.desk.pages import router as desk_pages
from kefu.desk.teams_pages import router as teams_pages
from kefu.desk.teams_views import router as teams_api
from kefu.desk.views import router as desk_api
from kefu.desk.views_pages import pages as desk_views_pages
from kefu.desk.views_routes import router as desk_views_api
from kefu.desk.workspace_views import router as desk_workspace_api
from kefu.identity.pages import router as identity_pages
from kefu.identity.views import router as identity_api
from kefu.knowledge import service as knowledge
from kefu.knowledge.pages import router as knowledge_pages
from kefu.knowledge.views import router as knowledge_api
from kefu.market.pages import router as market_pages
from kefu.market.views import router as market_api
from kefu.quality.pages import router as quality_pages
from kefu.quality.views import router as quality_api
from kefu.web.hub import router as hub

log = logging.getLogger("kefu")
PROBLEM = "application/problem+json"
#: the API explorer and the page its OAuth2 flows return to (FastAPI's own paths for them)
API_DOCS, API_DOCS_OAUTH2 = "/api/docs", "/docs/oauth2-redirect"


def problem_response(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


_SECRET_QUERY = re.compile(r"(?i)\b(token|access_token|csrf|password|key)=[^&\s\"]*")
#: 7 or more digits in a row (allowing spaces and dashes): phone, ID and card numbers
_LONG_NUMBER = re.compile(r"\d(?:[ -]?\d){6,}")


def redact_for_log(text: str) -> str:
    """Secrets in query strings and long numbers (phones, IDs, cards used as search terms)
    never reach the access log."""
    text = _SECRET_QUERY.sub(lambda m: f"{m.group(1)}=[redacted]", text)
    return _LONG_NUMBER.sub(lambda m: "*" * (len(m.group()) - 4) + m.group()[-4:], text)


class RedactAccessLog(logging.Filter):
    """Applied to uvicorn's access log, whose record arguments are (client, method, path, …),
    and to its error log, where a socket's handshake is logged as (client, path)."""

    def filter(self, record: logging.LogRecord) -> bool:
        if not isinstance(record.args, tuple):
            return True
        if record.name == "uvicorn.access" and len(record.args) >= 3:
            where = 2
        elif '"WebSocket %s"' in str(record.msg) and len(record.args) >= 2:
            where = 1
        else:
            return True
        args = list(record.args)
        args[where] = redact_for_log(str(args[where]))
        record.args = tuple(args)
        return True


def install_log_redaction() -> None:
    for name in ("uvicorn.access", "uvicorn.error"):
        logger = logging.getLogger(name)
        if not any(isinstance(f, RedactAccessLog) for f in logger.filters):
            logger.addFilter(RedactAccessLog())


#: sent with every response: browsers may not guess content types, and nothing that shows
#: personal data is cached
SECURITY_HEADERS = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),
)
#: the customer's pages, which the chat widget opens in a frame on the broker's own site
WIDGET_PATHS = ("/widget", "/login", "/logout", "/lang/", "/chat/", "/cases/", "/portal/", "/help")
#: what a page may load and run: scripts and styles only from Kefu's own /static files (no
#: inline script, no inline style, no eval), images also as data: URLs (the favicon), nothing
#: embedded as a plugin, no <base>, forms posted only to Kefu
CONTENT_POLICY = (
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
)
#: a Host header that can be named in a policy: a DNS name or an IP address, and a port
_HOST = re.compile(
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?|\[[0-9A-Fa-f:.]{2,45}\])(?::[0-9]{1,5})?"
)


def socket_sources(host: str, scheme: str, https_only: bool) -> str:
    """The chat socket's own origin for connect-src. CSP 3 lets 'self' match ws:/wss: of the
    page's host, but WebKit long did not, so the socket is also named outright: wss:// always,
    ws:// only for a page served over plain HTTP in a deployment that does not claim HTTPS."""
    if not _HOST.fullmatch(host):
        return ""
    sources = [f"wss://{host}"]
    if scheme in ("http", "ws") and not https_only:
        sources.append(f"ws://{host}")
    return " ".join(sources)


def frame_ancestors(path: str, widget_origins: str) -> str:
    """Staff consoles and the API are never framed (clickjacking); the customer pages may be
    framed by the sites in KEFU_WIDGET_ORIGINS (default: any site, so the widget works on the
    broker's page out of the box)."""
    if not (path == "/" or path.startswith(WIDGET_PATHS)):
        return "frame-ancestors 'none'"
    origins = " ".join(o.strip() for o in widget_origins.split(",") if o.strip()) or "*"
    return f"frame-ancestors 'self' {origins}"


def security_policy(
    path: str,
    *,
    widget_origins: str,
    host: str = "",
    scheme: str = "http",
    https_only: bool = False,
) -> list[tuple[bytes, bytes]]:
    """The Content-Security-Policy of one answer (and X-Frame-Options where it may not be
    framed at all)."""
    connect = " ".join(
        filter(None, ("connect-src 'self'", socket_sources(host, scheme, https_only)))
    )
    ancestors = frame_ancestors(path, widget_origins)
    policy = "; ".join((*CONTENT_POLICY, connect, ancestors))
    headers = [(b"content-security-policy", policy.encode())]
    if ancestors.endswith("'none'"):
        headers.insert(0, (b"x-frame-options", b"DENY"))
    return headers


class SecurityHeaders:
    """Adds SECURITY_HEADERS and the Content-Security-Policy; pages and API answers (personal
    data) are marked no-store, static files keep their caching."""

    def __init__(self, app: ASGIApp, widget_origins: str = "", https_only: bool = False) -> None:
        self.app, self.widget_origins, self.https_only = app, widget_origins, https_only

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        static = path.startswith("/static/")
        host = dict(scope.get("headers", ())).get(b"host", b"").decode("latin-1")
        policy = security_policy(
            path,
            widget_origins=self.widget_origins,
            host=host,
            scheme=str(scope.get("scheme", "http")),
            https_only=self.https_only,
        )
        extra = [*SECURITY_HEADERS, *policy]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = list(message.get("headers", ()))
                present = {name.lower() for name, _ in headers}
                headers += [(n, v) for n, v in extra if n not in present]
                if not static and b"cache-control" not in present:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, with_headers)


def _nul_refused(where: str) -> JSONResponse:
    return problem_response(
        422,
        {
            "type": PROBLEM_BASE + "validation",
            "title": "Invalid input",
            "status": 422,
            "detail": f"text may not contain the NUL character (U+0000): {where}",
            "errors": [{"field": where, "message": "contains U+0000"}],
        },
    )


def _carries_nul(body: bytes, content_type: bytes) -> bool:
    """Whether a JSON or form body holds U+0000 in any text: no database column can store it
    (PostgreSQL refuses it outright), so it is refused as bad input, naming what is wrong."""
    if not body:
        return False
    if content_type.startswith(b"application/x-www-form-urlencoded"):
        return b"%00" in body or b"\x00" in body
    if not content_type.startswith(b"application/json") or b"\\u0000" not in body.lower():
        return b"\x00" in body

    def walk(value: object) -> bool:
        if isinstance(value, str):
            return "\x00" in value
        if isinstance(value, dict):
            return any(walk(k) or walk(v) for k, v in value.items())
        if isinstance(value, list):
            return any(walk(v) for v in value)
        return False

    try:
        return walk(json.loads(body))
    except ValueError:
        return False  # malformed JSON is the validator's to name


class BodyLimit:
    """Refuses request bodies over the configured size with 413: at once when Content-Length
    says so, and while reading when it does not (a chunked upload is counted as it arrives and
    never held beyond the limit)."""

    #: the routes that take files (multipart): a larger limit, and binary content is no error
    UPLOADS = re.compile(r"/api/v1/cases/[0-9]{1,10}/attachments")

    def __init__(
        self,
        app: ASGIApp,
        limit: int,
        wider: tuple[tuple[str, int], ...] = (),
        upload_limit: int | None = None,
    ) -> None:
        #: ``wider``: (path prefix, limit) for routes that take bigger bodies (feed batches)
        self.app, self.limit, self.wider = app, limit, wider
        self.upload_limit = upload_limit or limit

    def _too_large(self, size: str, limit: int) -> JSONResponse:
        return problem_response(
            413,
            {
                "type": PROBLEM_BASE + "too-large",
                "title": "Payload too large",
                "status": 413,
                "limit": limit,
                "detail": f"request body is {size} bytes; limit {limit}",
            },
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        if b"%00" in scope.get("query_string", b"") or "\x00" in str(scope.get("path", "")):
            await _nul_refused("the address")(scope, receive, send)
            return
        path = str(scope.get("path", ""))
        upload = bool(self.UPLOADS.fullmatch(path))
        limit = (
            self.upload_limit
            if upload
            else next((n for prefix, n in self.wider if path.startswith(prefix)), self.limit)
        )
        for name, value in scope.get("headers", ()):
            if name == b"content-length":
                if re.fullmatch(rb"[0-9]{1,18}", value) and int(value) > limit:
                    await self._too_large(str(int(value)), limit)(scope, receive, send)
                    return
        # read the body up to the limit (it is small), then hand it on
        chunks: list[bytes] = []
        size = 0
        while True:
            message = await receive()
            if message["type"] != "http.request":
                break  # the client went away
            body = message.get("body", b"")
            size += len(body)
            if size > limit:
                await self._too_large(f"over {limit}", limit)(scope, receive, send)
                return
            chunks.append(body)
            if not message.get("more_body", False):
                break
        body = b"".join(chunks)
        content_type = dict(scope.get("headers", ())).get(b"content-type", b"")
        # a file's bytes may hold NUL; its caption is checked by the message's own rules
        multipart = upload and content_type.startswith(b"multipart/form-data")
        if not multipart and _carries_nul(body, content_type):
            await _nul_refused("body")(scope, receive, send)
            return
        replayed = False

        async def replay() -> Message:
            nonlocal replayed
            if not replayed:
                replayed = True
                return {"type": "http.request", "body": body, "more_body": False}
            return await receive()

        await self.app(scope, replay, send)


def _wants_html(request: Request) -> bool:
    """Console pages get an HTML error page; the API and programs get problem+json."""
    path = request.url.path
    if path.startswith(("/api/", "/ws", "/static/", "/healthz", "/openapi")):
        return False
    return "text/html" in request.headers.get("accept", "") and not request.headers.get(
        "hx-request"
    )


def _field_name(loc: tuple[Any, ...] | list[Any]) -> str:
    parts = [str(p) for p in loc if p not in ("body", "query", "path", "header", "cookie")]
    return ".".join(parts) or str(loc[0] if loc else "body")


@asynccontextmanager
async def lifespan(app: FastAPI) -> AsyncIterator[None]:
    """Starts the event relay when several workers share a Redis or PostgreSQL broker."""
    url = get_settings().broker_url
    task = None
    try:
        with app.state.db.session() as s:
            loaded = knowledge.ensure_loaded(s)
    except IntegrityError:  # another worker loaded them at the same moment
        loaded = None
    if loaded is not None:
        log.info("knowledge base: loaded %d shipped articles", len(loaded.created))
    # the search index is built before the first request, not by the first search
    with app.state.db.session() as s:
        knowledge.index_for(s)
    # so is the guard (its phrase automaton and model), which every message passes through:
    # built here, the first message does not wait for it, and it is frozen with the rest below
    default_guard()
    if not url.startswith("memory"):
        broker = broker_from_url(url)
        set_broker(broker)
        ready = asyncio.Event()
        task = asyncio.create_task(broker.run(ready))  # type: ignore[attr-defined]
        await asyncio.wait_for(ready.wait(), timeout=10)
    # what was loaded at start-up (modules, templates, the guard's automaton, the knowledge
    # index) lives as long as the worker: keep it out of the collector's full passes, which
    # otherwise walk it again and again and stall every socket for a moment
    gc.collect()
    gc.freeze()
    # a worker with a thousand open sockets holds a few hundred thousand objects of theirs; a
    # full collection walks them all (100–450 ms measured with bench/chat.py on 2 busy cores,
    # a pause every few seconds for every socket). Collecting the young generation every 50,000
    # net allocations instead of 700 lets short-lived objects die young, so little is promoted
    # and full passes become rare; cyclic garbage is still collected
    gc.set_threshold(50_000, 20, 10)
    sealer = asyncio.create_task(_seal_audit(app.state.db, get_settings().audit_seal_seconds))
    # the e-mail sender: replies queued by the desk go out after their commit, failures retried
    mailer = None
    if get_settings().smtp_url:
        mailer = asyncio.create_task(
            email_channel.run_sender(app.state.db, get_settings().mail_poll_seconds)
        )
    try:
        yield
    finally:
        if mailer is not None:
            mailer.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await mailer
        sealer.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await sealer
        writer = getattr(app.state, "socket_writer", None)
        if writer is not None:
            writer.close()  # a batch being committed still finishes and is answered
        # what was recorded since the last pass is chained before the worker stops
        await run_in_threadpool(_seal_once, app.state.db)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def _seal_once(database: Database) -> int:
    return audit.seal_pending(database.sessions, lock=database.write_lock)


async def _seal_audit(database: Database, every: float) -> None:
    """Chains committed audit entries every ``every`` seconds, off the request path: writers
    append without waiting on one another, and the chain trails them by about ``every``."""
    while True:
        await asyncio.sleep(every)
        try:
            await run_in_threadpool(_seal_once, database)
        except Exception:  # the next pass tries again; a failing sealer must not stop the app
            log.exception("audit sealer: pass failed")


def create_app(database: Database | None = None) -> FastAPI:
    settings = get_settings()
    install_log_redaction()
    app = FastAPI(
        lifespan=lifespan,
        title="Kefu API",
        version=__version__,
        description="Customer service for brokerages: desk, knowledge, compliance guard.",
        openapi_url="/openapi.json",
        docs_url=None,  # served below from Kefu's own files, under the same policy
        redoc_url=None,
    )
    app.state.db = database or Database(settings.database_url)

    @app.exception_handler(KefuError)
    async def _kefu_error(request: Request, exc: KefuError) -> Response:
        if _wants_html(request):
            detail = exc.message(language(request))
            resp: Response = error_page(request, exc.status, exc.title, detail)
        else:
            # a message with a key speaks the language the request asked for, else the
            # error's own (English, or the acting person's where the raiser set it)
            lang = asked_language(request) or exc.lang
            resp = problem_response(exc.status, exc.problem(str(request.url.path), lang))
        if "retry_after" in exc.extra:
            resp.headers["Retry-After"] = str(exc.extra["retry_after"])
        return resp

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        # each field's message in the language the request asks for; pydantic's English for
        # a client that names none (the field's code and the error type stay as they are)
        lang = asked_language(request)
        fields = []
        for err in exc.errors():
            loc = err.get("loc", ())
            fields.append(
                {
                    "field": _field_name(loc),
                    "message": input_message(err, lang),
                    "type": err.get("type", ""),
                }
            )
        names = ", ".join(f["field"] for f in fields)
        detail = f"invalid input: {names}"
        if lang:  # what is wrong with each field, said in full (the consoles show the detail)
            said = [
                i18n.t(
                    "errors.field",
                    lang,
                    field=Phrase(f"errors.fields.{f['field']}", f["field"])(lang),
                    message=f["message"],
                )
                for f in fields
            ]
            detail = i18n.t(
                "errors.invalid_input", lang, fields=i18n.t("errors.sep", lang).join(said)
            )
        return problem_response(
            422,
            {
                "type": PROBLEM_BASE + "validation",
                "title": "Invalid input",
                "status": 422,
                "detail": detail,
                "instance": str(request.url.path),
                "errors": fields,
            },
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http(request: Request, exc: StarletteHTTPException) -> Response:
        slug = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        detail = exc.detail if isinstance(exc.detail, str) else "error"
        if exc.status_code == 404:
            detail = f"no route {request.method} {request.url.path}"
        if _wants_html(request):
            return error_page(request, exc.status_code, slug, detail)
        return problem_response(
            exc.status_code,
            {
                "type": PROBLEM_BASE + slug,
                "title": detail,
                "status": exc.status_code,
                "detail": detail,
                "instance": str(request.url.path),
            },
        )

    @app.exception_handler(UnicodeDecodeError)
    async def _utf8(request: Request, exc: UnicodeDecodeError) -> JSONResponse:
        return problem_response(
            400,
            {
                "type": PROBLEM_BASE + "invalid-utf8",
                "title": "Invalid UTF-8",
                "status": 400,
                "detail": f"the request body is not valid UTF-8 (byte {exc.start})",
            },
        )

    @app.get("/healthz", tags=["ops"])
    def healthz() -> JSONResponse:
        try:
            with app.state.db.engine.connect() as conn:
                conn.execute(text("SELECT 1"))
        except Exception as exc:  # report, don't crash: this is what the probe is for
            log.warning("health check failed: %s", exc)
            return problem_response(
                503,
                {
                    "type": PROBLEM_BASE + "unavailable",
                    "title": "Database unreachable",
                    "status": 503,
                    "detail": str(exc.__class__.__name__),
                },
            )
        return JSONResponse(
            {"status": "ok", "database": app.state.db.dialect, "version": __version__}
        )

    @app.get(API_DOCS, include_in_schema=False)
    def api_docs(request: Request) -> Response:
        """The API explorer: Swagger UI, vendored (static/VENDORED.md) rather than loaded from
        a CDN, so no third-party script runs on the consoles' origin."""
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return templates.TemplateResponse(
            request,
            "api/docs.html",
            {
                "title": f"{app.title} - Swagger UI",
                "root": root,
                "openapi_url": root + (app.openapi_url or ""),
                "oauth2_redirect_url": root + API_DOCS_OAUTH2,
            },
        )

    @app.get(API_DOCS_OAUTH2, include_in_schema=False)
    def api_docs_oauth2(request: Request) -> Response:
        root = str(request.scope.get("root_path", "")).rstrip("/")
        return templates.TemplateResponse(request, "api/oauth2_redirect.html", {"root": root})

    # every router, named: the JSON APIs, the chat socket, then each context's pages
    for router in (
        identity_api,
        desk_api,
        desk_workspace_api,
        desk_chat_api,
        mail_api,
        teams_api,
        desk_views_api,
        customers_api,
        compliance_api,
        knowledge_api,
        aml_api,
        market_api,
        quality_api,
        academy_api,
        hub,
        identity_pages,
        desk_pages,
        desk_admin_pages,
        mail_pages,
        teams_pages,
        desk_views_pages,
        customers_pages,
        compliance_pages,
        knowledge_pages,
        aml_pages,
        market_pages,
        quality_pages,
        academy_pages,
        calendar_pages,
    ):
        app.include_router(router)
    static = Path(__file__).with_name("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.add_middleware(
        BodyLimit,
        limit=settings.max_body_bytes,
        wider=(("/api/v1/feeds/", settings.feed_max_body_bytes),),
        # a file at the limit plus its multipart envelope and caption
        upload_limit=settings.attachment_max_bytes + 64 * 1024,
    )
    app.add_middleware(
        SecurityHeaders,
        widget_origins=settings.widget_origins,
        https_only=settings.cookie_secure,
    )
    return app
