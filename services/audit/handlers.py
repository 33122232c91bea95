"""Audit commands and events: one function each, one transaction each."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit import repository
from services.audit.domain import Submission, resolve, to_event
from services.audit.tables import outbox
from shared.db.outbox import OutboxMessage, enqueue
from shared.events import Decision, Task, Verdict, encode
from shared.ids import new_id
from shared.taxonomy import Taxonomy
from shared.topics import Topics


class TaskNotFound(LookupError):
    """No task has that id."""


class NotLeasedToCaller(PermissionError):
    """The task is not leased to the caller (any more)."""


async def store_tasks(*, sessions: async_sessionmaker[AsyncSession], batch: Sequence[Task]) -> int:
    """Store consumed tasks idempotently; returns how many were new."""
    async with sessions.begin() as session:
        return await repository.insert_tasks(session, batch)


async def claim_next_task(
    *,
    sessions: async_sessionmaker[AsyncSession],
    auditor_id: str,
    now: dt.datetime,
    lease: dt.timedelta,
) -> Row[Any] | None:
    """Lease the auditor's best next task, or None when the queue is empty for them."""
    async with sessions.begin() as session:
        return await repository.lease_next(session, auditor_id=auditor_id, now=now, lease=lease)


async def submit_verdict(
    *,
    sessions: async_sessionmaker[AsyncSession],
    taxonomy: Taxonomy,
    topics: Topics,
    task_id: str,
    auditor_id: str,
    submission: Submission,
    idempotency_key: str | None,
    now: dt.datetime,
) -> Verdict:
    """Record the verdict once and queue its event in the same transaction (outbox)."""
    async with sessions.begin() as session:
        task = await repository.lock_task(session, task_id)
        if task is None:
            raise TaskNotFound(f"no task {task_id}")
        if idempotency_key:
            earlier = await repository.verdict_by_key(
                session, auditor_id=auditor_id, key=idempotency_key
            )
            if earlier is not None:
                return Verdict.model_validate(earlier.event)
        if task.status != "leased" or task.leased_by != auditor_id:
            raise NotLeasedToCaller(
                f"task {task_id} is not leased to you (status {task.status}); claim a task first"
            )
        decision = Decision.model_validate(task.decision)
        answer = resolve(submission, decision, taxonomy, on=now.date())
        verdict = to_event(
            verdict_id=new_id(),
            task_id=task_id,
            decision=decision,
            auditor_id=auditor_id,
            answer=answer,
            round_=1,
            submitted_at=now,
        )
        await repository.insert_verdict(session, verdict, idempotency_key=idempotency_key)
        await repository.complete_task(session, task_id, now)
        await enqueue(
            session, outbox, [OutboxMessage(topics.verdicts, encode(verdict), key=task_id.encode())]
        )
        return verdict
