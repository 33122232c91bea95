"""The verdict consumer of the escalation service."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.escalation import handlers
from shared.clock import Clock
from shared.events import Verdict
from shared.kafka.consumer import Incoming, Outgoing, Process
from shared.topics import Topics


def verdict_processor(
    *, sessions: async_sessionmaker[AsyncSession], topics: Topics, clock: Clock
) -> Process[Verdict]:
    """Turns each batch of verdicts into cases and corrections, in one transaction."""

    async def process(items: list[Incoming[Verdict]]) -> Sequence[Outgoing]:
        await handlers.handle_verdicts(
            sessions=sessions, topics=topics, batch=[i.event for i in items], now=clock.now()
        )
        return ()

    return process
