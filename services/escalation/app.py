"""The escalation service's composition root: builds everything in the lifespan."""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.escalation.api import router
from services.escalation.consumers import EventDecoder, event_processor
from services.escalation.loops import Ticker, WebhookDispatcher
from services.escalation.metrics import export_zeros, observe_published
from services.escalation.tables import outbox
from shared.clock import Clock, SystemClock
from shared.db.outbox import OutboxMessage
from shared.http import REFUSAL_RESPONSES, instrument, ops_router
from shared.service import ServiceKit
from shared.settings import Settings

SERVICE = "escalation"
PORT = 8003


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The escalation app; database and Kafka clients and loops start in the lifespan."""
    settings = settings.for_service(SERVICE, PORT)
    clock = clock or SystemClock()

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        kit = ServiceKit(settings, clock)
        app.state.kit = kit
        export_zeros()
        await kit.start()
        try:
            decoder = EventDecoder(kit.topics)
            # the group keeps its first name so a deployment upgraded from verdicts-only keeps
            # its committed verdict offsets; disputes and signals join it from their beginning
            await kit.consume(
                "verdicts",
                decoder.topics,
                decoder,
                event_processor(sessions=kit.sessions, topics=kit.topics, clock=clock),
            )

            def published(messages: Sequence[OutboxMessage]) -> None:
                observe_published(
                    messages, corrections_topic=kit.topics.corrections, now=clock.now()
                )

            await kit.relay_outbox(outbox, on_published=published)
            ticker = Ticker(
                sessions=kit.sessions,
                topics=kit.topics,
                clock=clock,
                every_s=settings.escalation_tick_seconds,
            )
            app.state.ticker = ticker
            kit.loops.start("timers", ticker.run, ticker.stop)
            dispatcher = WebhookDispatcher(sessions=kit.sessions, clock=clock, settings=settings)
            kit.loops.start("webhooks", dispatcher.run, dispatcher.stop)
            yield
        finally:
            await kit.close()

    app = FastAPI(title="modqa escalation", version="0.2.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.clock = clock
    app.include_router(router, responses=REFUSAL_RESPONSES)
    app.include_router(ops_router(lambda: app.state.kit.readiness()))
    instrument(app, SERVICE)
    return app
