"""SQL of what escalation remembers of consumed events: the verdict ledger, the windowed
policy-gap counters, disputes and drift signals."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Text, bindparam, func, or_, select, true, tuple_, update
from sqlalchemy.dialects.postgresql import ARRAY, insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalation.domain.triggers import (
    DisputeState,
    GapCounts,
    JudgedAudit,
    ModeratorWindow,
)
from services.escalation.repository.constants import const
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


async def record_verdicts(session: AsyncSession, batch: Sequence[Verdict]) -> list[Verdict]:
    """Remember final verdicts once; returns those that are new and not superseded (a verdict
    arriving with or after the amendment that supersedes it counts for nothing)."""
    first: dict[str, Verdict] = {}
    for verdict in batch:
        first.setdefault(verdict.verdict_id, verdict)
    unique = list(first.values())
    if not unique:
        return []
    inserted = await session.scalars(
        insert(verdicts)
        .on_conflict_do_nothing(index_elements=["verdict_id"])
        .returning(verdicts.c.verdict_id),
        [_ledger_row(v) for v in unique],
    )
    new = set(inserted.all())
    if not new:
        return []
    amending = verdicts.alias("amending")
    superseded = await session.scalars(
        update(verdicts)
        .where(
            amending.c.supersedes == verdicts.c.verdict_id,
            verdicts.c.superseded_by.is_(None),
            or_(verdicts.c.verdict_id.in_(sorted(new)), amending.c.verdict_id.in_(sorted(new))),
        )
        .values(superseded_by=amending.c.verdict_id)
        .returning(verdicts.c.verdict_id)
    )
    gone = set(superseded.all())
    return [v for v in unique if v.verdict_id in new and v.verdict_id not in gone]


def _ledger_row(verdict: Verdict) -> dict[str, Any]:
    decision = verdict.decision
    return {
        "verdict_id": verdict.verdict_id,
        "decision_id": verdict.decision_id,
        "purpose": verdict.purpose.value,
        "outcome": verdict.outcome.value,
        "supersedes": verdict.supersedes,
        "superseded_by": None,
        "moderator_id": decision.moderator_id if decision else None,
        "moderator_team": decision.moderator_team if decision else None,
        "market": decision.market if decision else None,
        "policy_id": decision.policy_id if decision else None,
        "calibration_agreed": verdict.calibration_agreed,
        "submitted_at": verdict.submitted_at,
    }


async def moderator_windows(
    session: AsyncSession, moderator_ids: Sequence[str], *, limit: int
) -> list[ModeratorWindow]:
    """Each moderator's latest judged verdicts that still count, newest first: one query, an
    index range per moderator (LATERAL ... LIMIT), however long their history."""
    if not moderator_ids:
        return []
    wanted = (
        func.unnest(bindparam("moderators", sorted(set(moderator_ids)), type_=ARRAY(Text)))
        .table_valued("moderator_id")
        .render_derived(name="wanted")
    )
    latest = (
        select(
            verdicts.c.verdict_id,
            verdicts.c.outcome,
            verdicts.c.moderator_team,
            verdicts.c.submitted_at,
        )
        .where(
            verdicts.c.moderator_id == wanted.c.moderator_id,
            verdicts.c.superseded_by.is_(None),
            verdicts.c.outcome.in_(("correct", "incorrect")),
        )
        .order_by(verdicts.c.submitted_at.desc(), verdicts.c.verdict_id.desc())
        .limit(limit)
        .lateral("latest")
    )
    rows = (
        await session.execute(
            select(wanted.c.moderator_id, latest)
            .select_from(wanted.join(latest, true()))
            .order_by(
                wanted.c.moderator_id, latest.c.submitted_at.desc(), latest.c.verdict_id.desc()
            )
        )
    ).all()
    by_moderator: dict[str, list[Any]] = {}
    for row in rows:
        by_moderator.setdefault(row.moderator_id, []).append(row)
    return [
        ModeratorWindow(
            moderator_id=moderator_id,
            moderator_team=next((r.moderator_team for r in found if r.moderator_team), None),
            audits=tuple(JudgedAudit(r.verdict_id, r.outcome == "correct") for r in found),
        )
        for moderator_id, found in sorted(by_moderator.items())
    ]


def hour(at: dt.datetime) -> dt.datetime:
    """The start of the hour bucket an event time falls in."""
    return at.astimezone(dt.UTC).replace(minute=0, second=0, microsecond=0)


GapKey = tuple[str, str, dt.datetime]
"""(market, policy_id, hour bucket)."""


def gap_key(market: str, policy_id: str, at: dt.datetime) -> GapKey:
    """The counter row an event at `at` adds to."""
    return market, policy_id, hour(at)


async def count_gaps(session: AsyncSession, increments: dict[GapKey, dict[str, int]]) -> None:
    """Add to the hourly counters of markets and policies (one statement)."""
    rows = [
        {
            "market": market,
            "policy_id": policy_id,
            "bucket_start": bucket,
            **{name: counts.get(name, 0) for name in GAP_COLUMNS},
        }
        for (market, policy_id, bucket), counts in sorted(increments.items())
        if any(counts.values())
    ]
    if not rows:
        return
    statement = insert(gap_counters)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["market", "policy_id", "bucket_start"],
            set_={name: gap_counters.c[name] + statement.excluded[name] for name in GAP_COLUMNS},
        ),
        rows,
    )


async def gap_counts(
    session: AsyncSession,
    pairs: Sequence[tuple[str, str]],
    *,
    since: dt.datetime,
    until: dt.datetime,
) -> list[GapCounts]:
    """The counters of markets and policies summed over the hour buckets from `since`'s hour."""
    if not pairs:
        return []
    sums = [func.sum(gap_counters.c[name]).label(name) for name in GAP_COLUMNS]
    rows = (
        await session.execute(
            select(gap_counters.c.market, gap_counters.c.policy_id, *sums)
            .where(
                tuple_(gap_counters.c.market, gap_counters.c.policy_id).in_(sorted(set(pairs))),
                gap_counters.c.bucket_start >= hour(since),
                gap_counters.c.bucket_start <= until,
            )
            .group_by(gap_counters.c.market, gap_counters.c.policy_id)
            .order_by(gap_counters.c.market, gap_counters.c.policy_id)
        )
    ).all()
    return [
        GapCounts(
            row.market, row.policy_id, since, until, *(int(row[2 + i] or 0) for i in range(6))
        )
        for row in rows
    ]


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
                disputes.c.status == const(DisputeStatus.OPEN.value),
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
    """Remember which case an overdue dispute opened."""
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
