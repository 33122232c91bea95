"""Reads: what auditors, leads and SMEs look at. No state changes here.

Verdict listing pages by a keyset cursor (newest first) so pages stay stable while verdicts
keep arriving; the CSV export streams every matching row through a server-side cursor.
"""

from __future__ import annotations

import base64
import datetime as dt
from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Select, select, tuple_
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit import repository as repo
from services.audit import repository_admin as admin_repo
from services.audit import repository_verdicts as verdicts_repo
from services.audit.catalog import Catalog
from services.audit.domain.scoring import Scorecard
from services.audit.domain.verdicts import LeaseStatus, TaskStatus
from services.audit.errors import NotFound
from services.audit.tables import audit_log, tasks, verdicts
from shared.events import VerdictPurpose


@dataclass(frozen=True)
class VerdictFilter:
    """What a lead narrows the verdict list by; None means any."""

    auditor_id: str | None = None
    moderator_id: str | None = None
    queue: str | None = None
    market: str | None = None
    policy_id: str | None = None
    outcome: str | None = None
    purpose: str | None = None
    final: bool | None = None
    task_id: str | None = None
    decision_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


def _filtered(query: Select[Any], f: VerdictFilter) -> Select[Any]:
    v = verdicts.c
    equal = {
        v.auditor_id: f.auditor_id,
        v.moderator_id: f.moderator_id,
        v.queue: f.queue,
        v.market: f.market,
        v.policy_id: f.policy_id,
        v.outcome: f.outcome,
        v.purpose: f.purpose,
        v.final: f.final,
        v.task_id: f.task_id,
        v.decision_id: f.decision_id,
    }
    for column, value in equal.items():
        if value is not None:
            query = query.where(column == value)
    if f.since is not None:
        query = query.where(v.submitted_at >= f.since)
    if f.until is not None:
        query = query.where(v.submitted_at < f.until)
    return query


class BadCursor(ValueError):
    """The page cursor was not one this service handed out."""


def encode_cursor(submitted_at: dt.datetime, verdict_id: str) -> str:
    """An opaque cursor pointing after one verdict."""
    return base64.urlsafe_b64encode(f"{submitted_at.isoformat()}|{verdict_id}".encode()).decode()


def decode_cursor(cursor: str) -> tuple[dt.datetime, str]:
    """The (submitted_at, verdict_id) a cursor points after."""
    try:
        stamp, verdict_id = base64.urlsafe_b64decode(cursor.encode()).decode().split("|", 1)
        return dt.datetime.fromisoformat(stamp), verdict_id
    except ValueError as error:
        raise BadCursor("cursor: not a cursor from a previous page") from error


async def list_verdicts(
    *,
    sessions: async_sessionmaker[AsyncSession],
    where: VerdictFilter,
    limit: int,
    cursor: str | None,
) -> tuple[list[Row[Any]], str | None]:
    """One page of verdicts, newest first, and the cursor of the next page (None at the end)."""
    query = _filtered(select(verdicts), where)
    if cursor:
        after = decode_cursor(cursor)
        query = query.where(tuple_(verdicts.c.submitted_at, verdicts.c.verdict_id) < tuple_(*after))
    query = query.order_by(verdicts.c.submitted_at.desc(), verdicts.c.verdict_id.desc())
    async with sessions() as session:
        rows = list((await session.execute(query.limit(limit + 1))).all())
    if len(rows) <= limit:
        return rows, None
    last = rows[limit - 1]
    return rows[:limit], encode_cursor(last.submitted_at, last.verdict_id)


async def stream_verdicts(
    *, sessions: async_sessionmaker[AsyncSession], where: VerdictFilter, chunk: int = 1000
) -> AsyncIterator[Row[Any]]:
    """Every matching verdict, oldest first, read in chunks through a server-side cursor."""
    query = _filtered(select(verdicts), where).order_by(
        verdicts.c.submitted_at, verdicts.c.verdict_id
    )
    async with sessions() as session:
        result = await session.stream(query.execution_options(yield_per=chunk))
        async for row in result:
            yield row


async def get_verdict(*, sessions: async_sessionmaker[AsyncSession], verdict_id: str) -> Row[Any]:
    """One verdict."""
    async with sessions() as session:
        row = await verdicts_repo.get_verdict(session, verdict_id)
    if row is None:
        raise NotFound(f"no verdict {verdict_id}")
    return row


@dataclass(frozen=True)
class TaskView:
    """A task with the caller's lease on it (if any) and the scorecard that lease answers."""

    task: Row[Any]
    lease: Row[Any] | None
    scorecard: Scorecard | None


async def task_for(
    *, sessions: async_sessionmaker[AsyncSession], task_id: str, caller: str, staff: bool
) -> TaskView:
    """A task as the caller may see it: staff see any task, an auditor only one leased to them."""
    async with sessions() as session:
        task = await repo.get_task(session, task_id)
        held = await repo.get_lease(session, task_id, caller)
        if task is None or (
            not staff and (held is None or held.status != LeaseStatus.ACTIVE.value)
        ):
            raise NotFound(f"no task {task_id} leased to you")
        scorecard = (
            await admin_repo.get_scorecard(session, held.scorecard_id, held.scorecard_version)
            if held is not None and held.scorecard_id
            else None
        )
    return TaskView(task=task, lease=held, scorecard=scorecard)


async def my_tasks(
    *, sessions: async_sessionmaker[AsyncSession], catalog: Catalog, auditor_id: str
) -> list[tuple[Row[Any], Scorecard | None]]:
    """The tasks currently leased to an auditor, each with the scorecard its lease answers."""
    async with sessions() as session:
        rows = await repo.active_leases_of(session, auditor_id)
        return [
            (
                row,
                await catalog.scorecard(
                    session, row.lease_scorecard_id, row.lease_scorecard_version
                )
                if row.lease_scorecard_id
                else None,
            )
            for row in rows
        ]


async def task_verdicts(
    *, sessions: async_sessionmaker[AsyncSession], task_id: str, caller: str, staff: bool
) -> list[Row[Any]]:
    """Verdicts on a task the caller may see: staff see all; an auditor sees their own, and the
    others' only once the round is closed and only if they took part."""
    async with sessions() as session:
        task = await repo.get_task(session, task_id)
        took_part = await repo.get_lease(session, task_id, caller)
        if task is None or (not staff and took_part is None):
            raise NotFound(f"no task {task_id} you worked on")
        rows = await verdicts_repo.verdicts_of_task(session, task_id)
    if staff:
        return rows
    if task.status == TaskStatus.COMPLETED and task.purpose != VerdictPurpose.GOLD:
        return rows
    return [row for row in rows if row.auditor_id == caller]


async def list_tasks(
    *,
    sessions: async_sessionmaker[AsyncSession],
    status: str | None,
    purpose: str | None,
    queue: str | None,
    limit: int,
) -> list[Row[Any]]:
    """Tasks for leads: by status, purpose and queue, the most urgent first."""
    query = select(tasks).order_by(tasks.c.priority.desc(), tasks.c.due_at).limit(limit)
    for column, value in (
        (tasks.c.status, status),
        (tasks.c.purpose, purpose),
        (tasks.c.queue, queue),
    ):
        if value is not None:
            query = query.where(column == value)
    async with sessions() as session:
        return list((await session.execute(query)).all())


@dataclass(frozen=True)
class LogFilter:
    actor: str | None = None
    action: str | None = None
    subject_id: str | None = None
    since: dt.datetime | None = None
    until: dt.datetime | None = None


async def read_log(
    *,
    sessions: async_sessionmaker[AsyncSession],
    where: LogFilter,
    after_id: int | None,
    limit: int,
) -> list[Row[Any]]:
    """Audit log entries in the order they were written, after an entry id."""
    query = select(audit_log).order_by(audit_log.c.id).limit(limit)
    equal = (
        (audit_log.c.actor, where.actor),
        (audit_log.c.action, where.action),
        (audit_log.c.subject_id, where.subject_id),
    )
    for column, value in equal:
        if value is not None:
            query = query.where(column == value)
    if where.since is not None:
        query = query.where(audit_log.c.at >= where.since)
    if where.until is not None:
        query = query.where(audit_log.c.at < where.until)
    if after_id is not None:
        query = query.where(audit_log.c.id > after_id)
    async with sessions() as session:
        return list((await session.execute(query)).all())


async def get_dispute(*, sessions: async_sessionmaker[AsyncSession], dispute_id: str) -> Row[Any]:
    """One dispute."""
    async with sessions() as session:
        row = await admin_repo.get_dispute(session, dispute_id)
    if row is None:
        raise NotFound(f"no dispute {dispute_id}")
    return row


async def list_disputes(
    *, sessions: async_sessionmaker[AsyncSession], statuses: Sequence[str], limit: int
) -> list[Row[Any]]:
    """Disputes, the most urgent first."""
    async with sessions() as session:
        return await admin_repo.list_disputes(session, statuses=statuses, limit=limit)


async def get_auditor(*, sessions: async_sessionmaker[AsyncSession], auditor_id: str) -> Row[Any]:
    """One registry record."""
    async with sessions() as session:
        row = await admin_repo.get_auditor(session, auditor_id)
    if row is None:
        raise NotFound(f"no auditor {auditor_id}")
    return row


async def list_auditors(
    *, sessions: async_sessionmaker[AsyncSession], active: bool | None
) -> list[Row[Any]]:
    """The registry."""
    async with sessions() as session:
        return await admin_repo.list_auditors(session, active=active)


async def policies(*, sessions: async_sessionmaker[AsyncSession]) -> list[Row[Any]]:
    """Every stored policy with its revision."""
    async with sessions() as session:
        return await admin_repo.list_policies(session)


async def scorecards(
    *, sessions: async_sessionmaker[AsyncSession], queue: str | None
) -> list[Scorecard]:
    """The newest version of every scorecard."""
    async with sessions() as session:
        return await admin_repo.list_scorecards(session, queue=queue)


async def scorecard(
    *, sessions: async_sessionmaker[AsyncSession], scorecard_id: str, version: int | None
) -> Scorecard:
    """One scorecard version (the newest by default)."""
    async with sessions() as session:
        found = await admin_repo.get_scorecard(session, scorecard_id, version)
    if found is None:
        raise NotFound(f"no scorecard {scorecard_id}" + (f" v{version}" if version else ""))
    return found


async def backlog(
    *, sessions: async_sessionmaker[AsyncSession], now: dt.datetime
) -> tuple[dict[tuple[str, str], int], tuple[int, int]]:
    """Open tasks per (pool, status), and (open disputes, overdue disputes), for the gauges."""
    async with sessions() as session:
        return await repo.count_open_tasks(session), await admin_repo.count_open_disputes(
            session, now
        )
