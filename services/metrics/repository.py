"""SQL of the metrics service; every function runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.metrics.tables import tasks, verdicts
from shared.events import Task, Verdict

GROUPABLE = (
    "queue",
    "market",
    "language",
    "policy_id",
    "moderator_id",
    "moderator_kind",
    "moderator_team",
    "content_type",
)


async def insert_tasks(session: AsyncSession, batch: Sequence[Task]) -> None:
    """Store the sampling facts of tasks once."""
    rows = {
        t.task_id: {
            "task_id": t.task_id,
            "decision_id": t.decision.decision_id,
            "inclusion_probability": t.inclusion_probability,
            "reasons": [r.value for r in t.reasons],
            "stratum": t.stratum,
            "plan_id": t.plan_id,
            "plan_version": t.plan_version,
            "created_at": t.created_at,
        }
        for t in batch
    }
    if rows:
        await session.execute(
            insert(tasks)
            .values(list(rows.values()))
            .on_conflict_do_nothing(index_elements=["task_id"])
        )


def _verdict_row(v: Verdict) -> dict[str, Any]:
    d = v.decision
    assert d is not None
    return {
        "verdict_id": v.verdict_id,
        "task_id": v.task_id,
        "decision_id": v.decision_id,
        "auditor_id": v.auditor_id,
        "outcome": v.outcome.value,
        "error_type": v.error_type.value if v.error_type else None,
        "severity": v.severity.value if v.severity else None,
        "round": v.round,
        "supersedes": v.supersedes,
        "final": v.final,
        "submitted_at": v.submitted_at,
        "queue": d.queue,
        "market": d.market,
        "language": d.language,
        "policy_id": d.policy_id,
        "moderator_id": d.moderator_id,
        "moderator_kind": d.moderator_kind.value,
        "moderator_team": d.moderator_team,
        "content_type": d.content_type.value,
        "decided_at": d.decided_at,
    }


async def insert_verdicts(session: AsyncSession, batch: Sequence[Verdict]) -> None:
    """Store verdicts once each; an amended verdict retires the one it supersedes."""
    rows = {v.verdict_id: _verdict_row(v) for v in batch if v.decision is not None}
    if not rows:
        return
    await session.execute(
        insert(verdicts)
        .values(list(rows.values()))
        .on_conflict_do_nothing(index_elements=["verdict_id"])
    )
    retired = [v.supersedes for v in batch if v.supersedes]
    if retired:
        await session.execute(
            update(verdicts).where(verdicts.c.verdict_id.in_(retired)).values(superseded=True)
        )
    # an amendment that arrived before the verdict it supersedes must still retire it
    await session.execute(
        update(verdicts)
        .where(
            verdicts.c.verdict_id.in_(list(rows)),
            verdicts.c.verdict_id.in_(
                select(verdicts.c.supersedes).where(verdicts.c.supersedes.is_not(None))
            ),
        )
        .values(superseded=True)
    )


async def accuracy_counts(
    session: AsyncSession, group_by: Sequence[str]
) -> list[tuple[dict[str, str], int, int]]:
    """Per group: (group values, correct, judged) over final, current verdicts."""
    columns = [verdicts.c[name] for name in group_by]
    judged = func.count().filter(verdicts.c.outcome.in_(("correct", "incorrect")))
    correct = func.count().filter(verdicts.c.outcome == "correct")
    query = (
        select(*columns, correct, judged)
        .where(verdicts.c.final, verdicts.c.superseded.is_(False))
        .group_by(*columns)
        .order_by(*columns)
    )
    result = await session.execute(query)
    out = []
    for row in result.all():
        values = {name: str(row[i]) for i, name in enumerate(group_by)}
        out.append((values, int(row[-2]), int(row[-1])))
    return out
