"""The decision consumer: decode, sample, emit tasks (inside the runtime's Kafka transaction)."""

from __future__ import annotations

from collections.abc import Callable, Sequence

from services.sampler.domain import UniformPlan, sample
from services.sampler.metrics import DECISIONS_SEEN, TASKS_EMITTED
from shared.clock import Clock
from shared.events import Decision, encode
from shared.kafka.consumer import Incoming, Outgoing, Process
from shared.topics import Topics


def decision_processor(
    *, plan: Callable[[], UniformPlan], topics: Topics, clock: Clock
) -> Process[Decision]:
    """Turns a batch of decisions into the task records to produce."""

    async def process(items: list[Incoming[Decision]]) -> Sequence[Outgoing]:
        current = plan()
        now = clock.now()
        outputs: list[Outgoing] = []
        for item in items:
            decision = item.event
            DECISIONS_SEEN.labels(decision.market).inc()
            task = sample(decision, current, now=now)
            if task is None:
                continue
            for reason in task.reasons:
                TASKS_EMITTED.labels(reason.value, task.stratum).inc()
            outputs.append(
                Outgoing(
                    topics.tasks,
                    encode(task),
                    key=task.task_id.encode(),
                    headers=item.record.headers or (),
                )
            )
        return outputs

    return process
