"""The audit service's composition root: builds everything in the lifespan, nothing at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path

from fastapi import FastAPI

from services.audit.api import router
from services.audit.consumers import task_processor
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


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The audit app; database and Kafka clients start in the lifespan."""
    settings = settings.for_service(SERVICE, PORT)
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        kit = ServiceKit(settings, clock)
        app.state.kit = kit
        app.state.taxonomy = load_taxonomy(Path(settings.taxonomy_file))
        await kit.start()
        try:
            await kit.consume(
                "tasks", [kit.topics.tasks], record_decoder(Task), task_processor(kit.sessions)
            )
            await kit.relay_outbox(outbox)
            yield
        finally:
            await kit.close()

    app = FastAPI(title="modqa audit", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.clock = clock
    app.include_router(router)
    app.include_router(ops_router(lambda: app.state.kit.readiness()))
    instrument(app, SERVICE)
    return app
