"""The sampler's consumers: decisions (sampled inside the runtime's Kafka transaction, with the
changelog records of the state they changed) and targeting rules (stored in PostgreSQL)."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence
from operator import attrgetter

from aiokafka.structs import TopicPartition
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.sampler import handlers
from services.sampler.changelog import ChangelogRestorer
from services.sampler.domain.core import BatchOutcome, SamplerCore, Seen
from services.sampler.metrics import DECISIONS_SEEN, DUPLICATES, TASKS_EMITTED
from services.sampler.planstore import ScheduleKeeper
from services.sampler.wire import DecisionRecord, encode_change, encode_task
from shared.clock import Clock
from shared.events import TargetingRule
from shared.kafka.consumer import Incoming, Outgoing, Process, Record
from shared.observability.tracing import (
    TRACEPARENT,
    child_of,
    trace_id_of,
    traceparent_of,
)
from shared.topics import Topics

log = logging.getLogger(__name__)

_partition_of = attrgetter("partition")
_timestamp_of = attrgetter("timestamp")
Emitted = tuple[str, str, str | None]
"""(decision_id, task_id, trace_id) of a task, logged once its transaction is committed."""


class DecisionConsumer:
    """The decision stream's process function and the runtime hooks that keep state in step
    with the committed transactions."""

    def __init__(
        self,
        *,
        core: SamplerCore,
        keeper: ScheduleKeeper,
        restorer: ChangelogRestorer,
        topics: Topics,
        clock: Clock,
        task_partitions: int,
    ) -> None:
        self._core = core
        self._task_partitions = task_partitions
        self._keeper = keeper
        self._restorer = restorer
        self._tasks = topics.tasks
        self._state = topics.sampler_state
        self._clock = clock
        self._pending: list[tuple[BatchOutcome, list[Emitted]]] = []

    async def process(
        self, records: list[Record], decisions: list[DecisionRecord]
    ) -> Sequence[Outgoing]:
        """Sample a batch (the runtime's batch process: records and their decisions): the tasks
        and changelog records to produce in its transaction."""
        partitions = list(map(_partition_of, records))
        batch: list[Seen] = list(
            zip(partitions, decisions, map(_timestamp_of, records), strict=True)
        )
        await self._restorer.ensure(set(partitions))
        outcome = self._core.sample(batch, self._keeper.schedule, now=self._clock.now())
        try:
            outputs, emitted = self._outputs(records, outcome)
        except BaseException:
            self._core.discard(outcome)
            raise
        self._pending.append((outcome, emitted))
        return outputs

    def _outputs(
        self, records: list[Record], outcome: BatchOutcome
    ) -> tuple[list[Outgoing], list[Emitted]]:
        tasks_topic, state_topic, spread = self._tasks, self._state, self._task_partitions
        outputs: list[Outgoing] = []
        emitted: list[Emitted] = []
        for task in outcome.tasks:
            headers = records[task.index].headers
            traceparent = child_of(traceparent_of(headers))  # a new trace if it had none
            outputs.append(
                Outgoing(
                    tasks_topic,
                    encode_task(task),
                    key=task.task_id.encode(),
                    headers=[
                        *((k, v) for k, v in headers or () if k != TRACEPARENT),
                        (TRACEPARENT, traceparent.encode()),
                    ],
                    partition=task.partition % spread,
                )
            )
            emitted.append((task.decision.decision_id, task.task_id, trace_id_of(traceparent)))
        outputs += [
            Outgoing(
                state_topic,
                encode_change(change),
                key=change.key.encode(),
                partition=change.partition,
            )
            for change in outcome.changes
        ]
        return outputs, emitted

    def committed(self) -> None:
        """The batch is durable: make its state current, count it, log each task emitted."""
        self._restorer.committed()
        logging_tasks = log.isEnabledFor(logging.INFO)
        for outcome, emitted in self._pending:
            DECISIONS_SEEN.inc(outcome.decisions)
            counts: dict[tuple[str, str], int] = {}
            for task in outcome.tasks:
                for reason in task.reasons:
                    key = (reason.value, task.stratum)
                    counts[key] = counts.get(key, 0) + 1
            for (label, stratum), n in counts.items():
                TASKS_EMITTED.labels(label, stratum).inc(n)
            if outcome.duplicates:
                DUPLICATES.inc(outcome.duplicates)
            if logging_tasks:
                for decision_id, task_id, trace_id in emitted:
                    log.info(
                        "task emitted",
                        extra={
                            "decision_id": decision_id,
                            "task_id": task_id,
                            "trace_id": trace_id,
                        },
                    )
        self._pending = []

    def rewound(self) -> None:
        """The batch will be retried: undo what it changed. If its outputs were handed to the
        runtime, its commit may have gone through: the state is then read again as well."""
        uncertain = bool(self._pending)
        self._pending = []
        self._restorer.rewound(reread=uncertain)

    def assigned(self, partitions: set[TopicPartition]) -> None:
        self._restorer.assigned(partitions)

    def revoked(self, partitions: set[TopicPartition]) -> None:
        self._restorer.revoked(partitions)


def targeting_processor(
    *, sessions: async_sessionmaker[AsyncSession], clock: Clock, delay: dt.timedelta
) -> Process[TargetingRule]:
    """Stores targeting rule states (durable mode: offsets are committed after the database)."""

    async def process(items: list[Incoming[TargetingRule]]) -> Sequence[Outgoing]:
        await handlers.record_targeting(
            sessions=sessions, rules=[i.event for i in items], now=clock.now(), delay=delay
        )
        return []

    return process
