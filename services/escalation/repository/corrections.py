"""SQL of corrections: every one emitted, and per decision the one in force."""

from __future__ import annotations

import datetime as dt
from typing import Any

from sqlalchemy import select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalation.domain.corrections import CorrectionKind, DecisionCorrection
from services.escalation.tables import corrections, decision_corrections
from shared.events import Correction


async def lock_decision_correction(
    session: AsyncSession, decision_id: str
) -> DecisionCorrection | None:
    """What a decision has received so far, locked for update."""
    row = (
        await session.execute(
            select(decision_corrections)
            .where(decision_corrections.c.decision_id == decision_id)
            .with_for_update()
        )
    ).first()
    if row is None:
        return None
    in_force = None
    if row.in_force is not None:
        stored = (
            await session.execute(
                select(corrections).where(corrections.c.correction_id == row.in_force)
            )
        ).one()
        in_force = correction_from_row(stored)
    return DecisionCorrection(row.decision_id, row.content_id, row.verdict_id, in_force)


async def save_decision_correction(
    session: AsyncSession, state: DecisionCorrection, *, now: dt.datetime
) -> None:
    """Store what a decision has received."""
    values = {
        "content_id": state.content_id,
        "verdict_id": state.verdict_id,
        "in_force": state.in_force.correction_id if state.in_force else None,
        "updated_at": now,
    }
    statement = insert(decision_corrections).values(decision_id=state.decision_id, **values)
    await session.execute(
        statement.on_conflict_do_update(index_elements=["decision_id"], set_=values)
    )


def correction_from_row(row: Any) -> Correction:
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


async def insert_correction(
    session: AsyncSession, correction: Correction, kind: CorrectionKind
) -> bool:
    """Store an emitted correction once; False when that id exists already."""
    result = await session.execute(
        insert(corrections)
        .values(
            correction_id=correction.correction_id,
            decision_id=correction.decision_id,
            content_id=correction.content_id,
            verdict_id=correction.verdict_id,
            corrected_action=correction.corrected_action.value
            if correction.corrected_action
            else None,
            corrected_policy_id=correction.corrected_policy_id,
            retracts=correction.retracts,
            kind=kind.value,
            issued_at=correction.issued_at,
        )
        .on_conflict_do_nothing(index_elements=["correction_id"])
        .returning(corrections.c.correction_id)
    )
    return result.first() is not None
