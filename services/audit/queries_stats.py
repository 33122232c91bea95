"""Figures about auditors and gold items: throughput, gold accuracy, calibration agreement,
disputes. Each rate comes with its sample size and a 95% Wilson interval."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, select
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit.domain.stats import Proportion, proportion
from services.audit.domain.verdicts import LeaseStatus
from services.audit.tables import disputes, leases, tasks, verdicts
from shared.events import VerdictPurpose


@dataclass(frozen=True)
class AuditorStats:
    """What an auditor (or their lead) reads about their work, each rate with n and interval."""

    auditor_id: str
    verdicts_total: int
    verdicts_last_24h: int
    verdicts_last_7d: int
    per_day: list[tuple[dt.date, int]]
    median_handle_seconds: float | None
    gold_accuracy: Proportion
    calibration_agreement: Proportion
    disputed: int
    overturned: int


async def auditor_stats(
    *, sessions: async_sessionmaker[AsyncSession], auditor_id: str, now: dt.datetime, days: int = 14
) -> AuditorStats:
    """Throughput, gold accuracy, calibration agreement and disputes of one auditor."""
    v = verdicts.c
    mine = and_(v.auditor_id == auditor_id, v.supersedes.is_(None))
    async with sessions() as session:
        counts = (
            await session.execute(
                select(
                    func.count(),
                    func.count().filter(v.submitted_at >= now - dt.timedelta(hours=24)),
                    func.count().filter(v.submitted_at >= now - dt.timedelta(days=7)),
                    func.count().filter(
                        v.purpose == VerdictPurpose.GOLD.value, v.reference_match.is_not(None)
                    ),
                    func.count().filter(
                        v.purpose == VerdictPurpose.GOLD.value, v.reference_match.is_(True)
                    ),
                    func.count().filter(
                        v.purpose == VerdictPurpose.CALIBRATION.value,
                        v.final.is_(False),
                        v.reference_match.is_not(None),
                    ),
                    func.count().filter(
                        v.purpose == VerdictPurpose.CALIBRATION.value,
                        v.final.is_(False),
                        v.reference_match.is_(True),
                    ),
                ).where(mine)
            )
        ).one()
        day = func.date_trunc("day", v.submitted_at).label("day")
        per_day = (
            await session.execute(
                select(day, func.count())
                .where(mine, v.submitted_at >= now - dt.timedelta(days=days))
                .group_by(day)
                .order_by(day)
            )
        ).all()
        handle = await session.scalar(
            select(
                func.percentile_cont(0.5).within_group(
                    func.extract("epoch", leases.c.ended_at - leases.c.leased_at)
                )
            ).where(
                leases.c.auditor_id == auditor_id,
                leases.c.status == LeaseStatus.COMPLETED.value,
            )
        )
        disputed = (
            await session.execute(
                select(
                    func.count(),
                    func.count().filter(disputes.c.status == "overturned"),
                ).where(disputes.c.auditor_id == auditor_id)
            )
        ).one()
    return AuditorStats(
        auditor_id=auditor_id,
        verdicts_total=counts[0],
        verdicts_last_24h=counts[1],
        verdicts_last_7d=counts[2],
        per_day=[(d.date(), n) for d, n in per_day],
        median_handle_seconds=round(float(handle), 1) if handle is not None else None,
        gold_accuracy=proportion(counts[4], counts[3]),
        calibration_agreement=proportion(counts[6], counts[5]),
        disputed=disputed[0],
        overturned=disputed[1],
    )


async def gold_items(
    *, sessions: async_sessionmaker[AsyncSession], limit: int
) -> list[tuple[Row[Any], Proportion]]:
    """Gold tasks with how often auditors matched their known answer."""
    answered = func.count(verdicts.c.verdict_id)
    matched = func.count(verdicts.c.verdict_id).filter(verdicts.c.gold_correct.is_(True))
    query = (
        select(tasks, answered.label("answered"), matched.label("matched"))
        .outerjoin(verdicts, verdicts.c.task_id == tasks.c.task_id)
        .where(tasks.c.purpose == VerdictPurpose.GOLD.value)
        .group_by(tasks.c.task_id)
        .order_by(tasks.c.created_at.desc())
        .limit(limit)
    )
    async with sessions() as session:
        rows = (await session.execute(query)).all()
    return [(row, proportion(row.matched, row.answered)) for row in rows]
