"""SQL of the rule set versions and which one is in force."""

from __future__ import annotations

import datetime as dt
import zlib
from dataclasses import dataclass
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from services.escalation.tables import rule_applications, rule_sets

_VERSION_LOCK = zlib.crc32(b"modqa-escalation-rule-versions")


@dataclass(frozen=True)
class StoredRuleSet:
    version: int
    source: str
    document: dict[str, Any]
    note: str | None
    created_by: str
    created_at: dt.datetime


@dataclass(frozen=True)
class Application:
    version: int
    applied_by: str
    applied_at: dt.datetime


def _stored(row: Any) -> StoredRuleSet:
    return StoredRuleSet(
        version=row.version,
        source=row.source,
        document=dict(row.document),
        note=row.note,
        created_by=row.created_by,
        created_at=row.created_at,
    )


async def add_version(
    session: AsyncSession,
    *,
    source: str,
    document: dict[str, Any],
    note: str | None,
    created_by: str,
    now: dt.datetime,
) -> StoredRuleSet:
    """Store a validated rule set as the next version number."""
    await session.execute(select(func.pg_advisory_xact_lock(_VERSION_LOCK)))
    latest = await session.scalar(select(func.coalesce(func.max(rule_sets.c.version), 0)))
    version = int(latest or 0) + 1
    await session.execute(
        rule_sets.insert().values(
            version=version,
            source=source,
            document=document,
            note=note,
            created_by=created_by,
            created_at=now,
        )
    )
    return StoredRuleSet(version, source, document, note, created_by, now)


async def get_version(session: AsyncSession, version: int) -> StoredRuleSet | None:
    """One stored version, if it exists."""
    row = (await session.execute(select(rule_sets).where(rule_sets.c.version == version))).first()
    return _stored(row) if row else None


async def list_versions(session: AsyncSession) -> list[StoredRuleSet]:
    """Every stored version, newest first."""
    rows = (await session.execute(select(rule_sets).order_by(rule_sets.c.version.desc()))).all()
    return [_stored(row) for row in rows]


async def record_application(
    session: AsyncSession, *, version: int, applied_by: str, now: dt.datetime
) -> Application:
    """Put a version in force (0: the built-in defaults)."""
    await session.execute(
        rule_applications.insert().values(version=version, applied_by=applied_by, applied_at=now)
    )
    return Application(version, applied_by, now)


async def applications(session: AsyncSession, *, limit: int = 50) -> list[Application]:
    """The latest applications, newest first (the first is in force)."""
    rows = (
        await session.execute(
            select(rule_applications).order_by(rule_applications.c.id.desc()).limit(limit)
        )
    ).all()
    return [Application(row.version, row.applied_by, row.applied_at) for row in rows]


async def in_force(session: AsyncSession) -> tuple[int, dict[str, Any] | None]:
    """The version in force and its document (0 and None: the built-in defaults)."""
    version = await session.scalar(
        select(rule_applications.c.version).order_by(rule_applications.c.id.desc()).limit(1)
    )
    if not version:
        return 0, None
    document = await session.scalar(
        select(rule_sets.c.document).where(rule_sets.c.version == version)
    )
    return int(version), dict(document) if document is not None else None
