"""The escalation service's composition root: builds everything in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.escalation.api import router
from services.escalation.consumers import verdict_processor
from services.escalation.tables import outbox
from shared.clock import Clock, SystemClock
from shared.codec import record_decoder
from shared.events import Verdict
from shared.http import instrument, ops_router
from shared.service import ServiceKit
from shared.settings import Settings

SERVICE = "escalation"
PORT = 8003


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The escalation app; database and Kafka clients start in the lifespan."""
    settings = settings.for_service(SERVICE, PORT)
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        kit = ServiceKit(settings, clock)
        app.state.kit = kit
        await kit.start()
        try:
            await kit.consume(
                "verdicts",
                [kit.topics.verdicts],
                record_decoder(Verdict),
                verdict_processor(sessions=kit.sessions, topics=kit.topics, clock=clock),
            )
            await kit.relay_outbox(outbox)
            yield
        finally:
            await kit.close()

    app = FastAPI(title="modqa escalation", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.include_router(router)
    app.include_router(ops_router(lambda: app.state.kit.readiness()))
    instrument(app, SERVICE)
    return app
