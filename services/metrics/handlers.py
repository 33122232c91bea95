"""Metrics events and queries: one function each, one transaction each."""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.metrics import repository
from services.metrics.domain import Proportion, wilson
from shared.events import Task, Verdict


async def record_events(
    *, sessions: async_sessionmaker[AsyncSession], batch: Sequence[Task | Verdict]
) -> None:
    """Store consumed tasks and verdicts idempotently, in one transaction."""
    async with sessions.begin() as session:
        await repository.insert_tasks(session, [e for e in batch if isinstance(e, Task)])
        await repository.insert_verdicts(session, [e for e in batch if isinstance(e, Verdict)])


async def accuracy(
    *, sessions: async_sessionmaker[AsyncSession], group_by: Sequence[str]
) -> list[tuple[dict[str, str], Proportion]]:
    """Accuracy per group, with sample size and Wilson interval."""
    async with sessions() as session:
        counts = await repository.accuracy_counts(session, group_by)
    return [(group, wilson(correct, judged)) for group, correct, judged in counts]
