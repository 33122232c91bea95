"""SQL of the escalation service; every function runs inside the caller's transaction."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalation.tables import cases, corrections
from shared.events import Correction, Escalation

_OPEN = ("open", "acknowledged", "investigating")


def _case_row(case: Escalation) -> dict[str, Any]:
    return {
        "escalation_id": case.escalation_id,
        "kind": case.kind.value,
        "subject": case.subject,
        "severity": case.severity.value,
        "status": case.status.value,
        "evidence": list(case.evidence),
        "owner": case.owner,
        "due_at": case.due_at,
        "root_cause": case.root_cause,
        "resolution": case.resolution,
        "trigger_count": case.trigger_count,
        "revision": case.revision,
        "updated_at": case.updated_at,
    }


def case_from_row(row: Any) -> Escalation:
    """The case event form of a stored row."""
    return Escalation(
        escalation_id=row.escalation_id,
        kind=row.kind,
        severity=row.severity,
        status=row.status,
        subject=row.subject,
        evidence=list(row.evidence),
        owner=row.owner,
        due_at=row.due_at,
        root_cause=row.root_cause,
        resolution=row.resolution,
        trigger_count=row.trigger_count,
        revision=row.revision,
        updated_at=row.updated_at,
    )


async def open_case_for(session: AsyncSession, *, kind: str, subject: str) -> Escalation | None:
    """The open case about a subject, locked for update."""
    result = await session.execute(
        select(cases)
        .where(cases.c.kind == kind, cases.c.subject == subject, cases.c.status.in_(_OPEN))
        .with_for_update()
    )
    row = result.first()
    return case_from_row(row) if row else None


async def insert_case(session: AsyncSession, case: Escalation) -> bool:
    """Store a new case; False when a case with that id exists already."""
    result = await session.execute(
        insert(cases)
        .values(**_case_row(case), opened_at=case.updated_at)
        .on_conflict_do_nothing(index_elements=["escalation_id"])
        .returning(cases.c.escalation_id)
    )
    return result.first() is not None


async def save_case(session: AsyncSession, case: Escalation) -> None:
    """Overwrite a case with its new state."""
    await session.execute(
        update(cases).where(cases.c.escalation_id == case.escalation_id).values(**_case_row(case))
    )


async def insert_correction(session: AsyncSession, correction: Correction) -> bool:
    """Store the correction of a decision once; False when that decision has one already."""
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
            issued_at=correction.issued_at,
        )
        .on_conflict_do_nothing(index_elements=["decision_id"])
        .returning(corrections.c.correction_id)
    )
    return result.first() is not None


async def list_cases(
    session: AsyncSession,
    *,
    kind: str | None,
    status: str | None,
    subject: str | None,
    after: str | None,
    limit: int,
) -> list[Escalation]:
    """Cases matching the filters in id order, starting after the cursor id."""
    query = select(cases).order_by(cases.c.escalation_id).limit(limit)
    if kind is not None:
        query = query.where(cases.c.kind == kind)
    if status is not None:
        query = query.where(cases.c.status == status)
    if subject is not None:
        query = query.where(cases.c.subject == subject)
    if after is not None:
        query = query.where(cases.c.escalation_id > after)
    return [case_from_row(row) for row in (await session.execute(query)).all()]
