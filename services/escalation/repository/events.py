"""SQL of what escalation remembers of consumed events: the verdict ledger, the windowed
policy-gap counters, disputes and drift signals."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalation.domain.triggers import (
    DisputeState,
    GapCounts,
    JudgedAudit,
    ModeratorWindow,
)
from services.escalation.tables import (
    disputes,
    gap_counters,
    signals,
    verdicts,
)
from shared.events import Dispute, DisputeStatus, DriftSignal, Verdict

GAP_COLUMNS = (
    "verdicts",
    "unsure",
    "calibrations",
    "calibration_disagreed",
    "disputes_resolved",
    "disputes_overturned",
)


async def record_verdict(session: AsyncSession, verdict: Verdict) -> tuple[bool, bool]:
    """Remember a final verdict once: (new, superseded). A verdict arriving after the amendment
    that supersedes it is stored as superseded already."""
    decision = verdict.decision
    later = (
        select(verdicts.c.verdict_id)
        .where(verdicts.c.supersedes == verdict.verdict_id)
        .limit(1)
        .scalar_subquery()
    )
    result = await session.execute(
        insert(verdicts)
        .values(
            verdict_id=verdict.verdict_id,
            decision_id=verdict.decision_id,
            purpose=verdict.purpose.value,
            outcome=verdict.outcome.value,
            supersedes=verdict.supersedes,
            superseded_by=later,
            moderator_id=decision.moderator_id if decision else None,
            moderator_team=decision.moderator_team if decision else None,
            market=decision.market if decision else None,
            policy_id=decision.policy_id if decision else None,
            calibration_agreed=verdict.calibration_agreed,
            submitted_at=verdict.submitted_at,
        )
        .on_conflict_do_nothing(index_elements=["verdict_id"])
        .returning(verdicts.c.superseded_by)
    )
    row = result.first()
    if row is None:
        return False, False
    if verdict.supersedes is not None:
        await session.execute(
            update(verdicts)
            .where(verdicts.c.verdict_id == verdict.supersedes, verdicts.c.superseded_by.is_(None))
            .values(superseded_by=verdict.verdict_id)
        )
    return True, row.superseded_by is not None


async def moderator_window(
    session: AsyncSession, moderator_id: str, *, limit: int
) -> ModeratorWindow:
    """A moderator's latest judged verdicts that still count, newest first."""
    rows = (
        await session.execute(
            select(verdicts.c.verdict_id, verdicts.c.outcome, verdicts.c.moderator_team)
            .where(
                verdicts.c.moderator_id == moderator_id,
                verdicts.c.superseded_by.is_(None),
                verdicts.c.outcome.in_(("correct", "incorrect")),
            )
            .order_by(verdicts.c.submitted_at.desc(), verdicts.c.verdict_id.desc())
            .limit(limit)
        )
    ).all()
    team = next((row.moderator_team for row in rows if row.moderator_team), None)
    return ModeratorWindow(
        moderator_id=moderator_id,
        moderator_team=team,
        audits=tuple(JudgedAudit(row.verdict_id, row.outcome == "correct") for row in rows),
    )


def hour(at: dt.datetime) -> dt.datetime:
    """The start of the hour bucket an event time falls in."""
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


async def count_gap(
    session: AsyncSession, *, market: str, policy_id: str, at: dt.datetime, **increments: int
) -> None:
    """Add to one market and policy's hourly counters."""
    values = {name: increments.get(name, 0) for name in GAP_COLUMNS}
    if not any(values.values()):
        return
    statement = insert(gap_counters).values(
        market=market, policy_id=policy_id, bucket_start=hour(at), **values
    )
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["market", "policy_id", "bucket_start"],
            set_={name: gap_counters.c[name] + statement.excluded[name] for name in GAP_COLUMNS},
        )
    )


async def gap_counts(
    session: AsyncSession, *, market: str, policy_id: str, since: dt.datetime, until: dt.datetime
) -> GapCounts:
    """The counters of a market and policy summed over the hour buckets from `since`'s hour."""
    row = (
        await session.execute(
            select(*(func.coalesce(func.sum(gap_counters.c[n]), 0) for n in GAP_COLUMNS)).where(
                gap_counters.c.market == market,
                gap_counters.c.policy_id == policy_id,
                gap_counters.c.bucket_start >= hour(since),
                gap_counters.c.bucket_start <= until,
            )
        )
    ).one()
    return GapCounts(market, policy_id, since, until, *(int(value) for value in row))


async def gap_evidence(
    session: AsyncSession,
    *,
    market: str,
    policy_id: str,
    since: dt.datetime,
    figures: set[str],
    limit: int,
) -> tuple[str, ...]:
    """Ids behind the shares above their bar: unsure and disagreed verdicts, overturned disputes."""
    found: list[str] = []
    in_window = (
        verdicts.c.market == market,
        verdicts.c.policy_id == policy_id,
        verdicts.c.submitted_at >= since,
        verdicts.c.supersedes.is_(None),
    )
    if "unsure_share" in figures:
        found += (
            await session.scalars(
                select(verdicts.c.verdict_id)
                .where(*in_window, verdicts.c.outcome == "unsure")
                .order_by(verdicts.c.submitted_at.desc())
                .limit(limit)
            )
        ).all()
    if "calibration_disagreement_share" in figures:
        found += (
            await session.scalars(
                select(verdicts.c.verdict_id)
                .where(*in_window, verdicts.c.calibration_agreed.is_(False))
                .order_by(verdicts.c.submitted_at.desc())
                .limit(limit)
            )
        ).all()
    if "overturned_dispute_share" in figures:
        found += (
            await session.scalars(
                select(disputes.c.dispute_id)
                .where(
                    disputes.c.market == market,
                    disputes.c.policy_id == policy_id,
                    disputes.c.status == DisputeStatus.OVERTURNED.value,
                    disputes.c.resolved_at >= since,
                )
                .order_by(disputes.c.resolved_at.desc())
                .limit(limit)
            )
        ).all()
    return tuple(dict.fromkeys(found))[:limit]


@dataclass(frozen=True)
class DisputeChange:
    """How a consumed dispute event changed what we knew."""

    applied: bool
    newly_resolved: bool
    overdue_case_id: str | None


async def record_dispute(session: AsyncSession, dispute: Dispute) -> DisputeChange:
    """Keep the latest state of a dispute (older or repeated events change nothing)."""
    stored = (
        await session.execute(
            select(disputes).where(disputes.c.dispute_id == dispute.dispute_id).with_for_update()
        )
    ).first()
    if stored is not None and (
        stored.updated_at > dispute.updated_at
        or (stored.updated_at == dispute.updated_at and stored.status == dispute.status.value)
        or stored.status != DisputeStatus.OPEN.value
    ):
        return DisputeChange(False, False, None)
    resolved = dispute.status is not DisputeStatus.OPEN
    values = {
        "verdict_id": dispute.verdict_id,
        "decision_id": dispute.decision_id,
        "status": dispute.status.value,
        "due_at": dispute.due_at,
        "market": dispute.market,
        "policy_id": dispute.policy_id,
        "moderator_id": dispute.moderator_id,
        "updated_at": dispute.updated_at,
        "resolved_at": dispute.updated_at if resolved else None,
    }
    statement = insert(disputes).values(dispute_id=dispute.dispute_id, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["dispute_id"], set_=values)
    )
    return DisputeChange(True, resolved, stored.overdue_case_id if stored else None)


async def lock_overdue_disputes(
    session: AsyncSession, *, now: dt.datetime, limit: int
) -> list[DisputeState]:
    """Open disputes past their due time that have no case yet, locked."""
    rows = (
        await session.execute(
            select(disputes)
            .where(
                disputes.c.status == DisputeStatus.OPEN.value,
                disputes.c.due_at <= now,
                disputes.c.overdue_case_id.is_(None),
            )
            .order_by(disputes.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    return [
        DisputeState(
            dispute_id=row.dispute_id,
            verdict_id=row.verdict_id,
            decision_id=row.decision_id,
            status=DisputeStatus(row.status),
            due_at=row.due_at,
            market=row.market,
            policy_id=row.policy_id,
            moderator_id=row.moderator_id,
        )
        for row in rows
    ]


async def mark_dispute_case(session: AsyncSession, dispute_id: str, case_id: str) -> None:
    await session.execute(
        update(disputes).where(disputes.c.dispute_id == dispute_id).values(overdue_case_id=case_id)
    )


async def record_signal(session: AsyncSession, signal: DriftSignal) -> bool:
    """Remember a drift signal once; False when seen before."""
    result = await session.execute(
        insert(signals)
        .values(
            signal_id=signal.signal_id,
            scope=signal.scope.value,
            moderator_id=signal.moderator_id,
            market=signal.market,
            policy_id=signal.policy_id,
            detected_at=signal.detected_at,
        )
        .on_conflict_do_nothing(index_elements=["signal_id"])
        .returning(signals.c.signal_id)
    )
    return result.first() is not None
