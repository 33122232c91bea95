"""What every service's HTTP surface shares: health, readiness, metrics, limits and timing."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import re
import time
from collections.abc import Awaitable, Callable
from typing import Annotated, Any
from urllib.parse import parse_qsl

import asyncpg
from aiokafka.errors import KafkaError
from fastapi import APIRouter, FastAPI, Request, Response
from fastapi.responses import JSONResponse, PlainTextResponse
from pydantic import BaseModel, BeforeValidator, WithJsonSchema
from sqlalchemy import exc as sa_exc
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from shared.errors import is_transient
from shared.observability.metrics import http_metrics, render_latest

log = logging.getLogger(__name__)

ReadinessCheck = Callable[[], Awaitable[Any]]


class ErrorOut(BaseModel):
    """Every error answer: a message that says what to do, or FastAPI's list of field errors."""

    detail: str | list[dict[str, Any]]


ERROR_RESPONSES: dict[int | str, dict[str, Any]] = {
    401: {"model": ErrorOut, "description": "missing, invalid or expired bearer token"},
    403: {"model": ErrorOut, "description": "the caller's roles may not do this"},
    413: {"model": ErrorOut, "description": "request body too large"},
    422: {"model": ErrorOut, "description": "invalid input; the message names the field"},
    503: {
        "model": ErrorOut,
        "description": "the database or Kafka is unavailable for the moment; retry after "
        "the Retry-After seconds",
    },
}
"""Answers every authenticated route can give, documented once for all of them."""

REFUSAL_RESPONSES: dict[int | str, dict[str, Any]] = {
    **ERROR_RESPONSES,
    400: {"model": ErrorOut, "description": "a malformed body, document or cursor"},
    404: {"model": ErrorOut, "description": "no such resource, or none the caller may see"},
    409: {"model": ErrorOut, "description": "the resource's state does not allow this now"},
}
"""The common answers plus the refusals of services whose handlers look resources up and
check their state (documented so that clients, and the schema checks, expect them)."""

TEXT_FORMATS: dict[int | str, dict[str, Any]] = {
    200: {
        "content": {
            "text/csv": {"schema": {"type": "string"}},
            "text/markdown": {"schema": {"type": "string"}},
        },
        "description": "JSON, or CSV / Markdown with `format=csv|md`",
    }
}


def api_router(prefix: str = "/v1") -> APIRouter:
    """A router for authenticated routes, with the common error answers documented."""
    return APIRouter(prefix=prefix, responses=ERROR_RESPONSES)


_ISO_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


def _iso_date(value: object) -> object:
    if isinstance(value, str) and not _ISO_DATE.match(value):
        raise ValueError("expected a date as YYYY-MM-DD")
    return value


def _iso_datetime(value: object) -> object:
    if isinstance(value, str):
        try:
            dt.datetime.fromisoformat(value)
        except ValueError as error:
            raise ValueError("expected an ISO 8601 date and time") from error
    return value


IsoDate = Annotated[
    dt.date, BeforeValidator(_iso_date), WithJsonSchema({"type": "string", "format": "date"})
]
"""A date written YYYY-MM-DD (not a Unix timestamp, which pydantic would otherwise accept)."""

IsoDatetime = Annotated[
    dt.datetime,
    BeforeValidator(_iso_datetime),
    WithJsonSchema({"type": "string", "format": "date-time"}),
]
"""An ISO 8601 timestamp (not a bare number)."""

MAX_BODY_BYTES = 4 * 1024 * 1024

INT4_MAX = 2**31 - 1
INT8_MAX = 2**63 - 1
"""The largest values PostgreSQL's integer and bigint hold: a number a request sends to a
query must be bounded by the column's type (422), or the driver fails the request (500)."""


def ops_router(
    checks: Callable[[], dict[str, ReadinessCheck]], *, timeout_s: float = 3.0
) -> APIRouter:
    """`/healthz`, `/readyz` (every check, as the lifespan registered them, must pass within the
    timeout) and `/metrics`."""
    router = APIRouter(tags=["ops"])

    @router.get("/healthz")
    async def healthz() -> dict[str, str]:
        return {"status": "alive"}

    @router.get("/readyz", responses={503: {"description": "Kafka or the database is unreachable"}})
    async def readyz() -> JSONResponse:
        results: dict[str, str] = {}
        for name, check in checks().items():
            try:
                await asyncio.wait_for(check(), timeout=timeout_s)
                results[name] = "ok"
            except Exception as error:
                results[name] = f"failing: {type(error).__name__}: {error}"[:300]
        ready = all(value == "ok" for value in results.values())
        return JSONResponse({"ready": ready, "checks": results}, status_code=200 if ready else 503)

    @router.get(
        "/metrics",
        response_class=PlainTextResponse,
        responses={200: {"content": {"text/plain": {"schema": {"type": "string"}}}}},
    )
    async def metrics() -> Response:
        body, content_type = render_latest()
        return Response(body, media_type=content_type)

    return router


class BodySizeLimit:
    """Refuses request bodies larger than the limit with 413, before the route reads them."""

    def __init__(self, app: ASGIApp, max_bytes: int = MAX_BODY_BYTES) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        declared = dict(scope.get("headers") or []).get(b"content-length")
        if declared is not None and declared.isdigit() and int(declared) > self.max_bytes:
            await _too_large(self.max_bytes, send)
            return
        seen = 0
        refused = False

        async def limited_receive() -> Message:
            # Answer 413 as soon as the body passes the limit, then tell the app the client
            # left: an exception here would be turned into a 400 by FastAPI's body parsing.
            nonlocal seen, refused
            if refused:
                return {"type": "http.disconnect"}
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    refused = True
                    await _too_large(self.max_bytes, send)
                    return {"type": "http.disconnect"}
            return message

        async def send_unless_refused(message: Message) -> None:
            if not refused:
                await send(message)

        try:
            await self.app(scope, limited_receive, send_unless_refused)
        except Exception:
            if not refused:
                raise


async def _too_large(limit: int, send: Send) -> None:
    response = JSONResponse(
        {"detail": f"request body larger than {limit} bytes; send smaller batches"},
        status_code=413,
    )
    await response({"type": "http"}, _empty_receive, send)


async def _empty_receive() -> Message:
    return {"type": "http.disconnect"}


class RefuseNulCharacters:
    """Refuses a NUL character in the path, a query parameter or a JSON body with 422:
    PostgreSQL text cannot hold one, so it would otherwise fail the query (500) wherever the
    value reaches SQL. Runs inside the body-size limit, so the body it reads is bounded."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        where = _nul_in(scope)
        if where is None and _is_json(scope):
            body, ended = await _read_body(receive)
            if ended is not None:
                return  # the client left, or the size limit has answered already
            where = "body" if _JSON_NUL.search(body) else None
            receive = _replay(body, receive)
        if where is not None:
            response = JSONResponse(
                {"detail": f"{where}: NUL characters are not allowed"}, status_code=422
            )
            await response(scope, receive, send)
            return
        await self.app(scope, receive, send)


_JSON_NUL = re.compile(rb"(?<!\\)(?:\\\\)*\\u0000")
"""`\\u0000` in JSON text, unless its backslash is itself escaped (`\\\\u0000` is text)."""


def _is_json(scope: Scope) -> bool:
    content_type = dict(scope.get("headers") or []).get(b"content-type", b"")
    return b"json" in content_type.lower()


async def _read_body(receive: Receive) -> tuple[bytes, Message | None]:
    """The whole body, or the message that ended the request before it."""
    chunks: list[bytes] = []
    while True:
        message = await receive()
        if message["type"] != "http.request":
            return b"", message
        chunks.append(message.get("body", b""))
        if not message.get("more_body", False):
            return b"".join(chunks), None


def _replay(body: bytes, receive: Receive) -> Receive:
    """A receive that hands the app the body already read, then waits as the server does."""
    sent = False

    async def replayed() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replayed


def _nul_in(scope: Scope) -> str | None:
    """The name of the first part of the URL that holds a NUL character, if any."""
    if "\x00" in scope.get("path", ""):
        return "path"
    raw: bytes = scope.get("query_string", b"")
    if b"%00" not in raw and b"\x00" not in raw:
        return None
    for name, value in parse_qsl(raw.decode("latin-1"), keep_blank_values=True):
        if "\x00" in name or "\x00" in value:
            return name.replace("\x00", "") or "query"
    return None


class RequestMetrics:
    """Counts and times every request by method, route template and status (bounded labels)."""

    def __init__(self, app: ASGIApp, service: str) -> None:
        self.app = app
        self.metrics = http_metrics(service)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        started = time.perf_counter()
        status = 500

        async def send_with_status(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, send_with_status)
        finally:
            route = scope.get("route")
            template = getattr(route, "path", "unmatched")
            method = scope.get("method", "GET")
            self.metrics.requests.labels(method, template, str(status)).inc()
            self.metrics.latency.labels(method, template).observe(time.perf_counter() - started)


DEPENDENCY_ERRORS: tuple[type[Exception], ...] = (
    asyncpg.PostgresError,
    asyncpg.InterfaceError,
    sa_exc.DBAPIError,
    sa_exc.TimeoutError,
    sa_exc.DisconnectionError,
    KafkaError,
    OSError,
    asyncio.TimeoutError,
)
"""What a request meets when PostgreSQL or Kafka is away (restarting, unreachable, busy)."""


async def dependency_unavailable(request: Request, error: Exception) -> JSONResponse:
    """503 with Retry-After when the database or the broker is away (a retry will do), instead
    of a 500 and a traceback; any other error of those kinds is still a 500, logged."""
    path = request.url.path
    if not is_transient(error):
        log.error("request failed", exc_info=error, extra={"path": path})
        return JSONResponse({"detail": "internal error"}, status_code=500)
    log.warning(
        "request refused: a dependency is unavailable",
        extra={"path": path, "error": f"{type(error).__name__}: {error}"[:300]},
    )
    return JSONResponse(
        {"detail": "the database or Kafka is unavailable for the moment; retry shortly"},
        status_code=503,
        headers={"Retry-After": "2"},
    )


def instrument(app: FastAPI, service: str) -> None:
    """Add the request metrics, the body-size limit, the NUL refusal and the 503 for an
    unavailable database or broker to an app."""
    for kind in DEPENDENCY_ERRORS:
        app.add_exception_handler(kind, dependency_unavailable)
    app.add_middleware(RefuseNulCharacters)
    app.add_middleware(BodySizeLimit)
    app.add_middleware(RequestMetrics, service=service)
