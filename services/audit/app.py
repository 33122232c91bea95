"""The audit service's composition root: builds everything in the lifespan, nothing at import."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI, Request, status
from fastapi.responses import JSONResponse
from fastapi.telemetry import TelemetryConfig

from services.audit import api, api_admin, api_reviews, handlers_admin
from services.audit.catalog import Catalog
from services.audit.consumers import task_processor
from services.audit.domain.disputes import DisputeRefused
from services.audit.domain.verdicts import InvalidVerdict
from services.audit.errors import Conflict, NotFound, Refused
from services.audit.queries import BadCursor
from services.audit.sweeper import LeaseSweeper
from services.audit.tables import outbox
from shared.clock import Clock, SystemClock
from shared.codec import record_decoder
from shared.events import Task
from shared.http import instrument, ops_router
from shared.service import ServiceKit
from shared.settings import Settings
from shared.taxonomy import load_taxonomy

SERVICE = "audit"
PORT = 8002

REFUSALS: dict[type[Exception], int] = {
    NotFound: status.HTTP_404_NOT_FOUND,
    Refused: status.HTTP_403_FORBIDDEN,
    DisputeRefused: status.HTTP_403_FORBIDDEN,
    Conflict: status.HTTP_409_CONFLICT,
    InvalidVerdict: status.HTTP_422_UNPROCESSABLE_CONTENT,
    BadCursor: status.HTTP_422_UNPROCESSABLE_CONTENT,
}
"""How the handlers' refusals reach callers: one status per kind, the message as `detail`."""


TELEMETRY: TelemetryConfig = {"operation_spans": False}
"""FastAPI's own OpenTelemetry: a span per request (its trace id reaches the log lines), but
none per dependency, endpoint and serialisation: nothing exports them, and they were about a
quarter of the claim and verdict requests' CPU outside the handlers."""


def _refusal_handler(code: int) -> Callable[[Request, Exception], Awaitable[JSONResponse]]:
    async def handle(_: Request, error: Exception) -> JSONResponse:
        return JSONResponse({"detail": str(error)}, status_code=code)

    return handle


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The audit app; database and Kafka clients start in the lifespan."""
    settings = settings.for_service(SERVICE, PORT)
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        kit = ServiceKit(settings, clock)
        app.state.kit = kit
        await kit.start()
        try:
            await handlers_admin.seed_taxonomy(
                sessions=kit.sessions,
                taxonomy=load_taxonomy(Path(settings.taxonomy_file)),
                now=clock.now(),
            )
            await kit.consume(
                "tasks", [kit.topics.tasks], record_decoder(Task), task_processor(kit.sessions)
            )
            await kit.relay_outbox(outbox)
            sweeper = LeaseSweeper(
                sessions=kit.sessions, clock=clock, interval_s=settings.audit_sweep_seconds
            )
            kit.loops.start("lease-sweeper", sweeper.run, sweeper.stop)
            yield
        finally:
            await kit.close()

    app = FastAPI(title="modqa audit", version="0.2.0", lifespan=lifespan, telemetry=TELEMETRY)
    app.state.settings = settings
    app.state.clock = clock
    app.state.catalog = Catalog()
    for router in (api.router, api_admin.router, api_reviews.router):
        app.include_router(router)
    app.include_router(ops_router(lambda: app.state.kit.readiness()))
    for kind, code in REFUSALS.items():
        app.add_exception_handler(kind, _refusal_handler(code))
    instrument(app, SERVICE)
    return app
