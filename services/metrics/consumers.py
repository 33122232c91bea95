"""The consumer of `audit.tasks` and `audit.verdicts` in the metrics service."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka.structs import ConsumerRecord
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics import handlers
from shared.codec import parse
from shared.errors import DecodeError
from shared.events import Task, Verdict
from shared.kafka.consumer import Incoming, Outgoing, Process
from shared.topics import Topics


def event_decoder(topics: Topics) -> _Decoder:
    """Decodes a record as a task or a verdict according to its topic."""
    return _Decoder(topics)


class _Decoder:
    def __init__(self, topics: Topics) -> None:
        self._by_topic: dict[str, type[Task] | type[Verdict]] = {
            topics.tasks: Task,
            topics.verdicts: Verdict,
        }

    def __call__(self, record: ConsumerRecord[bytes, bytes]) -> Task | Verdict:
        model = self._by_topic.get(record.topic)
        if model is None:
            raise DecodeError(f"unexpected topic {record.topic}")
        event = parse(model, record.value)
        if isinstance(event, Verdict) and event.decision is None:
            raise DecodeError("verdict without its decision snapshot cannot be attributed")
        return event


def event_processor(sessions: async_sessionmaker[AsyncSession]) -> Process[Task | Verdict]:
    """Stores each batch of tasks and verdicts in one transaction."""

    async def process(items: list[Incoming[Task | Verdict]]) -> Sequence[Outgoing]:
        await handlers.record_events(sessions=sessions, batch=[i.event for i in items])
        return ()

    return process
