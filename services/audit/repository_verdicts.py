"""SQL of verdicts; every function runs inside the caller's transaction."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from sqlalchemy import exists, select, update
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.dml import Insert, Update

from services.audit import statements as sql
from services.audit.driver import Transaction
from services.audit.tables import verdicts
from shared.db.outbox import OutboxMessage, outbox_row
from shared.events import Verdict, VerdictPurpose


async def verdict_by_key(session: AsyncSession, *, auditor_id: str, key: str) -> Row[Any] | None:
    """The verdict an auditor already submitted with this idempotency key."""
    result = await session.execute(
        select(verdicts).where(
            verdicts.c.auditor_id == auditor_id, verdicts.c.idempotency_key == key
        )
    )
    return result.first()


async def get_verdict(session: AsyncSession, verdict_id: str) -> Row[Any] | None:
    """One verdict row."""
    return (
        await session.execute(select(verdicts).where(verdicts.c.verdict_id == verdict_id))
    ).first()


async def is_superseded(session: AsyncSession, verdict_id: str) -> bool:
    """True when an amendment replaced the verdict."""
    found = await session.scalar(select(exists().where(verdicts.c.supersedes == verdict_id)))
    return bool(found)


async def reviews_of(session: AsyncSession, task_id: str) -> list[Verdict]:
    """The individual calibration reviews of a task, in the order they came in."""
    result = await session.execute(
        select(verdicts.c.event)
        .where(
            verdicts.c.task_id == task_id,
            verdicts.c.purpose == VerdictPurpose.CALIBRATION.value,
            verdicts.c.final.is_(False),
        )
        .order_by(verdicts.c.round)
    )
    return [Verdict.model_validate(event) for event in result.scalars()]


async def verdicts_of_task(session: AsyncSession, task_id: str) -> list[Row[Any]]:
    """Every verdict on a task, oldest first."""
    result = await session.execute(
        select(verdicts)
        .where(verdicts.c.task_id == task_id)
        .order_by(verdicts.c.submitted_at, verdicts.c.round)
    )
    return list(result.all())


async def closing_verdict(session: AsyncSession, task_id: str) -> Row[Any] | None:
    """The verdict that closed a calibration round (not an amendment of it)."""
    result = await session.execute(
        select(verdicts).where(
            verdicts.c.task_id == task_id,
            verdicts.c.purpose == VerdictPurpose.CALIBRATION.value,
            verdicts.c.final.is_(True),
            verdicts.c.supersedes.is_(None),
        )
    )
    return result.first()


def verdict_columns(
    verdict: Verdict,
    *,
    idempotency_key: str | None = None,
    scorecard_answers: Mapping[str, str] | None = None,
    reference_match: bool | None = None,
    event: str | None = None,
) -> dict[str, Any]:
    """The columns that store a verdict (its event form included; `event`: that form as JSON
    text, when the caller has it)."""
    d = verdict.decision
    return {
        "verdict_id": verdict.verdict_id,
        "task_id": verdict.task_id,
        "decision_id": verdict.decision_id,
        "auditor_id": verdict.auditor_id,
        "round": verdict.round,
        "outcome": verdict.outcome.value,
        "expected_action": verdict.expected_action.value if verdict.expected_action else None,
        "expected_policy_id": verdict.expected_policy_id,
        "error_type": verdict.error_type.value if verdict.error_type else None,
        "severity": verdict.severity.value if verdict.severity else None,
        "notes": verdict.notes,
        "supersedes": verdict.supersedes,
        "idempotency_key": idempotency_key,
        "submitted_at": verdict.submitted_at,
        "event": verdict.model_dump(mode="json") if event is None else event,
        "purpose": verdict.purpose.value,
        "final": verdict.final,
        "blind": verdict.blind,
        "policy_version": verdict.policy_version,
        "moderator_id": d.moderator_id if d else None,
        "moderator_team": d.moderator_team if d else None,
        "queue": d.queue if d else None,
        "market": d.market if d else None,
        "policy_id": d.policy_id if d else None,
        "scorecard_id": verdict.scorecard_id,
        "scorecard_version": verdict.scorecard_version,
        "scorecard_answers": dict(scorecard_answers) if scorecard_answers else None,
        "qa_score": verdict.qa_score,
        "gold_correct": verdict.gold_correct,
        "calibration_agreed": verdict.calibration_agreed,
        "reference_match": reference_match,
    }


def verdict_insert(verdict: Verdict, **columns: Any) -> Insert:
    """The INSERT that stores a verdict (`verdict_columns`' arguments), to run with other writes."""
    return verdicts.insert().values(verdict_columns(verdict, **columns))


async def insert_verdict(
    session: AsyncSession,
    verdict: Verdict,
    *,
    idempotency_key: str | None = None,
    scorecard_answers: Mapping[str, str] | None = None,
    reference_match: bool | None = None,
) -> None:
    """Store a verdict (its event form included)."""
    columns = verdict_columns(
        verdict,
        idempotency_key=idempotency_key,
        scorecard_answers=scorecard_answers,
        reference_match=reference_match,
    )
    await session.execute(sql.VERDICT_INSERT, sql.params("verdict", columns))


async def record_verdict(
    tx: Transaction,
    *,
    verdict: Mapping[str, Any],
    lease: Mapping[str, Any],
    task: Mapping[str, Any],
    log: Mapping[str, Any],
    message: OutboxMessage,
) -> None:
    """Store a verdict in one statement: the verdict (`verdict_columns`), its auditor's lease's
    `status` and `ended_at`, the task's `active_leases`, `reviews_done`, `status` and
    `completed_at`, the audit log entry (`repository.log_entry`) and the event in the outbox."""
    key = {"task_id": verdict["task_id"], "auditor_id": verdict["auditor_id"]}
    await tx.execute(
        sql.VERDICT_WRITES,
        sql.params("verdict", verdict)
        | sql.params("lease", {**key, **lease})
        | sql.params("task", {"task_id": verdict["task_id"], **task})
        | sql.params("log", log)
        | sql.params("outbox", outbox_row(message)),
    )


def verdict_update(verdict_id: str, **values: Any) -> Update:
    """The UPDATE of columns of one verdict (never its event)."""
    return update(verdicts).where(verdicts.c.verdict_id == verdict_id).values(**values)
