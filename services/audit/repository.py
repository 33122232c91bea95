"""SQL of the audit service; every function runs inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.tables import tasks, verdicts
from shared.events import Task, Verdict


def _task_row(task: Task) -> dict[str, Any]:
    d = task.decision
    return {
        "task_id": task.task_id,
        "decision_id": d.decision_id,
        "decision": d.model_dump(mode="json"),
        "moderator_id": d.moderator_id,
        "queue": d.queue,
        "market": d.market,
        "language": d.language,
        "policy_id": d.policy_id,
        "pool": task.pool,
        "plan_id": task.plan_id,
        "plan_version": task.plan_version,
        "stratum": task.stratum,
        "inclusion_probability": task.inclusion_probability,
        "reasons": [r.value for r in task.reasons],
        "required_reviews": task.required_reviews,
        "priority": task.priority,
        "blind": task.blind,
        "due_at": task.due_at,
        "created_at": task.created_at,
    }


async def insert_tasks(session: AsyncSession, batch: Sequence[Task]) -> int:
    """Store tasks once: a task id seen before is left as it is. Returns how many were new."""
    if not batch:
        return 0
    unique = {task.task_id: task for task in batch}
    result = await session.execute(
        insert(tasks)
        .values([_task_row(task) for task in unique.values()])
        .on_conflict_do_nothing(index_elements=["task_id"])
        .returning(tasks.c.task_id)
    )
    return len(result.all())


async def lease_next(
    session: AsyncSession, *, auditor_id: str, now: dt.datetime, lease: dt.timedelta
) -> Row[Any] | None:
    """Lease the most urgent claimable task to the auditor; concurrent callers skip locked rows."""
    claimable = (
        select(tasks.c.task_id)
        .where(
            or_(
                tasks.c.status == "pending",
                and_(tasks.c.status == "leased", tasks.c.lease_expires_at < now),
            ),
            tasks.c.moderator_id != auditor_id,
        )
        .order_by(tasks.c.priority.desc(), tasks.c.due_at)
        .limit(1)
        .with_for_update(skip_locked=True)
        .scalar_subquery()
    )
    result = await session.execute(
        update(tasks)
        .where(tasks.c.task_id == claimable)
        .values(status="leased", leased_by=auditor_id, lease_expires_at=now + lease)
        .returning(*tasks.c)
    )
    return result.first()


async def lock_task(session: AsyncSession, task_id: str) -> Row[Any] | None:
    """The task row, locked until the transaction ends."""
    result = await session.execute(
        select(tasks).where(tasks.c.task_id == task_id).with_for_update()
    )
    return result.first()


async def verdict_by_key(session: AsyncSession, *, auditor_id: str, key: str) -> Row[Any] | None:
    """The verdict an auditor already submitted with this idempotency key."""
    result = await session.execute(
        select(verdicts).where(
            verdicts.c.auditor_id == auditor_id, verdicts.c.idempotency_key == key
        )
    )
    return result.first()


async def insert_verdict(
    session: AsyncSession, verdict: Verdict, *, idempotency_key: str | None
) -> None:
    """Store a verdict (its event form included)."""
    await session.execute(
        verdicts.insert().values(
            verdict_id=verdict.verdict_id,
            task_id=verdict.task_id,
            decision_id=verdict.decision_id,
            auditor_id=verdict.auditor_id,
            round=verdict.round,
            outcome=verdict.outcome.value,
            expected_action=verdict.expected_action.value if verdict.expected_action else None,
            expected_policy_id=verdict.expected_policy_id,
            error_type=verdict.error_type.value if verdict.error_type else None,
            severity=verdict.severity.value if verdict.severity else None,
            notes=verdict.notes,
            supersedes=verdict.supersedes,
            idempotency_key=idempotency_key,
            submitted_at=verdict.submitted_at,
            event=verdict.model_dump(mode="json"),
        )
    )


async def complete_task(session: AsyncSession, task_id: str, now: dt.datetime) -> None:
    """Mark a task completed and drop its lease."""
    await session.execute(
        update(tasks)
        .where(tasks.c.task_id == task_id)
        .values(status="completed", completed_at=now, lease_expires_at=None)
    )
