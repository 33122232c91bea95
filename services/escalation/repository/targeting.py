"""SQL of the targeting rules escalation published, and their latest state."""

from __future__ import annotations

import datetime as dt

from sqlalchemy import Interval, literal_column, select
from sqlalchemy.dialects.postgresql import insert
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalation.tables import targeting_rules
from shared.events import TargetingRule


async def save_targeting(
    session: AsyncSession, rule: TargetingRule, *, lifetime: dt.timedelta
) -> None:
    """Store the latest state of a targeting rule."""
    values = {
        "case_id": rule.case_id or "",
        "event": rule.model_dump(mode="json", by_alias=True),
        "active": rule.active,
        "expires_at": rule.expires_at,
        "lifetime_seconds": lifetime.total_seconds(),
        "updated_at": rule.updated_at,
    }
    statement = insert(targeting_rules).values(rule_id=rule.rule_id, **values)
    await session.execute(statement.on_conflict_do_update(index_elements=["rule_id"], set_=values))


async def active_targeting_of(session: AsyncSession, case_id: str) -> list[TargetingRule]:
    """The active targeting rules a case set, locked."""
    rows = (
        await session.execute(
            select(targeting_rules.c.event)
            .where(targeting_rules.c.case_id == case_id, targeting_rules.c.active)
            .with_for_update()
        )
    ).all()
    return [TargetingRule.model_validate(row.event) for row in rows]


async def lock_targeting_due(
    session: AsyncSession, *, now: dt.datetime, limit: int
) -> list[tuple[TargetingRule, dt.timedelta]]:
    """Active rules past half their lifetime, locked, with their lifetime."""
    half_life = literal_column(
        "make_interval(secs => escalation.targeting_rules.lifetime_seconds / 2)", Interval()
    )
    rows = (
        await session.execute(
            select(targeting_rules.c.event, targeting_rules.c.lifetime_seconds)
            .where(targeting_rules.c.active, targeting_rules.c.expires_at - half_life <= now)
            .order_by(targeting_rules.c.expires_at)
            .limit(limit)
            .with_for_update(skip_locked=True)
        )
    ).all()
    return [
        (TargetingRule.model_validate(row.event), dt.timedelta(seconds=row.lifetime_seconds))
        for row in rows
    ]


async def targeting_of(session: AsyncSession, case_id: str) -> list[TargetingRule]:
    """Every targeting rule a case set, active or lifted."""
    rows = (
        await session.execute(
            select(targeting_rules.c.event).where(targeting_rules.c.case_id == case_id)
        )
    ).all()
    return [TargetingRule.model_validate(row.event) for row in rows]
