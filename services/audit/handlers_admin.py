"""What leads (and the policy team) change: the auditor registry, the policy taxonomy,
scorecards, gold items and tasks. One transaction each, each written to the audit log."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit import repository as repo
from services.audit import repository_admin as admin_repo
from services.audit.catalog import Catalog
from services.audit.domain.policies import PolicyChangeRefused, check_policy_update
from services.audit.domain.scoring import Rubric, Scorecard, next_version
from services.audit.domain.verdicts import LeaseStatus, TaskStatus, reference_label
from services.audit.errors import Conflict, NotFound
from services.audit.handlers import SYSTEM_ACTOR
from shared.events import Action, Decision
from shared.ids import new_id
from shared.taxonomy import Policy, Taxonomy


async def upsert_auditor(
    *,
    sessions: async_sessionmaker[AsyncSession],
    auditor_id: str,
    fields: dict[str, Any],
    by: str,
    now: dt.datetime,
) -> Row[Any]:
    """Register an auditor (or SME, or lead) or replace their record."""
    async with sessions.begin() as session:
        before = await admin_repo.get_auditor(session, auditor_id)
        row = await admin_repo.upsert_auditor(
            session, auditor_id=auditor_id, fields=fields, by=by, now=now
        )
        await repo.append_log(
            session,
            at=now,
            actor=by,
            action="auditor.created" if before is None else "auditor.updated",
            subject_type="auditor",
            subject_id=auditor_id,
            details=fields,
        )
        return row


async def seed_taxonomy(
    *, sessions: async_sessionmaker[AsyncSession], taxonomy: Taxonomy, now: dt.datetime
) -> int:
    """Store the file's taxonomy when the database has none yet; returns policies inserted."""
    async with sessions.begin() as session:
        inserted = await admin_repo.seed_policies(session, taxonomy, by=SYSTEM_ACTOR, now=now)
        if inserted:
            await repo.append_log(
                session,
                at=now,
                actor=SYSTEM_ACTOR,
                action="taxonomy.seeded",
                subject_type="taxonomy",
                subject_id="policies",
                details={"policies": [p.id for p in taxonomy.policies]},
            )
        return inserted


async def put_policy(
    *,
    sessions: async_sessionmaker[AsyncSession],
    catalog: Catalog,
    policy: Policy,
    by: str,
    now: dt.datetime,
) -> Row[Any]:
    """Create a policy or edit it; published versions stay as they are."""
    async with sessions.begin() as session:
        existing = await admin_repo.get_policy(session, policy.id, lock=True)
        old = Policy.model_validate(existing.document) if existing else None
        try:
            check_policy_update(old, policy)
        except PolicyChangeRefused as error:
            raise Conflict(str(error)) from error
        row = await admin_repo.save_policy(session, policy, by=by, now=now)
        catalog.forget_taxonomy()
        await repo.append_log(
            session,
            at=now,
            actor=by,
            action="policy.created" if old is None else "policy.updated",
            subject_type="policy",
            subject_id=policy.id,
            details={
                "revision": row.revision,
                "versions": [v.version for v in policy.versions],
                "severity": policy.severity.value,
            },
        )
        return row


async def put_scorecard(
    *,
    sessions: async_sessionmaker[AsyncSession],
    scorecard_id: str,
    rubric: Rubric,
    by: str,
    now: dt.datetime,
) -> Scorecard:
    """Publish a new version of a queue's scorecard (earlier versions stay for old verdicts)."""
    async with sessions.begin() as session:
        await admin_repo.lock_scorecard_id(session, f"queue:{rubric.queue}")
        owner = await admin_repo.scorecard_id_of_queue(session, rubric.queue)
        if owner is not None and owner != scorecard_id:
            raise Conflict(f"queue '{rubric.queue}' already has scorecard '{owner}'; edit that one")
        latest = await admin_repo.get_scorecard(session, scorecard_id)
        try:
            scorecard = next_version(scorecard_id, rubric, latest)
        except ValueError as error:
            raise Conflict(str(error)) from error
        await admin_repo.insert_scorecard(session, scorecard, by=by, now=now)
        await repo.append_log(
            session,
            at=now,
            actor=by,
            action="scorecard.published",
            subject_type="scorecard",
            subject_id=scorecard_id,
            details={"version": scorecard.version, "queue": rubric.queue},
        )
        return scorecard


@dataclass(frozen=True)
class GoldItem:
    """A decision with its known correct label, to be answered by `reviews` auditors."""

    decision: Decision
    expected_action: Action
    expected_policy_id: str | None
    reviews: int
    priority: int
    blind: bool
    due_at: dt.datetime


async def upload_gold(
    *,
    sessions: async_sessionmaker[AsyncSession],
    catalog: Catalog,
    items: Sequence[GoldItem],
    by: str,
    now: dt.datetime,
) -> list[str]:
    """Add gold items to the queues (checked against the taxonomy); returns their task ids."""
    async with sessions.begin() as session:
        taxonomy = await catalog.taxonomy(session)
        task_ids = []
        for item in items:
            reference = reference_label(
                item.decision,
                taxonomy,
                expected_action=item.expected_action,
                expected_policy_id=item.expected_policy_id,
                on=now.date(),
            )
            task_id = new_id()
            await repo.insert_gold_task(
                session,
                task_id=task_id,
                decision=item.decision,
                answer={
                    "expected_action": item.expected_action.value,
                    "expected_policy_id": reference.expected_policy_id,
                    "outcome": reference.outcome.value if reference.outcome else None,
                },
                reviews=item.reviews,
                priority=item.priority,
                blind=item.blind,
                due_at=item.due_at,
                now=now,
            )
            await repo.append_log(
                session,
                at=now,
                actor=by,
                action="gold.uploaded",
                subject_type="task",
                subject_id=task_id,
                details={"decision_id": item.decision.decision_id, "reviews": item.reviews},
            )
            task_ids.append(task_id)
        return task_ids


FINISHED = (TaskStatus.COMPLETED, TaskStatus.CANCELLED)


async def update_task(
    *,
    sessions: async_sessionmaker[AsyncSession],
    task_id: str,
    changes: dict[str, Any],
    by: str,
    now: dt.datetime,
) -> Row[Any]:
    """A lead changes an open task's priority, due time or blindness (blindness only before
    anyone has seen it)."""
    async with sessions.begin() as session:
        task = await repo.lock_task(session, task_id)
        if task is None:
            raise NotFound(f"no task {task_id}")
        if task.status in FINISHED:
            raise Conflict(f"task {task_id} is {task.status}")
        blind = changes.get("blind")
        if blind is not None and blind != task.blind and (task.active_leases or task.reviews_done):
            raise Conflict(
                f"task {task_id} has been seen by auditors; blindness can only change before"
            )
        if changes:
            await repo.set_task(session, task_id, **changes)
        await repo.append_log(
            session,
            at=now,
            actor=by,
            action="task.updated",
            subject_type="task",
            subject_id=task_id,
            details={
                k: v.isoformat() if isinstance(v, dt.datetime) else v for k, v in changes.items()
            },
        )
        updated = await repo.get_task(session, task_id)
        assert updated is not None
        return updated


async def cancel_task(
    *,
    sessions: async_sessionmaker[AsyncSession],
    task_id: str,
    reason: str,
    by: str,
    now: dt.datetime,
) -> None:
    """Withdraw an open task from the queues; its active leases end. Repeating it is a no-op."""
    async with sessions.begin() as session:
        task = await repo.lock_task(session, task_id)
        if task is None:
            raise NotFound(f"no task {task_id}")
        if task.status == TaskStatus.CANCELLED:
            return
        if task.status in (TaskStatus.COMPLETED, TaskStatus.ADJUDICATING):
            raise Conflict(f"task {task_id} is {task.status}; it has verdicts and stays")
        await repo.end_active_leases(session, task_id, status=LeaseStatus.RELEASED, now=now)
        await repo.set_task(
            session, task_id, status=TaskStatus.CANCELLED.value, active_leases=0, completed_at=now
        )
        await repo.append_log(
            session,
            at=now,
            actor=by,
            action="task.cancelled",
            subject_type="task",
            subject_id=task_id,
            details={"reason": reason},
        )
