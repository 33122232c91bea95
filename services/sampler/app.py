"""The sampler's composition root: builds everything in the lifespan, nothing at import."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from fastapi import FastAPI

from services.sampler.api import router
from services.sampler.consumers import decision_processor
from services.sampler.domain import UniformPlan
from shared.background import BackgroundLoops
from shared.clock import Clock, SystemClock
from shared.codec import record_decoder
from shared.events import Decision
from shared.http import instrument, ops_router
from shared.kafka.consumer import ConsumerRuntime, build_consumer
from shared.kafka.producer import broker_reachable, build_producer
from shared.settings import Settings
from shared.topics import Topics

SERVICE = "sampler"
PORT = 8001


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The sampler app; Kafka clients start in the lifespan."""
    settings = settings.for_service(SERVICE, PORT)
    clock = clock or SystemClock()
    topics = Topics(settings.topic_prefix)
    plan = UniformPlan(
        plan_id="default",
        version=1,
        rate=settings.sampler_base_rate,
        salt=settings.sampler_plan_salt,
    )

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        group = topics.group(SERVICE)
        ingest = build_producer(settings, client_id=f"{SERVICE}-ingest")
        transactional = build_producer(
            settings,
            client_id=f"{SERVICE}-tasks",
            transactional_id=f"{group}-{settings.instance_id}",
        )
        consumer = build_consumer(settings, group_id=group, client_id=SERVICE)
        await ingest.start()
        await transactional.start()
        await consumer.start()
        runtime: ConsumerRuntime[Decision] = ConsumerRuntime(
            service=SERVICE,
            consumer=consumer,
            producer=transactional,
            topics=[topics.decisions],
            group_id=group,
            decode=record_decoder(Decision),
            process=decision_processor(plan=lambda: plan, topics=topics, clock=clock),
            transactional=True,
            batch_max=settings.consumer_batch_max,
            poll_ms=settings.consumer_poll_ms,
            clock=clock,
        )
        runtime.subscribe()
        loops = BackgroundLoops()
        loops.start("decisions", runtime.run, runtime.stop)
        app.state.ingest_producer = ingest
        app.state.readiness = {"kafka": lambda: broker_reachable(ingest)}
        try:
            yield
        finally:
            await loops.stop_all()
            await consumer.stop()
            await transactional.stop()
            await ingest.stop()

    app = FastAPI(title="modqa sampler", version="0.1.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.topics = topics
    app.state.plan = plan
    app.include_router(router)
    app.include_router(ops_router(lambda: app.state.readiness))
    instrument(app, SERVICE)
    return app
