"""The sampler's stream side wired as in `services.sampler.app` (same runtime, process, state,
plan schedule, changelog and background reload/flush), without HTTP, for measurements."""

from __future__ import annotations

import asyncio
import datetime as dt
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from services.sampler import handlers, repository
from services.sampler.app import decision_runtime, default_revision
from services.sampler.changelog import ChangelogRestorer
from services.sampler.consumers import DecisionConsumer
from services.sampler.domain.core import SamplerCore
from services.sampler.domain.selection import PolicyFacts
from services.sampler.planstore import ScheduleKeeper
from services.sampler.wire import decode_record
from shared.background import pause
from shared.clock import SystemClock
from shared.db.engine import build_engine, build_sessions
from shared.kafka.consumer import build_consumer
from shared.kafka.producer import build_producer
from shared.settings import Settings
from shared.taxonomy import load_taxonomy
from shared.topics import Topics

LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.UTC)


async def store_plan(database_url: str, document: dict[str, Any]) -> None:
    """Store the plan and make it the one in force for every decision since 2000."""
    engine = build_engine(Settings(database_url=database_url))
    sessions = build_sessions(engine)
    try:
        now = dt.datetime.now(dt.UTC)
        version, _ = await handlers.store_plan(
            sessions=sessions, plan_id="bench", document=document, author="bench", now=now
        )
        async with sessions.begin() as session:
            await repository.insert_revision(
                session,
                plan_id="bench",
                version=version,
                effective_from=LONG_AGO,
                reason="applied",
                scales={"korean": 0.8},
                allocation=None,
                author="bench",
                now=now,
            )
    finally:
        await engine.dispose()


@dataclass(frozen=True)
class RunResult:
    decisions: int
    tasks: int
    seconds: float
    moderators: int
    task_ids: int
    phases: dict[str, float]
    """Seconds spent decoding, sampling (process), and from process to commit."""
    cpu_seconds: float
    """CPU time of this process over the same span."""


class SamplerRun:
    """Consume a topic to a given count with the sampler's runtime; time it."""

    def __init__(
        self, settings: Settings, *, decisions_topic: str, topics: Topics, transactional: bool
    ) -> None:
        self.settings = settings.for_service("sampler", 0)
        self.decisions_topic = decisions_topic
        self.topics = topics
        self.transactional = transactional

    async def run(self, total: int, *, on_progress: Callable[[int], None]) -> RunResult:
        settings, clock = self.settings, SystemClock()
        engine = build_engine(settings)
        sessions = build_sessions(engine)
        keeper = ScheduleKeeper(
            sessions,
            default=default_revision(settings),
            facts=PolicyFacts.from_taxonomy(load_taxonomy()),
            delay=dt.timedelta(seconds=settings.sampler_activation_delay_seconds),
            clock=clock,
        )
        await keeper.reload()
        core = SamplerCore(dedupe_days=settings.sampler_dedupe_days)
        restorer = ChangelogRestorer(settings, topic=self.topics.sampler_state, core=core)
        await restorer.start()
        group = self.topics.group("sampler")
        consumer = build_consumer(settings, group_id=group, client_id="bench")
        producer = build_producer(
            settings,
            client_id="bench-tasks",
            transactional_id=f"{group}-bench" if self.transactional else None,
        )
        await consumer.start()
        await producer.start()
        decisions = DecisionConsumer(
            core=core,
            keeper=keeper,
            restorer=restorer,
            topics=self.topics,
            clock=clock,
            task_partitions=len(await producer.partitions_for(self.topics.tasks)),
        )
        counts = {"seen": 0, "committed": 0, "tasks": 0, "batch": 0, "batch_tasks": 0}
        phases = {"decode": 0.0, "process": 0.0, "commit": 0.0}
        started: list[float] = []
        processed_at = [0.0]
        finished = asyncio.Event()
        process = decisions.process

        def timed_decode(record: Any) -> Any:
            begin = time.perf_counter()
            if not started:
                started.append(begin)
                started.append(time.process_time())
            try:
                return decode_record(record)
            finally:
                phases["decode"] += time.perf_counter() - begin

        async def counted(records: Any, decisions: Any) -> Any:
            begin = time.perf_counter()
            outputs = await process(records, decisions)
            counts["batch"] += len(records)
            counts["batch_tasks"] += sum(1 for o in outputs if o.topic == self.topics.tasks)
            processed_at[0] = time.perf_counter()
            phases["process"] += processed_at[0] - begin
            return outputs

        decisions.process = counted  # type: ignore[method-assign]
        committed = decisions.committed
        rewound = decisions.rewound

        def on_committed() -> None:
            phases["commit"] += time.perf_counter() - processed_at[0]
            committed()
            counts["committed"] += counts["batch"]
            counts["tasks"] += counts["batch_tasks"]
            counts["batch"] = counts["batch_tasks"] = 0
            on_progress(counts["committed"])
            if counts["committed"] >= total:
                finished.set()

        def on_rewound() -> None:
            rewound()
            counts["batch"] = counts["batch_tasks"] = 0

        decisions.committed = on_committed  # type: ignore[method-assign]
        decisions.rewound = on_rewound  # type: ignore[method-assign]
        runtime = decision_runtime(
            settings,
            consumer=consumer,
            producer=producer,
            decisions=decisions,
            topic=self.decisions_topic,
            group=group,
            clock=clock,
            transactional=self.transactional,
            decode=timed_decode,
        )
        runtime.subscribe()
        stopping = asyncio.Event()

        async def every(seconds: float, work: Callable[[], Any]) -> None:
            while not stopping.is_set():
                await work()
                await pause(stopping, seconds)

        async def flush() -> None:
            await handlers.flush_traffic(sessions=sessions, core=core, now=clock.now())

        loops = [
            asyncio.create_task(runtime.run()),
            asyncio.create_task(every(settings.sampler_reload_seconds, keeper.reload)),
            asyncio.create_task(every(settings.sampler_traffic_flush_seconds, flush)),
        ]
        try:
            await finished.wait()
            ended = time.perf_counter()
            cpu = time.process_time() - started[1]
        finally:
            runtime.stop()
            stopping.set()
            await asyncio.gather(*loops, return_exceptions=True)
            await consumer.stop()
            await producer.stop()
            await restorer.stop()
            await engine.dispose()
        return RunResult(
            decisions=counts["committed"],
            tasks=counts["tasks"],
            seconds=ended - started[0],
            moderators=core.size(),
            task_ids=core.remembered(),
            phases=phases,
            cpu_seconds=cpu,
        )
