"""The consumer of verdicts, disputes and drift signals in the escalation service."""

from __future__ import annotations

from collections.abc import Sequence

from aiokafka.structs import ConsumerRecord
from pydantic import BaseModel
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.escalation import handlers
from services.escalation.handlers import ConsumedEvent
from shared.clock import Clock
from shared.codec import parse
from shared.errors import DecodeError
from shared.events import Dispute, DriftSignal, Verdict
from shared.kafka.consumer import Incoming, Outgoing, Process
from shared.observability.tracing import traceparent_of
from shared.topics import Topics


class EventDecoder:
    """Decodes a record as a verdict, a dispute or a drift signal according to its topic."""

    def __init__(self, topics: Topics) -> None:
        self._by_topic: dict[str, type[BaseModel]] = {
            topics.verdicts: Verdict,
            topics.disputes: Dispute,
            topics.signals: DriftSignal,
        }

    @property
    def topics(self) -> list[str]:
        """The topics this decoder understands, to subscribe to."""
        return list(self._by_topic)

    def __call__(self, record: ConsumerRecord[bytes, bytes]) -> ConsumedEvent:
        model = self._by_topic.get(record.topic)
        if model is None:
            raise DecodeError(f"unexpected topic {record.topic}")
        event = parse(model, record.value)
        assert isinstance(event, Verdict | Dispute | DriftSignal)
        return event


def event_processor(
    *, sessions: async_sessionmaker[AsyncSession], topics: Topics, clock: Clock
) -> Process[ConsumedEvent]:
    """Applies each batch in one transaction (cases, corrections, counters, targeting)."""

    async def process(items: list[Incoming[ConsumedEvent]]) -> Sequence[Outgoing]:
        traces = {
            item.event.verdict_id: parent
            for item in items
            if isinstance(item.event, Verdict | Dispute)
            and (parent := traceparent_of(item.record.headers)) is not None
        }
        await handlers.handle_events(
            sessions=sessions,
            topics=topics,
            batch=[i.event for i in items],
            now=clock.now(),
            traces=traces,
        )
        return ()

    return process
