"""SQL of cases and their history; every function runs inside the caller's transaction."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalation.repository.constants import consts
from services.escalation.tables import case_history, cases
from shared.events import CaseFigure, Escalation

OPEN = ("open", "acknowledged", "investigating")


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
        "change": case.change,
        "actor": case.actor,
        "rule_id": case.rule_id,
        "root_cause_note": case.root_cause_note,
        "sla_breaches": case.sla_breaches,
        "moderator_id": case.moderator_id,
        "moderator_team": case.moderator_team,
        "market": case.market,
        "policy_id": case.policy_id,
        "figures": [figure.model_dump(mode="json") for figure in case.figures],
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
        opened_at=row.opened_at,
        change=row.change,
        actor=row.actor,
        rule_id=row.rule_id,
        root_cause_note=row.root_cause_note,
        sla_breaches=row.sla_breaches,
        moderator_id=row.moderator_id,
        moderator_team=row.moderator_team,
        market=row.market,
        policy_id=row.policy_id,
        figures=[CaseFigure.model_validate(f) for f in row.figures or []],
    )


async def open_case_for(session: AsyncSession, *, kind: str, subject: str) -> Escalation | None:
    """The open case about a subject, locked for update."""
    result = await session.execute(
        select(cases)
        .where(
            cases.c.kind == kind,
            cases.c.subject == subject,
            cases.c.status.in_(consts("open_states", OPEN)),
        )
        .with_for_update()
    )
    row = result.first()
    return case_from_row(row) if row else None


async def lock_case(session: AsyncSession, escalation_id: str) -> Escalation | None:
    """A case by id, locked for update."""
    result = await session.execute(
        select(cases).where(cases.c.escalation_id == escalation_id).with_for_update()
    )
    row = result.first()
    return case_from_row(row) if row else None


async def get_case(session: AsyncSession, escalation_id: str) -> Escalation | None:
    """A case by id."""
    row = (
        await session.execute(select(cases).where(cases.c.escalation_id == escalation_id))
    ).first()
    return case_from_row(row) if row else None


async def handled_evidence(session: AsyncSession, *, kind: str, subject: str) -> frozenset[str]:
    """The evidence of the most recently closed case about a subject (none: empty)."""
    evidence = await session.scalar(
        select(cases.c.evidence)
        .where(
            cases.c.kind == kind,
            cases.c.subject == subject,
            cases.c.status.not_in(consts("open_states", OPEN)),
        )
        .order_by(cases.c.closed_at.desc().nulls_last(), cases.c.updated_at.desc())
        .limit(1)
    )
    return frozenset(evidence or ())


async def insert_case(session: AsyncSession, case: Escalation) -> bool:
    """Store a new case; False when it exists, or another case about the subject is open."""
    result = await session.execute(
        insert(cases)
        .values(**_case_row(case), opened_at=case.opened_at or case.updated_at)
        .on_conflict_do_nothing()
        .returning(cases.c.escalation_id)
    )
    return result.first() is not None


async def save_case(
    session: AsyncSession,
    case: Escalation,
    *,
    acknowledged_at: dt.datetime | None = None,
    closed_at: dt.datetime | None = None,
) -> None:
    """Overwrite a case with its new state (and stamp acknowledgement or closing once)."""
    values: dict[str, Any] = _case_row(case)
    if acknowledged_at is not None:
        values["acknowledged_at"] = func.coalesce(cases.c.acknowledged_at, acknowledged_at)
    if closed_at is not None:
        values["closed_at"] = closed_at
    await session.execute(
        update(cases).where(cases.c.escalation_id == case.escalation_id).values(**values)
    )


async def append_history(
    session: AsyncSession,
    case: Escalation,
    *,
    from_status: str | None,
    note: str | None,
    details: dict[str, Any],
) -> None:
    """One more row in the case's append-only history (idempotent per revision)."""
    await session.execute(
        insert(case_history)
        .values(
            escalation_id=case.escalation_id,
            revision=case.revision,
            at=case.updated_at,
            actor=case.actor or "system",
            change=case.change or "changed",
            from_status=from_status,
            to_status=case.status.value,
            note=note,
            details=details,
        )
        .on_conflict_do_nothing()
    )


@dataclass(frozen=True)
class HistoryEntry:
    revision: int
    at: dt.datetime
    actor: str
    change: str
    from_status: str | None
    to_status: str
    note: str | None
    details: dict[str, Any]


async def history(session: AsyncSession, escalation_id: str) -> list[HistoryEntry]:
    """A case's history, oldest first."""
    rows = (
        await session.execute(
            select(case_history)
            .where(case_history.c.escalation_id == escalation_id)
            .order_by(case_history.c.revision)
        )
    ).all()
    return [
        HistoryEntry(
            revision=row.revision,
            at=row.at,
            actor=row.actor,
            change=row.change,
            from_status=row.from_status,
            to_status=row.to_status,
            note=row.note,
            details=dict(row.details or {}),
        )
        for row in rows
    ]


@dataclass(frozen=True)
class CaseFilter:
    kinds: frozenset[str] | None = None
    """None: every kind the caller may see."""
    status: str | None = None
    severity: str | None = None
    subject: str | None = None
    owner: str | None = None
    moderator_id: str | None = None
    market: str | None = None
    policy_id: str | None = None
    opened_after: dt.datetime | None = None
    opened_before: dt.datetime | None = None


async def list_cases(
    session: AsyncSession,
    where: CaseFilter,
    *,
    after: tuple[dt.datetime, str] | None,
    limit: int,
) -> list[Escalation]:
    """Cases matching the filter, newest first, starting after the (opened_at, id) cursor."""
    query = select(cases).order_by(cases.c.opened_at.desc(), cases.c.escalation_id.desc())
    equal = {
        "status": where.status,
        "severity": where.severity,
        "subject": where.subject,
        "owner": where.owner,
        "moderator_id": where.moderator_id,
        "market": where.market,
        "policy_id": where.policy_id,
    }
    for column, value in equal.items():
        if value is not None:
            query = query.where(cases.c[column] == value)
    if where.kinds is not None:
        query = query.where(cases.c.kind.in_(sorted(where.kinds)))
    if where.opened_after is not None:
        query = query.where(cases.c.opened_at >= where.opened_after)
    if where.opened_before is not None:
        query = query.where(cases.c.opened_at < where.opened_before)
    if after is not None:
        opened, escalation_id = after
        query = query.where(
            or_(
                cases.c.opened_at < opened,
                and_(cases.c.opened_at == opened, cases.c.escalation_id < escalation_id),
            )
        )
    rows = (await session.execute(query.limit(limit))).all()
    return [case_from_row(row) for row in rows]


async def lock_overdue(session: AsyncSession, *, now: dt.datetime, limit: int) -> list[Escalation]:
    """Open cases past their due time, locked (skipping those another replica holds)."""
    rows = (
        await session.execute(
            select(cases)
            .where(cases.c.status.in_(consts("open_states", OPEN)), cases.c.due_at <= now)
            .order_by(cases.c.due_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    return [case_from_row(row) for row in rows]


async def open_counts(session: AsyncSession) -> Sequence[tuple[str, str, int]]:
    """(kind, severity, count) of the cases not yet closed."""
    rows = (
        await session.execute(
            select(cases.c.kind, cases.c.severity, func.count())
            .where(cases.c.status.in_(consts("open_states", OPEN)))
            .group_by(cases.c.kind, cases.c.severity)
        )
    ).all()
    return [(row[0], row[1], int(row[2])) for row in rows]


async def oldest_unacknowledged(session: AsyncSession) -> Sequence[tuple[str, dt.datetime]]:
    """(severity, opening time) of the oldest case still waiting for acknowledgement."""
    rows = (
        await session.execute(
            select(cases.c.severity, func.min(cases.c.opened_at))
            .where(cases.c.status == "open")
            .group_by(cases.c.severity)
        )
    ).all()
    return [(row[0], row[1]) for row in rows]
