"""Task ingest from Kafka: the service's batch processor against one INSERT per message, both
run by the same consumer runtime on the same topic."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaProducer
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bench.audit_infra import Infra, bench_task, drop_database, fresh_database
from bench.settings import BENCH_AUTH_SECRET
from services.audit import repository as repo
from services.audit.consumers import task_processor
from shared.codec import record_decoder
from shared.db.engine import build_engine, build_sessions
from shared.events import Task, encode
from shared.kafka.admin import ensure_topics
from shared.kafka.consumer import ConsumerRuntime, Incoming, Outgoing, Process, build_consumer
from shared.kafka.producer import build_producer
from shared.settings import Settings
from shared.topics import Topics


def one_insert_per_message(sessions: async_sessionmaker[AsyncSession]) -> Process[Task]:
    """The naive consumer: one INSERT and one transaction per message."""

    async def process(items: list[Incoming[Task]]) -> Sequence[Outgoing]:
        for item in items:
            async with sessions.begin() as session:
                await repo.insert_tasks(session, [item.event])
        return ()

    return process


async def ingest(
    infra: Infra,
    topic: str,
    n: int,
    make: Callable[[async_sessionmaker[AsyncSession]], Process[Task]],
    name: str,
    tag: str,
) -> float:
    """Seconds from the first consumed batch until all `n` tasks are stored."""
    database = f"bench_ingest_{name}_{tag}"
    url = await fresh_database(infra, database, migrate=True)
    settings = Settings(
        environment="test",
        kafka_bootstrap=infra.bootstrap,
        database_url=url,
        auth_secret=BENCH_AUTH_SECRET,
    )
    engine = build_engine(settings)
    sessions = build_sessions(engine)
    inner = make(sessions)
    done = asyncio.Event()
    seen = 0
    first: float | None = None
    finished = 0.0

    async def process(items: list[Incoming[Task]]) -> Sequence[Outgoing]:
        nonlocal seen, first, finished
        if first is None:
            first = time.perf_counter()
        out = await inner(items)
        seen += len(items)
        if seen >= n:
            finished = time.perf_counter()
            done.set()
        return out

    group = f"bench-{name}-{tag}"
    consumer = build_consumer(settings, group_id=group, client_id=group)
    producer = build_producer(settings, client_id=group)
    await consumer.start()
    await producer.start()
    runtime: ConsumerRuntime[Task] = ConsumerRuntime(
        service="bench",
        consumer=consumer,
        producer=producer,
        topics=[topic],
        group_id=group,
        decode=record_decoder(Task),
        process=process,
        batch_max=500,
        poll_ms=50,
    )
    runtime.subscribe()
    running = asyncio.create_task(runtime.run())
    try:
        await asyncio.wait_for(done.wait(), timeout=600)
    finally:
        runtime.stop()
        await running
        await consumer.stop()
        await producer.stop()
        await engine.dispose()
        await drop_database(infra, database)
    assert first is not None
    return finished - first


async def ingest_bench(infra: Infra, n: int, tag: str) -> tuple[float, float]:
    topics = Topics(prefix=f"bench{tag}.ingest.")
    await ensure_topics(infra.bootstrap, topics)
    producer = AIOKafkaProducer(
        bootstrap_servers=infra.bootstrap, acks="all", enable_idempotence=True, linger_ms=20
    )
    await producer.start()
    try:
        print(f"producing {n} tasks to {topics.tasks} ...", flush=True)
        for i in range(n):
            task = bench_task(i)
            await producer.send(topics.tasks, encode(task), key=task.task_id.encode())
        await producer.flush()
    finally:
        await producer.stop()
    print("ingest: batched (the service's task processor) ...", flush=True)
    batched = await ingest(infra, topics.tasks, n, task_processor, "batched", tag)
    print("ingest: one insert per message ...", flush=True)
    single = await ingest(infra, topics.tasks, n, one_insert_per_message, "single", tag)
    return batched, single
