"""The application factory: API routers, consoles, problem+json errors, health."""

from __future__ import annotations

import asyncio
import contextlib
import logging
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
from starlette.exceptions import HTTPException as StarletteHTTPException
from starlette.types import ASGIApp, Receive, Scope, Send

from kefu import __version__
from kefu.compliance.views import router as compliance_api
from kefu.core.config import get_settings
from kefu.core.db import Database
from kefu.core.errors import PROBLEM_BASE, KefuError
from kefu.core.events import broker_from_url, set_broker
from kefu.core.http import error_page
from kefu.customers.pages import router as customers_pages
from kefu.customers.views import router as customers_api
from kefu.desk.pages import router as desk_pages
from kefu.desk.views import router as desk_api
from kefu.identity.pages import router as identity_pages
from kefu.identity.views import router as identity_api
from kefu.knowledge import service as knowledge
from kefu.knowledge.pages import router as knowledge_pages
from kefu.knowledge.views import router as knowledge_api
from kefu.web.hub import router as hub

log = logging.getLogger("kefu")
PROBLEM = "application/problem+json"


def problem_response(status: int, body: dict[str, Any]) -> JSONResponse:
    return JSONResponse(body, status_code=status, media_type=PROBLEM)


class BodyLimit:
    """Refuses request bodies over the configured size with 413 before reading them."""

    def __init__(self, app: ASGIApp, limit: int) -> None:
        self.app, self.limit = app, limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            for name, value in scope.get("headers", ()):
                if name == b"content-length" and value.isdigit() and int(value) > self.limit:
                    resp = problem_response(
                        413,
                        {
                            "type": PROBLEM_BASE + "too-large",
                            "title": "Payload too large",
                            "status": 413,
                            "limit": self.limit,
                            "detail": f"request body is {int(value)} bytes; limit {self.limit}",
                        },
                    )
                    await resp(scope, receive, send)
                    return
        await self.app(scope, receive, send)


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
    if not url.startswith("memory"):
        broker = broker_from_url(url)
        set_broker(broker)
        ready = asyncio.Event()
        task = asyncio.create_task(broker.run(ready))  # type: ignore[attr-defined]
        await asyncio.wait_for(ready.wait(), timeout=10)
    try:
        yield
    finally:
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task


def create_app(database: Database | None = None) -> FastAPI:
    settings = get_settings()
    app = FastAPI(
        lifespan=lifespan,
        title="Kefu API",
        version=__version__,
        description="Customer service for brokerages: desk, knowledge, compliance guard.",
        openapi_url="/openapi.json",
        docs_url="/api/docs",
        redoc_url=None,
    )
    app.state.db = database or Database(settings.database_url)

    @app.exception_handler(KefuError)
    async def _kefu_error(request: Request, exc: KefuError) -> Response:
        if _wants_html(request):
            return error_page(request, exc.status, exc.title, exc.detail)
        return problem_response(exc.status, exc.problem(str(request.url.path)))

    @app.exception_handler(RequestValidationError)
    async def _validation(request: Request, exc: RequestValidationError) -> JSONResponse:
        fields = []
        for err in exc.errors():
            loc = err.get("loc", ())
            fields.append(
                {
                    "field": _field_name(loc),
                    "message": err.get("msg", "invalid"),
                    "type": err.get("type", ""),
                }
            )
        names = ", ".join(f["field"] for f in fields)
        return problem_response(
            422,
            {
                "type": PROBLEM_BASE + "validation",
                "title": "Invalid input",
                "status": 422,
                "detail": f"invalid input: {names}",
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

    # every router, named: the JSON APIs, the chat socket, then each context's pages
    for router in (
        identity_api,
        desk_api,
        customers_api,
        compliance_api,
        knowledge_api,
        hub,
        identity_pages,
        desk_pages,
        customers_pages,
        knowledge_pages,
    ):
        app.include_router(router)
    static = Path(__file__).with_name("static")
    app.mount("/static", StaticFiles(directory=str(static)), name="static")
    app.add_middleware(BodyLimit, limit=settings.max_body_bytes)
    return app
