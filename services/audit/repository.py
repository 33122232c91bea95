"""SQL of the work queue: tasks, leases and the audit log (verdicts: `repository_verdicts`).

Every function runs inside the caller's transaction. Lock order is always task row first,
then its leases or verdicts, so claims, verdicts, releases and the expiry sweep never deadlock.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Any

from sqlalchemy import exists, func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert, Update

from services.audit import statements as sql
from services.audit.domain.verdicts import LeaseStatus, TaskStatus, purpose_of
from services.audit.driver import Columns, Transaction
from services.audit.tables import audit_log, leases, tasks
from shared.events import Decision, Task, VerdictPurpose

OPEN_STATUSES = (TaskStatus.PENDING, TaskStatus.LEASED, TaskStatus.EXPIRED)
OPEN_TASK_STATUSES = tuple(s.value for s in (*OPEN_STATUSES, TaskStatus.ADJUDICATING))
"""The statuses the backlog gauges report."""


def _decision_columns(d: Decision) -> dict[str, Any]:
    return {
        "decision_id": d.decision_id,
        "decision": d.model_dump(mode="json"),
        "moderator_id": d.moderator_id,
        "queue": d.queue,
        "market": d.market,
        "language": d.language,
        "policy_id": d.policy_id,
    }


def _task_row(task: Task, traceparent: str | None = None) -> dict[str, Any]:
    return {
        "task_id": task.task_id,
        **_decision_columns(task.decision),
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
        "purpose": purpose_of(task.reasons, task.required_reviews).value,
        "traceparent": traceparent,
    }


async def insert_tasks(
    session: AsyncSession, batch: Sequence[Task], traces: Mapping[str, str] | None = None
) -> int:
    """Store tasks once: a task id seen before is left as it is. Returns how many were new.
    `traces` maps task ids to the trace context their records carried."""
    if not batch:
        return 0
    traces = traces or {}
    rows = [
        _task_row(task, traces.get(task.task_id))
        for task in {task.task_id: task for task in batch}.values()
    ]
    # executemany: SQLAlchemy compiles the one-row INSERT once and sends the rows as
    # multi-row VALUES pages of at most 1,000 rows (20,000 parameters, under PostgreSQL's
    # 32,767); a hand-built 500-row VALUES was compiled on every batch and cost more than the
    # database's work
    result = await session.execute(
        insert(tasks).on_conflict_do_nothing(index_elements=["task_id"]).returning(tasks.c.task_id),
        rows,
    )
    return len(result.all())


async def insert_gold_task(
    session: AsyncSession,
    *,
    task_id: str,
    decision: Decision,
    answer: Mapping[str, Any],
    reviews: int,
    priority: int,
    blind: bool,
    due_at: dt.datetime,
    now: dt.datetime,
) -> None:
    """Store a lead's gold item as a task that looks like any other to auditors."""
    await session.execute(
        tasks.insert().values(
            task_id=task_id,
            **_decision_columns(decision),
            pool=decision.language,
            plan_id="gold",
            plan_version=1,
            stratum="gold",
            inclusion_probability=None,
            reasons=["gold"],
            required_reviews=reviews,
            priority=priority,
            blind=blind,
            due_at=due_at,
            created_at=now,
            purpose=VerdictPurpose.GOLD.value,
            gold_answer=dict(answer),
        )
    )


async def can_claim(session: AsyncSession, auditor_id: str) -> bool:
    """True when the person is an active registered auditor."""
    found = await session.scalar(select(exists().where(sql.is_claiming_auditor(auditor_id))))
    return bool(found)


async def pick_task(tx: Transaction, *, auditor_id: str) -> Columns | None:
    """Lock the most urgent claimable task the auditor is qualified for and never had, skipping
    rows other claimers hold: routing by the registry's languages, markets and policy areas
    (empty markets or areas mean any), then priority and due time; never the auditor's own
    decision; nothing for someone who is not an active registered auditor. The row also names
    the newest scorecard of the task's queue (`scorecard_id`, `scorecard_version`, or nulls)."""
    return await tx.fetchrow(sql.PICK_TASK, {"auditor_id": auditor_id})


async def lock_task(session: AsyncSession, task_id: str) -> Row[Any] | None:
    """The task row, locked until the transaction ends."""
    result = await session.execute(
        select(tasks).where(tasks.c.task_id == task_id).with_for_update()
    )
    return result.first()


async def lock_task_with_lease(tx: Transaction, task_id: str, auditor_id: str) -> Columns | None:
    """The task row, locked, with the auditor's lease on it (`lease_status` and the lease's
    scorecard; nulls when the auditor never had it)."""
    return await tx.fetchrow(sql.TASK_WITH_LEASE, {"task_id": task_id, "auditor_id": auditor_id})


async def get_task(session: AsyncSession, task_id: str) -> Row[Any] | None:
    """The task row, unlocked."""
    return (await session.execute(select(tasks).where(tasks.c.task_id == task_id))).first()


def task_update(task_id: str, **values: Any) -> Update:
    """The UPDATE of columns of one task."""
    return update(tasks).where(tasks.c.task_id == task_id).values(**values)


async def set_task(session: AsyncSession, task_id: str, **values: Any) -> None:
    """Update columns of one task."""
    await session.execute(task_update(task_id, **values))


async def execute_together(session: AsyncSession, statements: Sequence[Insert | Update]) -> None:
    """Run INSERTs and UPDATEs of different rows as one statement (see `statements.together`)."""
    if len(statements) == 1:
        await session.execute(statements[0])
        return
    await session.execute(sql.together(statements))


def new_lease(
    *,
    task_id: str,
    auditor_id: str,
    now: dt.datetime,
    expires_at: dt.datetime,
    scorecard: tuple[str, int] | None,
) -> dict[str, Any]:
    """The columns of a new active lease."""
    return {
        "task_id": task_id,
        "auditor_id": auditor_id,
        "status": LeaseStatus.ACTIVE.value,
        "leased_at": now,
        "expires_at": expires_at,
        "scorecard_id": scorecard[0] if scorecard else None,
        "scorecard_version": scorecard[1] if scorecard else None,
    }


async def record_claim(
    tx: Transaction,
    *,
    lease: Mapping[str, Any],
    active_leases: int,
    status: str,
    log: Mapping[str, Any],
) -> None:
    """Store a claim in one statement: the new lease, the task's lease count and status, and
    the audit log entry (`new_lease`, `log_entry`)."""
    task = {"task_id": lease["task_id"], "active_leases": active_leases, "status": status}
    await tx.execute(
        sql.CLAIM_WRITES,
        sql.params("lease", lease) | sql.params("task", task) | sql.params("log", log),
    )


async def get_lease(session: AsyncSession, task_id: str, auditor_id: str) -> Row[Any] | None:
    """The auditor's lease on a task, whatever its state."""
    result = await session.execute(
        select(leases).where(leases.c.task_id == task_id, leases.c.auditor_id == auditor_id)
    )
    return result.first()


async def set_lease(session: AsyncSession, task_id: str, auditor_id: str, **values: Any) -> None:
    """Update columns of one lease."""
    await session.execute(
        update(leases)
        .where(leases.c.task_id == task_id, leases.c.auditor_id == auditor_id)
        .values(**values)
    )


async def end_active_leases(
    session: AsyncSession, task_id: str, *, status: LeaseStatus, now: dt.datetime
) -> None:
    """End every active lease of a task."""
    await session.execute(
        update(leases)
        .where(leases.c.task_id == task_id, leases.c.status == LeaseStatus.ACTIVE.value)
        .values(status=status.value, ended_at=now)
    )


async def active_leases_of(session: AsyncSession, auditor_id: str) -> list[Row[Any]]:
    """The auditor's active leases with their tasks, soonest expiry first."""
    result = await session.execute(
        select(
            tasks,
            leases.c.expires_at.label("lease_expires_at"),
            leases.c.scorecard_id.label("lease_scorecard_id"),
            leases.c.scorecard_version.label("lease_scorecard_version"),
        )
        .join(leases, leases.c.task_id == tasks.c.task_id)
        .where(leases.c.auditor_id == auditor_id, leases.c.status == LeaseStatus.ACTIVE.value)
        .order_by(leases.c.expires_at)
    )
    return list(result.all())


async def lock_tasks_with_lapsed_leases(
    session: AsyncSession, now: dt.datetime, limit: int
) -> list[Row[Any]]:
    """Lock (skipping locked ones) tasks that have an active lease past its expiry."""
    lapsed = (
        select(leases.c.task_id)
        .where(
            leases.c.status == sql.literal_text(LeaseStatus.ACTIVE.value), leases.c.expires_at < now
        )
        .limit(limit)
    )
    result = await session.execute(
        select(tasks).where(tasks.c.task_id.in_(lapsed)).with_for_update(skip_locked=True)
    )
    return list(result.all())


async def expire_leases_of(
    session: AsyncSession, task_ids: Sequence[str], now: dt.datetime
) -> list[Row[Any]]:
    """Mark the lapsed active leases of these (locked) tasks expired; returns them."""
    result = await session.execute(
        update(leases)
        .where(
            leases.c.task_id.in_(list(task_ids)),
            leases.c.status == LeaseStatus.ACTIVE.value,
            leases.c.expires_at < now,
        )
        .values(status=LeaseStatus.EXPIRED.value, ended_at=now)
        .returning(leases.c.task_id, leases.c.auditor_id, leases.c.expires_at)
    )
    return list(result.all())


def log_entry(
    *,
    at: dt.datetime,
    actor: str,
    action: str,
    subject_type: str,
    subject_id: str,
    details: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """The columns of one entry of the append-only audit log."""
    return {
        "at": at,
        "actor": actor,
        "action": action,
        "subject_type": subject_type,
        "subject_id": subject_id,
        "details": dict(details or {}),
    }


def log_insert(**entry: Any) -> Insert:
    """The INSERT of one audit log entry (`log_entry`'s arguments), to run with other writes."""
    return audit_log.insert().values(log_entry(**entry))


async def append_log(session: AsyncSession, **entry: Any) -> None:
    """Add one entry (`log_entry`'s arguments) to the append-only audit log (a trigger refuses
    updates and deletes)."""
    await session.execute(sql.LOG_INSERT, sql.params("log", log_entry(**entry)))


async def count_open_tasks(session: AsyncSession) -> dict[tuple[str, str], int]:
    """Open tasks per (pool, status) (for the backlog gauges); empty ones are absent."""
    result = await session.execute(
        select(tasks.c.pool, tasks.c.status, func.count())
        .where(tasks.c.status.in_(OPEN_TASK_STATUSES))
        .group_by(tasks.c.pool, tasks.c.status)
    )
    return {(pool, status): n for pool, status, n in result.all()}
