"""The pieces a database-backed service wires in its lifespan, built and torn down in one place."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence
from contextlib import AsyncExitStack
from typing import TypeVar

from aiokafka import AIOKafkaProducer
from sqlalchemy import Table
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from shared.background import BackgroundLoops
from shared.clock import Clock
from shared.db.engine import build_engine, build_sessions, ping
from shared.db.outbox import OutboxMessage, OutboxRelay
from shared.http import ReadinessCheck
from shared.kafka.consumer import ConsumerRuntime, Decode, Process, build_consumer
from shared.kafka.producer import broker_reachable, build_producer, start_producer
from shared.settings import Settings
from shared.topics import Topics

T = TypeVar("T")


class ServiceKit:
    """Engine, sessions, producers, consumers and relays of one service process."""

    def __init__(self, settings: Settings, clock: Clock) -> None:
        self.settings = settings
        self.clock = clock
        self.service = settings.service_name
        self.topics = Topics(settings.topic_prefix, settings.consumer_group_prefix)
        self.engine: AsyncEngine = build_engine(settings)
        self.sessions: async_sessionmaker[AsyncSession] = build_sessions(self.engine)
        self.producer: AIOKafkaProducer = build_producer(settings, client_id=self.service)
        self.loops = BackgroundLoops()
        self._stack = AsyncExitStack()

    async def start(self) -> None:
        """Connect the shared producer; consumers and relays start with their own calls.

        A service started while Kafka is unreachable (started before it, or during a broker
        restart) waits for it, up to `startup_wait_seconds`, instead of exiting at once."""
        started = await start_producer(
            lambda: build_producer(self.settings, client_id=self.service),
            stopping=asyncio.Event(),
            deadline=time.monotonic() + self.settings.startup_wait_seconds,
        )
        assert started is not None  # nothing sets that event: it returns or raises
        self.producer = started
        self._stack.push_async_callback(self.producer.stop)
        self._stack.push_async_callback(self.engine.dispose)

    def readiness(self) -> dict[str, ReadinessCheck]:
        """Kafka and the database must both answer."""
        return {
            "kafka": lambda: broker_reachable(self.producer),
            "database": lambda: ping(self.engine),
        }

    async def consume(
        self, name: str, topics: Sequence[str], decode: Decode[T], process: Process[T]
    ) -> ConsumerRuntime[T]:
        """Start a durable-mode consumer loop (work committed by `process`, then offsets)."""
        group = self.topics.group(self.service, name)
        consumer = build_consumer(self.settings, group_id=group, client_id=f"{self.service}-{name}")
        await consumer.start()
        self._stack.push_async_callback(consumer.stop)
        runtime: ConsumerRuntime[T] = ConsumerRuntime(
            service=self.service,
            consumer=consumer,
            producer=self.producer,
            topics=topics,
            group_id=group,
            decode=decode,
            process=process,
            batch_max=self.settings.consumer_batch_max,
            poll_ms=self.settings.consumer_poll_ms,
            clock=self.clock,
            log_records=True,
        )
        runtime.subscribe()
        self.loops.start(f"consume:{name}", runtime.run, runtime.stop)
        return runtime

    async def relay_outbox(
        self,
        table: Table,
        *,
        on_published: Callable[[Sequence[OutboxMessage]], None] | None = None,
    ) -> OutboxRelay:
        """Start the exactly-once outbox relay of this service (`on_published` sees each batch)."""
        relay = OutboxRelay(
            service=self.service,
            engine=self.engine,
            table=table,
            producer_factory=lambda: build_producer(
                self.settings,
                client_id=f"{self.service}-outbox",
                transactional_id=f"{self.topics.prefix}modqa-{self.service}-outbox",
            ),
            bootstrap=self.settings.kafka_bootstrap,
            progress_topic=self.topics.outbox_progress(self.service),
            batch_max=self.settings.outbox_batch_max,
            poll_s=self.settings.outbox_poll_ms / 1000,
            on_published=on_published,
        )
        self.loops.start("outbox", relay.run, relay.stop)
        return relay

    async def close(self) -> None:
        """Stop loops first (they finish their batch), then clients, then the engine."""
        await self.loops.stop_all()
        await self._stack.aclose()
