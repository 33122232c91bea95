"""The metrics service's composition root: builds everything in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.metrics import handlers
from services.metrics.api import router
from services.metrics.consumers import event_decoder, event_processor
from services.metrics.metrics import GaugeRefresher
from shared.clock import Clock, SystemClock
from shared.http import instrument, ops_router
from shared.service import ServiceKit
from shared.settings import Settings

SERVICE = "metrics"
PORT = 8004


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The metrics app; database and Kafka clients start in the lifespan."""
    settings = settings.for_service(SERVICE, PORT)
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        kit = ServiceKit(settings, clock)
        app.state.kit = kit
        await kit.start()
        try:
            await kit.consume(
                "events",
                [kit.topics.tasks, kit.topics.verdicts],
                event_decoder(kit.topics),
                event_processor(kit.sessions),
            )
            refresher = GaugeRefresher(
                lambda: handlers.accuracy(sessions=kit.sessions, group_by=["queue", "market"]),
                every_s=settings.metrics_refresh_seconds,
            )
            kit.loops.start("gauges", refresher.run, refresher.stop)
            yield
        finally:
            await kit.close()

    app = FastAPI(title="modqa metrics", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.include_router(router)
    app.include_router(ops_router(lambda: app.state.kit.readiness()))
    instrument(app, SERVICE)
    return app
