"""SQL of corrections: every one emitted, and per decision the one in force."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalation.domain.corrections import CorrectionKind, DecisionCorrection
from services.escalation.tables import corrections, decision_corrections
from shared.events import Correction


async def lock_decision_corrections(
    session: AsyncSession, decision_ids: Sequence[str]
) -> dict[str, DecisionCorrection]:
    """What each decision has received so far (those with a final verdict), locked."""
    if not decision_ids:
        return {}
    states = (
        await session.execute(
            select(decision_corrections)
            .where(decision_corrections.c.decision_id.in_(sorted(set(decision_ids))))
            .order_by(decision_corrections.c.decision_id)
            .with_for_update()
        )
    ).all()
    in_force_ids = [row.in_force for row in states if row.in_force is not None]
    in_force = {}
    if in_force_ids:
        rows = await session.execute(
            select(corrections).where(corrections.c.correction_id.in_(in_force_ids))
        )
        in_force = {row.correction_id: correction_from_row(row) for row in rows}
    return {
        row.decision_id: DecisionCorrection(
            row.decision_id,
            row.content_id,
            row.verdict_id,
            in_force[row.in_force] if row.in_force is not None else None,
        )
        for row in states
    }


async def save_decision_corrections(
    session: AsyncSession, states: Sequence[DecisionCorrection], *, now: dt.datetime
) -> None:
    """Store what decisions have received (one statement)."""
    if not states:
        return
    statement = insert(decision_corrections)
    await session.execute(
        statement.on_conflict_do_update(
            index_elements=["decision_id"],
            set_={
                name: statement.excluded[name]
                for name in ("content_id", "verdict_id", "in_force", "updated_at")
            },
        ),
        [
            {
                "decision_id": state.decision_id,
                "content_id": state.content_id,
                "verdict_id": state.verdict_id,
                "in_force": state.in_force.correction_id if state.in_force else None,
                "updated_at": now,
            }
            for state in sorted(states, key=lambda s: s.decision_id)
        ],
    )


def correction_from_row(row: Any) -> Correction:
    """The event form of a stored correction."""
    return Correction(
        correction_id=row.correction_id,
        content_id=row.content_id,
        decision_id=row.decision_id,
        corrected_action=row.corrected_action,
        corrected_policy_id=row.corrected_policy_id,
        verdict_id=row.verdict_id,
        retracts=row.retracts,
        issued_at=row.issued_at,
    )


async def insert_corrections(
    session: AsyncSession, emitted: Sequence[tuple[Correction, CorrectionKind]]
) -> set[str]:
    """Store emitted corrections once; returns the ids that were new."""
    if not emitted:
        return set()
    inserted = await session.scalars(
        insert(corrections)
        .on_conflict_do_nothing(index_elements=["correction_id"])
        .returning(corrections.c.correction_id),
        [
            {
                "correction_id": c.correction_id,
                "decision_id": c.decision_id,
                "content_id": c.content_id,
                "verdict_id": c.verdict_id,
                "corrected_action": c.corrected_action.value if c.corrected_action else None,
                "corrected_policy_id": c.corrected_policy_id,
                "retracts": c.retracts,
                "kind": kind.value,
                "issued_at": c.issued_at,
            }
            for c, kind in emitted
        ],
    )
    return set(inserted.all())
