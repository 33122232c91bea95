"""The work queue's commands and events: one function each, one transaction each.

Tasks in, claims, lease extension, release and expiry (verdicts are in `handlers_verdicts`).
Every state change is written to the audit log.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit import driver
from services.audit import repository as repo
from services.audit.catalog import Catalog
from services.audit.domain.scoring import Scorecard
from services.audit.domain.verdicts import LeaseStatus, TaskStatus, pool_status
from services.audit.driver import Columns
from services.audit.errors import Conflict, NotFound, Refused
from shared.events import Task

SYSTEM_ACTOR = "modqa-audit"
"""The actor the audit log names for changes the service makes itself (lease expiry)."""


@dataclass(frozen=True)
class Claimed:
    """A task just leased to an auditor: the task, the lease, and the scorecard to answer."""

    task: Columns
    lease_expires_at: dt.datetime
    scorecard: Scorecard | None


async def store_tasks(
    *,
    sessions: async_sessionmaker[AsyncSession],
    batch: Sequence[Task],
    traces: Mapping[str, str] | None = None,
) -> int:
    """Store consumed tasks idempotently (with the trace context of each task's record, by
    task id); returns how many were new."""
    async with sessions.begin() as session:
        return await repo.insert_tasks(session, batch, traces)


async def claim_next_task(
    *,
    sessions: async_sessionmaker[AsyncSession],
    catalog: Catalog,
    auditor_id: str,
    now: dt.datetime,
    lease: dt.timedelta,
) -> Claimed | None:
    """Lease the auditor's best next task, or None when there is none for them."""
    async with driver.transaction(sessions) as tx:
        task = await repo.pick_task(tx, auditor_id=auditor_id)
        if task is None:
            if not await repo.can_claim(tx.session, auditor_id):
                raise Refused(
                    f"'{auditor_id}' is not an active registered auditor; a lead registers "
                    "auditors with PUT /v1/auditors/{auditor_id}"
                )
            return None
        scorecard = (
            catalog.known_scorecard(task.scorecard_id, task.scorecard_version)
            or await catalog.scorecard(tx.session, task.scorecard_id, task.scorecard_version)
            if task.scorecard_id
            else None
        )
        expires_at = now + lease
        active = task.active_leases + 1
        status = pool_status(
            required=task.required_reviews,
            active=active,
            done=task.reviews_done,
            lapsed=task.status == TaskStatus.EXPIRED,
        )
        await repo.record_claim(
            tx,
            lease=repo.new_lease(
                task_id=task.task_id,
                auditor_id=auditor_id,
                now=now,
                expires_at=expires_at,
                scorecard=(scorecard.scorecard_id, scorecard.version) if scorecard else None,
            ),
            active_leases=active,
            status=status.value,
            log=repo.log_entry(
                at=now,
                actor=auditor_id,
                action="task.claimed",
                subject_type="task",
                subject_id=task.task_id,
                details={"lease_expires_at": expires_at.isoformat()},
            ),
        )
        return Claimed(task=task, lease_expires_at=expires_at, scorecard=scorecard)


async def _locked_task_and_lease(
    session: AsyncSession, task_id: str, auditor_id: str
) -> tuple[Row[Any], Row[Any]]:
    task = await repo.lock_task(session, task_id)
    if task is None:
        raise NotFound(f"no task {task_id}")
    return task, await _active_lease(session, task_id, auditor_id)


async def _active_lease(session: AsyncSession, task_id: str, auditor_id: str) -> Row[Any]:
    held = await repo.get_lease(session, task_id, auditor_id)
    if held is None or held.status != LeaseStatus.ACTIVE:
        state = held.status if held else "never leased to you"
        raise Conflict(f"task {task_id} is not leased to you ({state}); claim a task first")
    return held


async def extend_lease(
    *,
    sessions: async_sessionmaker[AsyncSession],
    task_id: str,
    auditor_id: str,
    now: dt.datetime,
    lease: dt.timedelta,
) -> dt.datetime:
    """Give the auditor's active lease a full lease time from now; returns the new expiry."""
    async with sessions.begin() as session:
        _, held = await _locked_task_and_lease(session, task_id, auditor_id)
        expires_at = now + lease
        await repo.set_lease(
            session, task_id, auditor_id, expires_at=expires_at, extensions=held.extensions + 1
        )
        await repo.append_log(
            session,
            at=now,
            actor=auditor_id,
            action="lease.extended",
            subject_type="task",
            subject_id=task_id,
            details={"lease_expires_at": expires_at.isoformat()},
        )
        return expires_at


async def release_task(
    *, sessions: async_sessionmaker[AsyncSession], task_id: str, auditor_id: str, now: dt.datetime
) -> str:
    """Hand a leased task back to the pool (it will not come back to this auditor); returns
    the task's auditor pool."""
    async with sessions.begin() as session:
        task, _ = await _locked_task_and_lease(session, task_id, auditor_id)
        await repo.set_lease(
            session, task_id, auditor_id, status=LeaseStatus.RELEASED.value, ended_at=now
        )
        active = task.active_leases - 1
        await repo.set_task(
            session,
            task_id,
            active_leases=active,
            status=_reopened(task, active=active, lapsed=False),
        )
        await repo.append_log(
            session,
            at=now,
            actor=auditor_id,
            action="task.released",
            subject_type="task",
            subject_id=task_id,
        )
    return str(task.pool)


def _reopened(task: Row[Any], *, active: int, lapsed: bool) -> str:
    """A task's status after a lease ended without a verdict."""
    if task.status not in (TaskStatus.PENDING, TaskStatus.LEASED, TaskStatus.EXPIRED):
        return str(task.status)
    return pool_status(
        required=task.required_reviews, active=active, done=task.reviews_done, lapsed=lapsed
    ).value


async def expire_leases(
    *, sessions: async_sessionmaker[AsyncSession], now: dt.datetime, limit: int = 500
) -> Counter[str]:
    """Take back leases past their expiry and return their tasks to the pool; returns how many
    per auditor pool."""
    async with sessions.begin() as session:
        locked = await repo.lock_tasks_with_lapsed_leases(session, now, limit)
        if not locked:
            return Counter()
        expired = await repo.expire_leases_of(session, [t.task_id for t in locked], now)
        per_task = Counter(row.task_id for row in expired)
        for task in locked:
            lapsed = per_task.get(task.task_id, 0)
            if lapsed:
                active = task.active_leases - lapsed
                await repo.set_task(
                    session,
                    task.task_id,
                    active_leases=active,
                    status=_reopened(task, active=active, lapsed=True),
                )
        for row in expired:
            await repo.append_log(
                session,
                at=now,
                actor=SYSTEM_ACTOR,
                action="lease.expired",
                subject_type="task",
                subject_id=row.task_id,
                details={"auditor_id": row.auditor_id, "expired_at": row.expires_at.isoformat()},
            )
        pools = {task.task_id: task.pool for task in locked}
        return Counter(pools[row.task_id] for row in expired)
