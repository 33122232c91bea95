"""The metrics service's composition root: builds everything in the lifespan."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.metrics import queries
from services.metrics.api import router
from services.metrics.consumers import EventDecoder, event_processor
from services.metrics.domain.drift import design_for
from services.metrics.domain.figures import GroupFigures
from services.metrics.metrics import GaugeRefresher
from services.metrics.repository import FigureQuery
from services.metrics.tables import outbox
from shared.clock import Clock, SystemClock
from shared.http import instrument, ops_router
from shared.service import ServiceKit
from shared.settings import Settings

SERVICE = "metrics"
PORT = 8004
GAUGE_DAYS = 7
GAUGE_GROUPINGS = (("market",), ("market", "queue"), ("market", "policy_id"))


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The metrics app; database and Kafka clients start in the lifespan."""
    settings = settings.for_service(SERVICE, PORT)
    clock = clock or SystemClock()
    design = design_for(
        settings.drift_baseline_error_rate,
        min(0.95, settings.drift_baseline_error_rate * settings.drift_shift_ratio),
        settings.drift_arl0,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        kit = ServiceKit(settings, clock)
        app.state.kit = kit
        await kit.start()
        try:
            decoder = EventDecoder(kit.topics)
            await kit.consume(
                "events",
                decoder.topics(),
                decoder,
                event_processor(
                    sessions=kit.sessions, topics=kit.topics, design=design, clock=clock
                ),
            )
            await kit.relay_outbox(outbox)

            async def gauge_figures() -> list[GroupFigures]:
                today = clock.now().date()
                out: list[GroupFigures] = []
                for grouping in GAUGE_GROUPINGS:
                    out += await queries.quality(
                        sessions=kit.sessions,
                        query=FigureQuery(
                            group_by=grouping,
                            date_from=today - dt.timedelta(days=GAUGE_DAYS - 1),
                            date_to=today,
                        ),
                    )
                return out

            refresher = GaugeRefresher(gauge_figures, every_s=settings.metrics_refresh_seconds)
            kit.loops.start("gauges", refresher.run, refresher.stop)
            yield
        finally:
            await kit.close()

    app = FastAPI(title="modqa metrics", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.clock = clock
    app.state.drift_design = design
    app.include_router(router)
    app.include_router(ops_router(lambda: app.state.kit.readiness()))
    instrument(app, SERVICE)
    return app
