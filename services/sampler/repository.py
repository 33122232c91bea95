"""SQL of the sampler; every function runs inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
import zlib
from collections.abc import Mapping, Sequence
from typing import Any, TypeAlias

from sqlalchemy import and_, func, or_, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.sampler.domain.traffic import DayTraffic
from services.sampler.tables import plan_versions, revisions, targeting_rules, traffic_days

AnyRow: TypeAlias = Row[*tuple[Any, ...]]
"""A result row of any shape."""

REPLAN_LOCK = zlib.crc32(b"modqa-sampler-replan")


async def latest_version(session: AsyncSession, plan_id: str) -> AnyRow | None:
    """The newest stored version of a plan."""
    result = await session.execute(
        select(plan_versions)
        .where(plan_versions.c.plan_id == plan_id)
        .order_by(plan_versions.c.version.desc())
        .limit(1)
    )
    return result.first()


async def plan_version(session: AsyncSession, plan_id: str, version: int) -> AnyRow | None:
    """One stored version of a plan."""
    result = await session.execute(
        select(plan_versions).where(
            plan_versions.c.plan_id == plan_id, plan_versions.c.version == version
        )
    )
    return result.first()


async def insert_version(
    session: AsyncSession,
    *,
    plan_id: str,
    version: int,
    document: Mapping[str, Any],
    author: str,
    now: dt.datetime,
) -> None:
    """Store a new version (the primary key refuses a concurrent writer of the same number)."""
    await session.execute(
        plan_versions.insert().values(
            plan_id=plan_id,
            version=version,
            document=dict(document),
            created_by=author,
            created_at=now,
        )
    )


async def list_plans(session: AsyncSession) -> list[AnyRow]:
    """Every plan with its newest version number and when that was stored."""
    result = await session.execute(
        select(
            plan_versions.c.plan_id,
            func.max(plan_versions.c.version).label("latest_version"),
            func.max(plan_versions.c.created_at).label("updated_at"),
        )
        .group_by(plan_versions.c.plan_id)
        .order_by(plan_versions.c.plan_id)
    )
    return list(result.all())


async def list_versions(session: AsyncSession, plan_id: str) -> list[AnyRow]:
    """A plan's versions, newest first."""
    result = await session.execute(
        select(plan_versions.c.version, plan_versions.c.created_by, plan_versions.c.created_at)
        .where(plan_versions.c.plan_id == plan_id)
        .order_by(plan_versions.c.version.desc())
    )
    return list(result.all())


_REVISION_COLUMNS = (
    revisions.c.seq,
    revisions.c.plan_id,
    revisions.c.version,
    revisions.c.effective_from,
    revisions.c.reason,
    revisions.c.scales,
    revisions.c.allocation,
    revisions.c.created_by,
    revisions.c.created_at,
    plan_versions.c.document,
)
_JOINED = revisions.join(
    plan_versions,
    and_(
        revisions.c.plan_id == plan_versions.c.plan_id,
        revisions.c.version == plan_versions.c.version,
    ),
)


async def insert_revision(
    session: AsyncSession,
    *,
    plan_id: str,
    version: int,
    effective_from: dt.datetime,
    reason: str,
    scales: Mapping[str, float],
    allocation: Mapping[str, Any] | None,
    author: str,
    now: dt.datetime,
) -> int:
    """Store a revision; returns its sequence number."""
    result = await session.execute(
        revisions.insert()
        .values(
            plan_id=plan_id,
            version=version,
            effective_from=effective_from,
            reason=reason,
            scales=dict(scales),
            allocation=dict(allocation) if allocation is not None else None,
            created_by=author,
            created_at=now,
        )
        .returning(revisions.c.seq)
    )
    return int(result.scalar_one())


async def latest_revision(session: AsyncSession) -> AnyRow | None:
    """The revision that is (or will be) in force last, with its plan document."""
    result = await session.execute(
        select(*_REVISION_COLUMNS)
        .select_from(_JOINED)
        .order_by(revisions.c.effective_from.desc(), revisions.c.seq.desc())
        .limit(1)
    )
    found: AnyRow | None = result.first()
    return found


async def revisions_window(session: AsyncSession, since: dt.datetime) -> list[AnyRow]:
    """Revisions in force at or after `since` (including the one in force at `since`)."""
    boundary = (
        select(revisions.c.seq)
        .where(revisions.c.effective_from <= since)
        .order_by(revisions.c.effective_from.desc(), revisions.c.seq.desc())
        .limit(1)
        .scalar_subquery()
    )
    result = await session.execute(
        select(*_REVISION_COLUMNS)
        .select_from(_JOINED)
        .where(or_(revisions.c.effective_from > since, revisions.c.seq == boundary))
    )
    return list(result.all())


async def revisions_created_since(session: AsyncSession, since: dt.datetime) -> list[AnyRow]:
    """Revisions stored at or after `since` (an incremental reload)."""
    result = await session.execute(
        select(*_REVISION_COLUMNS).select_from(_JOINED).where(revisions.c.created_at >= since)
    )
    return list(result.all())


async def recent_revisions(session: AsyncSession, limit: int) -> list[AnyRow]:
    """The newest revisions, newest first (the audit trail of what was in force)."""
    result = await session.execute(
        select(*_REVISION_COLUMNS)
        .select_from(_JOINED)
        .order_by(revisions.c.effective_from.desc(), revisions.c.seq.desc())
        .limit(limit)
    )
    return list(result.all())


async def insert_targeting(session: AsyncSession, rows: Sequence[Mapping[str, Any]]) -> int:
    """Store received targeting states once (the first receipt of a state counts)."""
    if not rows:
        return 0
    result = await session.execute(
        insert(targeting_rules)
        .values([dict(row) for row in rows])
        .on_conflict_do_nothing(index_elements=["rule_id", "updated_at"])
        .returning(targeting_rules.c.rule_id)
    )
    return len(result.all())


async def targeting_window(
    session: AsyncSession, *, expiring_after: dt.datetime, received_since: dt.datetime | None
) -> list[AnyRow]:
    """Targeting states that can still matter, all or those received since a moment."""
    query = select(targeting_rules).where(targeting_rules.c.expires_at >= expiring_after)
    if received_since is not None:
        query = query.where(targeting_rules.c.received_at >= received_since)
    result = await session.execute(query)
    return list(result.all())


async def try_replan_lock(session: AsyncSession) -> bool:
    """One instance re-plans at a time (released when the transaction ends)."""
    got = await session.scalar(select(func.pg_try_advisory_xact_lock(REPLAN_LOCK)))
    return bool(got)


async def traffic(session: AsyncSession, since: dt.date) -> list[DayTraffic]:
    """The stored traffic summary of every day from `since`."""
    result = await session.execute(
        select(traffic_days.c.summary)
        .where(traffic_days.c.day >= since)
        .order_by(traffic_days.c.day)
    )
    return [DayTraffic.from_json(row.summary) for row in result]


async def merge_traffic(
    session: AsyncSession, days: Sequence[DayTraffic], *, now: dt.datetime
) -> dict[int, float]:
    """Add traffic deltas into the stored days; returns each day's new sample threshold."""
    thresholds: dict[int, float] = {}
    for delta in sorted(days, key=lambda d: d.day):
        day = dt.date.fromordinal(delta.day)
        found = await session.execute(
            select(traffic_days.c.summary).where(traffic_days.c.day == day).with_for_update()
        )
        row = found.first()
        merged = DayTraffic.from_json(row.summary) if row is not None else DayTraffic(day=delta.day)
        merged.merge(delta)
        await session.execute(
            insert(traffic_days)
            .values(day=day, summary=merged.to_json(), updated_at=now)
            .on_conflict_do_update(
                index_elements=["day"], set_={"summary": merged.to_json(), "updated_at": now}
            )
        )
        thresholds[delta.day] = merged.threshold()
    return thresholds


async def prune_traffic(session: AsyncSession, before: dt.date) -> None:
    """Forget traffic days older than the planning window."""
    await session.execute(traffic_days.delete().where(traffic_days.c.day < before))
