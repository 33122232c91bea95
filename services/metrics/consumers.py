"""The consumer of tasks, verdicts and escalation cases in the metrics service."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka.structs import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics import handlers
from services.metrics.domain.drift import CusumDesign
from shared.clock import Clock
from shared.codec import parse
from shared.errors import DecodeError
from shared.events import Escalation, Task, Verdict
from shared.kafka.consumer import Incoming, Outgoing, Process
from shared.topics import Topics

Event = Task | Verdict | Escalation


class EventDecoder:
    """Decodes a record as a task, a verdict or a case according to its topic."""

    def __init__(self, topics: Topics) -> None:
        self._by_topic: dict[str, type[Task] | type[Verdict] | type[Escalation]] = {
            topics.tasks: Task,
            topics.verdicts: Verdict,
            topics.escalations: Escalation,
        }

    def topics(self) -> list[str]:
        return list(self._by_topic)

    def __call__(self, record: ConsumerRecord[bytes, bytes]) -> Event:
        model = self._by_topic.get(record.topic)
        if model is None:
            raise DecodeError(f"unexpected topic {record.topic}")
        event = parse(model, record.value)
        if isinstance(event, Verdict) and event.decision is None:
            raise DecodeError("verdict without its decision snapshot cannot be attributed")
        return event


def event_processor(
    *,
    sessions: async_sessionmaker[AsyncSession],
    topics: Topics,
    design: CusumDesign,
    clock: Clock,
) -> Process[Event]:
    """Stores each batch of events and feeds the drift detectors, in one transaction."""

    async def process(items: list[Incoming[Event]]) -> Sequence[Outgoing]:
        await handlers.record_events(
            sessions=sessions,
            topics=topics,
            design=design,
            batch=[i.event for i in items],
            now=clock.now(),
        )
        return ()

    return process
