"""The task consumer: store each batch of tasks idempotently, in one transaction."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit import handlers
from services.audit.metrics import TASKS_STORED
from shared.events import Task
from shared.kafka.consumer import Incoming, Outgoing, Process
from shared.observability.tracing import traceparent_of


def task_processor(sessions: async_sessionmaker[AsyncSession]) -> Process[Task]:
    """Stores consumed tasks; replays change nothing."""

    async def process(items: list[Incoming[Task]]) -> Sequence[Outgoing]:
        traces = {
            item.event.task_id: parent
            for item in items
            if (parent := traceparent_of(item.record.headers)) is not None
        }
        stored = await handlers.store_tasks(
            sessions=sessions, batch=[i.event for i in items], traces=traces
        )
        TASKS_STORED.inc(stored)
        return ()

    return process
