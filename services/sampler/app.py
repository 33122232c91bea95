"""The sampler's composition root: builds everything in the lifespan, nothing at import."""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from collections.abc import AsyncIterator, Awaitable, Callable, Coroutine
from contextlib import AsyncExitStack, asynccontextmanager, suppress
from pathlib import Path

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from fastapi import FastAPI

from services.sampler import handlers
from services.sampler.api import router
from services.sampler.changelog import ChangelogRestorer
from services.sampler.consumers import DecisionConsumer, targeting_processor
from services.sampler.domain.core import SamplerCore
from services.sampler.domain.plan import Revision, default_plan
from services.sampler.domain.selection import PolicyFacts
from services.sampler.errorrates import ErrorRates
from services.sampler.planstore import ScheduleKeeper
from services.sampler.wire import DecisionRecord, decode_record
from shared.background import pause
from shared.clock import Clock, SystemClock
from shared.codec import record_decoder
from shared.events import TargetingRule
from shared.http import REFUSAL_RESPONSES, instrument, ops_router
from shared.kafka.consumer import ConsumerRuntime, Decode, build_consumer
from shared.kafka.producer import build_producer
from shared.service import ServiceKit
from shared.settings import Settings
from shared.taxonomy import load_taxonomy
from shared.topics import Topics

SERVICE = "sampler"
PORT = 8001
EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)

log = logging.getLogger(__name__)


def default_revision(settings: Settings) -> Revision:
    """The plan in force before any is applied: uniform at MODQA_SAMPLER_BASE_RATE."""
    return Revision(
        seq=0,
        plan_id="default",
        version=1,
        effective_from=EPOCH,
        plan=default_plan(rate=settings.sampler_base_rate, salt=settings.sampler_plan_salt),
    )


def _periodic(
    name: str, seconds: float, work: Callable[[], Awaitable[object]]
) -> tuple[Callable[[], Coroutine[object, object, None]], Callable[[], None]]:
    """A loop that runs `work` every `seconds` and survives its failures (logged)."""
    stopping = asyncio.Event()

    async def run() -> None:
        while not stopping.is_set():
            try:
                await work()
            except Exception as error:
                log.warning(
                    "periodic work failed; retrying",
                    extra={"loop": name, "error": f"{type(error).__name__}: {error}"[:300]},
                    exc_info=not isinstance(error, OSError | TimeoutError),
                )
            await pause(stopping, seconds)

    return run, stopping.set


def decision_runtime(
    settings: Settings,
    *,
    consumer: AIOKafkaConsumer,
    producer: AIOKafkaProducer,
    decisions: DecisionConsumer,
    topic: str,
    group: str,
    clock: Clock,
    transactional: bool = True,
    decode: Decode[DecisionRecord] = decode_record,
    producer_factory: Callable[[], AIOKafkaProducer] | None = None,
) -> ConsumerRuntime[DecisionRecord]:
    """The decision stream's consumer runtime (also what `make bench-sampler` measures)."""
    return ConsumerRuntime(
        service=SERVICE,
        consumer=consumer,
        producer=producer,
        topics=[topic],
        group_id=group,
        decode=decode,
        process_batch=decisions.process,
        transactional=transactional,
        batch_max=settings.sampler_batch_max,
        poll_ms=settings.consumer_poll_ms,
        clock=clock,
        on_committed=decisions.committed,
        on_rewound=decisions.rewound,
        on_assigned=decisions.assigned,
        on_revoked=decisions.revoked,
        producer_factory=producer_factory,
    )


def create_app(settings: Settings, *, clock: Clock | None = None) -> FastAPI:
    """The sampler app; database and Kafka clients start in the lifespan."""
    settings = settings.for_service(SERVICE, PORT)
    clock = clock or SystemClock()
    topics = Topics(settings.topic_prefix)
    delay = dt.timedelta(seconds=settings.sampler_activation_delay_seconds)

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        kit = ServiceKit(settings, clock)
        app.state.kit = kit
        await kit.start()
        stack = AsyncExitStack()
        core = SamplerCore(dedupe_days=settings.sampler_dedupe_days)
        try:
            facts = PolicyFacts.from_taxonomy(load_taxonomy(Path(settings.taxonomy_file)))
            keeper = ScheduleKeeper(
                kit.sessions,
                default=default_revision(settings),
                facts=facts,
                delay=delay,
                clock=clock,
            )
            await keeper.reload()
            error_rates = ErrorRates(
                base_url=settings.metrics_url, secret=settings.auth_secret, clock=clock
            )
            stack.push_async_callback(error_rates.close)
            restorer = ChangelogRestorer(settings, topic=topics.sampler_state, core=core)
            await restorer.start()
            stack.push_async_callback(restorer.stop)
            group = topics.group(SERVICE)

            def tasks_producer() -> AIOKafkaProducer:
                return build_producer(
                    settings,
                    client_id=f"{SERVICE}-tasks",
                    transactional_id=f"{group}-{settings.instance_id}",
                )

            transactional = tasks_producer()
            consumer = build_consumer(settings, group_id=group, client_id=SERVICE)
            await transactional.start()
            stack.push_async_callback(transactional.stop)
            await consumer.start()
            stack.push_async_callback(consumer.stop)
            decisions = DecisionConsumer(
                core=core,
                keeper=keeper,
                restorer=restorer,
                topics=topics,
                clock=clock,
                task_partitions=len(await transactional.partitions_for(topics.tasks)),
            )
            runtime = decision_runtime(
                settings,
                consumer=consumer,
                producer=transactional,
                decisions=decisions,
                topic=topics.decisions,
                group=group,
                clock=clock,
                producer_factory=tasks_producer,
            )
            stack.push_async_callback(runtime.close)
            runtime.subscribe()
            kit.loops.start("decisions", runtime.run, runtime.stop)
            await kit.consume(
                "targeting",
                [topics.targeting],
                record_decoder(TargetingRule),
                targeting_processor(sessions=kit.sessions, clock=clock, delay=delay),
            )

            async def flush() -> None:
                await handlers.flush_traffic(sessions=kit.sessions, core=core, now=clock.now())

            async def replan() -> None:
                await handlers.replan_now(
                    sessions=kit.sessions,
                    keeper=keeper,
                    fetch_errors=error_rates.fetch_or_none,
                    now=clock.now,
                    delay=delay,
                    allocation_every=dt.timedelta(hours=settings.sampler_allocation_hours),
                )

            for name, seconds, work in (
                ("reload", settings.sampler_reload_seconds, keeper.reload),
                ("flush", settings.sampler_traffic_flush_seconds, flush),
                ("replan", settings.sampler_replan_seconds, replan),
            ):
                kit.loops.start(name, *_periodic(name, seconds, work))

            async def schedule_fresh() -> None:
                age = keeper.age()
                if age > delay.total_seconds() / 2:
                    raise TimeoutError(f"plans last reloaded {age:.0f}s ago")

            app.state.keeper = keeper
            app.state.error_rates = error_rates
            app.state.core = core
            app.state.readiness = {**kit.readiness(), "plans": schedule_fresh}
            yield
        finally:
            await kit.loops.stop_all()
            with suppress(Exception):
                await handlers.flush_traffic(sessions=kit.sessions, core=core, now=clock.now())
            await stack.aclose()
            await kit.close()

    app = FastAPI(title="modqa sampler", version="0.2.0", lifespan=lifespan)
    app.state.settings = settings
    app.state.clock = clock
    app.state.topics = topics
    app.state.readiness = {}
    app.include_router(router, responses=REFUSAL_RESPONSES)
    app.include_router(ops_router(lambda: app.state.readiness))
    instrument(app, SERVICE)
    return app
