"""SQL of what leads and SMEs manage: auditors, the policy taxonomy, scorecards and disputes.

Every function runs inside the caller's transaction.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.engine import Row
from sqlalchemy.ext.asyncio import AsyncSession

from services.audit.domain.scoring import Rubric, Scorecard
from services.audit.tables import auditors, disputes, policies, scorecards
from shared.taxonomy import Policy, Taxonomy


async def get_auditor(session: AsyncSession, auditor_id: str) -> Row[Any] | None:
    """One registry record."""
    return (
        await session.execute(select(auditors).where(auditors.c.auditor_id == auditor_id))
    ).first()


async def upsert_auditor(
    session: AsyncSession, *, auditor_id: str, fields: dict[str, Any], by: str, now: dt.datetime
) -> Row[Any]:
    """Create or replace a registry record; returns it."""
    values = {**fields, "updated_at": now, "updated_by": by}
    statement = insert(auditors).values(auditor_id=auditor_id, created_at=now, **values)
    result = await session.execute(
        statement.on_conflict_do_update(index_elements=["auditor_id"], set_=values).returning(
            *auditors.c
        )
    )
    return result.one()


async def list_auditors(session: AsyncSession, *, active: bool | None) -> list[Row[Any]]:
    """The registry, by id."""
    query = select(auditors).order_by(auditors.c.auditor_id)
    if active is not None:
        query = query.where(auditors.c.active.is_(active))
    return list((await session.execute(query)).all())


async def load_taxonomy(session: AsyncSession) -> Taxonomy | None:
    """The policy taxonomy as stored (None before it was seeded)."""
    documents = (
        await session.execute(select(policies.c.document).order_by(policies.c.policy_id))
    ).scalars()
    found = [Policy.model_validate(document) for document in documents]
    return Taxonomy(policies=found) if found else None


async def list_policies(session: AsyncSession) -> list[Row[Any]]:
    """Every stored policy row, by id."""
    return list((await session.execute(select(policies).order_by(policies.c.policy_id))).all())


async def get_policy(session: AsyncSession, policy_id: str, *, lock: bool) -> Row[Any] | None:
    """One stored policy row (locked for an edit when asked)."""
    query = select(policies).where(policies.c.policy_id == policy_id)
    if lock:
        query = query.with_for_update()
    return (await session.execute(query)).first()


async def save_policy(
    session: AsyncSession, policy: Policy, *, by: str, now: dt.datetime
) -> Row[Any]:
    """Insert a policy or replace it, counting revisions."""
    document = policy.model_dump(mode="json")
    statement = insert(policies).values(
        policy_id=policy.id, document=document, revision=1, updated_at=now, updated_by=by
    )
    result = await session.execute(
        statement.on_conflict_do_update(
            index_elements=["policy_id"],
            set_={
                "document": document,
                "revision": policies.c.revision + 1,
                "updated_at": now,
                "updated_by": by,
            },
        ).returning(*policies.c)
    )
    return result.one()


async def seed_policies(
    session: AsyncSession, taxonomy: Taxonomy, *, by: str, now: dt.datetime
) -> int:
    """Insert the file's policies when the table is empty; returns how many were inserted."""
    if await session.scalar(select(func.count()).select_from(policies)):
        return 0
    await session.execute(
        insert(policies)
        .values(
            [
                {
                    "policy_id": p.id,
                    "document": p.model_dump(mode="json"),
                    "updated_at": now,
                    "updated_by": by,
                }
                for p in taxonomy.policies
            ]
        )
        .on_conflict_do_nothing(index_elements=["policy_id"])
    )
    return len(taxonomy.policies)


def _scorecard(row: Row[Any]) -> Scorecard:
    return Scorecard(
        scorecard_id=row.scorecard_id,
        version=row.version,
        rubric=Rubric(queue=row.queue, name=row.name, criteria=row.criteria),
    )


async def get_scorecard(
    session: AsyncSession, scorecard_id: str, version: int | None = None
) -> Scorecard | None:
    """A scorecard version (the newest when `version` is None)."""
    query = select(scorecards).where(scorecards.c.scorecard_id == scorecard_id)
    if version is not None:
        query = query.where(scorecards.c.version == version)
    row = (await session.execute(query.order_by(scorecards.c.version.desc()).limit(1))).first()
    return _scorecard(row) if row else None


async def lock_scorecard_id(session: AsyncSession, scorecard_id: str) -> None:
    """Serialise edits of one scorecard id (a transaction-scoped advisory lock)."""
    await session.execute(select(func.pg_advisory_xact_lock(func.hashtext(scorecard_id))))


async def scorecard_id_of_queue(session: AsyncSession, queue: str) -> str | None:
    """The id of the scorecard a queue already has, if any."""
    return await session.scalar(
        select(scorecards.c.scorecard_id).where(scorecards.c.queue == queue).limit(1)
    )


async def insert_scorecard(
    session: AsyncSession, scorecard: Scorecard, *, by: str, now: dt.datetime
) -> None:
    """Store a new scorecard version."""
    await session.execute(
        scorecards.insert().values(
            scorecard_id=scorecard.scorecard_id,
            version=scorecard.version,
            queue=scorecard.rubric.queue,
            name=scorecard.rubric.name,
            criteria=[c.model_dump(mode="json") for c in scorecard.rubric.criteria],
            created_at=now,
            created_by=by,
        )
    )


async def list_scorecards(session: AsyncSession, *, queue: str | None) -> list[Scorecard]:
    """The newest version of every scorecard (of one queue when asked)."""
    newest = (
        select(scorecards.c.scorecard_id, func.max(scorecards.c.version).label("version"))
        .group_by(scorecards.c.scorecard_id)
        .subquery()
    )
    query = select(scorecards).join(
        newest,
        (newest.c.scorecard_id == scorecards.c.scorecard_id)
        & (newest.c.version == scorecards.c.version),
    )
    if queue is not None:
        query = query.where(scorecards.c.queue == queue)
    rows = (await session.execute(query.order_by(scorecards.c.scorecard_id))).all()
    return [_scorecard(row) for row in rows]


async def insert_dispute(session: AsyncSession, values: dict[str, Any]) -> Row[Any] | None:
    """Store a new dispute; None when the verdict was disputed before (concurrently too)."""
    result = await session.execute(
        insert(disputes)
        .values(**values)
        .on_conflict_do_nothing(index_elements=["verdict_id"])
        .returning(*disputes.c)
    )
    return result.first()


async def lock_dispute(session: AsyncSession, dispute_id: str) -> Row[Any] | None:
    """One dispute row, locked for arbitration."""
    return (
        await session.execute(
            select(disputes).where(disputes.c.dispute_id == dispute_id).with_for_update()
        )
    ).first()


async def get_dispute(session: AsyncSession, dispute_id: str) -> Row[Any] | None:
    """One dispute row."""
    return (
        await session.execute(select(disputes).where(disputes.c.dispute_id == dispute_id))
    ).first()


async def has_dispute(session: AsyncSession, verdict_id: str) -> bool:
    """True when the verdict was disputed before."""
    found = await session.scalar(
        select(disputes.c.dispute_id).where(disputes.c.verdict_id == verdict_id)
    )
    return found is not None


async def resolve_dispute(session: AsyncSession, dispute_id: str, **values: Any) -> Row[Any]:
    """Record an SME's ruling; returns the updated row."""
    result = await session.execute(
        update(disputes)
        .where(disputes.c.dispute_id == dispute_id)
        .values(**values)
        .returning(*disputes.c)
    )
    return result.one()


async def list_disputes(
    session: AsyncSession, *, statuses: Sequence[str], limit: int
) -> list[Row[Any]]:
    """Disputes in the given statuses, the most urgent first."""
    query = select(disputes).order_by(disputes.c.due_at, disputes.c.dispute_id).limit(limit)
    if statuses:
        query = query.where(disputes.c.status.in_(list(statuses)))
    return list((await session.execute(query)).all())


async def count_open_disputes(session: AsyncSession, now: dt.datetime) -> tuple[int, int]:
    """(open disputes, of which past their SLA)."""
    row = (
        await session.execute(
            select(
                func.count(),
                func.count().filter(disputes.c.due_at < now),
            ).where(disputes.c.status == "open")
        )
    ).one()
    return int(row[0]), int(row[1])
