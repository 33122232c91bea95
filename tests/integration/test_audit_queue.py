"""The work queue against the real database: concurrent claims, routing, leases."""

from __future__ import annotations

import asyncio
import datetime as dt
from collections.abc import AsyncIterator, Sequence

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit import handlers, handlers_admin
from services.audit.catalog import Catalog
from services.audit.errors import Conflict, Refused
from services.audit.tables import audit_log, leases, tasks
from shared.db.engine import build_engine, build_sessions
from shared.settings import Settings
from tests.support.builders import NOW, a_decision, a_task

LEASE = dt.timedelta(minutes=10)


@pytest.fixture
async def sessions(settings: Settings) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = build_engine(settings, pool_size=20)
    yield build_sessions(engine)
    await engine.dispose()


async def register(
    sessions: async_sessionmaker[AsyncSession],
    auditor_id: str,
    *,
    languages: Sequence[str] = ("ko",),
    markets: Sequence[str] = (),
    policy_areas: Sequence[str] = (),
    active: bool = True,
) -> None:
    await handlers_admin.upsert_auditor(
        sessions=sessions,
        auditor_id=auditor_id,
        fields={
            "name": auditor_id,
            "languages": list(languages),
            "markets": list(markets),
            "policy_areas": list(policy_areas),
            "roles": ["auditor"],
            "teams": [],
            "active": active,
        },
        by="lead-1",
        now=NOW,
    )


async def claim(
    sessions: async_sessionmaker[AsyncSession], auditor_id: str, now: dt.datetime = NOW
) -> str | None:
    claimed = await handlers.claim_next_task(
        sessions=sessions, catalog=Catalog(), auditor_id=auditor_id, now=now, lease=LEASE
    )
    return claimed.task.task_id if claimed else None


async def test_twenty_concurrent_claimers_on_a_thousand_tasks_get_each_task_once(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    batch = [
        a_task(a_decision(decision_id=f"d-{i}", moderator_id=f"m-{i % 9}")) for i in range(1000)
    ]
    assert await handlers.store_tasks(sessions=sessions, batch=batch) == 1000
    assert await handlers.store_tasks(sessions=sessions, batch=batch[:100]) == 0
    for n in range(20):
        await register(sessions, f"auditor-{n}")

    async def claimer(n: int) -> list[str]:
        mine = []
        while (task_id := await claim(sessions, f"auditor-{n}")) is not None:
            mine.append(task_id)
        return mine

    claimed = await asyncio.gather(*(claimer(n) for n in range(20)))
    everything = [task_id for part in claimed for task_id in part]
    assert len(everything) == len(set(everything)) == 1000
    assert sum(1 for part in claimed if part) > 1, "claims should be spread over claimers"
    async with sessions() as session:
        grouped = await session.execute(
            select(tasks.c.status, func.count()).group_by(tasks.c.status)
        )
        statuses = {status: count for status, count in grouped.all()}
        lease_rows = await session.scalar(select(func.count()).select_from(leases))
        logged = await session.scalar(
            select(func.count()).where(audit_log.c.action == "task.claimed")
        )
    assert statuses == {"leased": 1000}
    assert lease_rows == 1000 and logged == 1000


async def test_claims_route_by_skills_then_priority_then_due_time(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    def task(i: int, *, language: str, market: str, policy: str, priority: int, due_h: int):
        decision = a_decision(
            decision_id=f"d-{i}", language=language, market=market, policy_id=policy
        )
        return a_task(decision, priority=priority, due_at=NOW + dt.timedelta(hours=due_h))

    await handlers.store_tasks(
        sessions=sessions,
        batch=[
            task(1, language="ko", market="KR", policy="spam", priority=50, due_h=1),
            task(2, language="ko", market="KR", policy="hate_speech", priority=90, due_h=9),
            task(3, language="ko", market="KR", policy="hate_speech", priority=90, due_h=2),
            task(4, language="en", market="US", policy="spam", priority=99, due_h=1),
            task(5, language="ko", market="US", policy="spam", priority=99, due_h=1),
        ],
    )
    await register(sessions, "ko-kr", languages=["ko"], markets=["KR"])
    await register(sessions, "ko-spam", languages=["ko"], policy_areas=["spam"])
    await register(sessions, "de", languages=["de"])

    ids = {i: a_task(a_decision(decision_id=f"d-{i}")).task_id for i in range(1, 6)}
    assert await claim(sessions, "de") is None
    assert [await claim(sessions, "ko-kr") for _ in range(4)] == [ids[3], ids[2], ids[1], None]
    assert [await claim(sessions, "ko-spam") for _ in range(2)] == [ids[5], None]


async def test_an_auditor_is_never_given_their_own_decision(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await handlers.store_tasks(sessions=sessions, batch=[a_task(a_decision(moderator_id="ana"))])
    await register(sessions, "ana")
    await register(sessions, "bo")
    assert await claim(sessions, "ana") is None
    assert await claim(sessions, "bo") is not None


async def test_only_active_registered_auditors_claim(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await handlers.store_tasks(sessions=sessions, batch=[a_task()])
    with pytest.raises(Refused, match="not an active registered auditor"):
        await claim(sessions, "stranger")
    await register(sessions, "gone", active=False)
    with pytest.raises(Refused):
        await claim(sessions, "gone")


async def test_an_expired_lease_returns_the_task_to_the_pool(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await handlers.store_tasks(sessions=sessions, batch=[a_task()])
    for name in ("a1", "a2"):
        await register(sessions, name)
    first = await claim(sessions, "a1")
    assert first is not None
    assert await claim(sessions, "a2") is None
    assert (await handlers.expire_leases(sessions=sessions, now=NOW + LEASE / 2)).total() == 0
    later = NOW + LEASE + dt.timedelta(seconds=1)
    assert (await handlers.expire_leases(sessions=sessions, now=later)).total() == 1
    async with sessions() as session:
        assert await session.scalar(select(tasks.c.status)) == "expired"
    assert await claim(sessions, "a2", later) == first
    with pytest.raises(Conflict, match="not leased to you"):
        await handlers.extend_lease(
            sessions=sessions, task_id=first, auditor_id="a1", now=later, lease=LEASE
        )


async def test_extend_keeps_a_lease_and_release_hands_the_task_to_someone_else(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    await handlers.store_tasks(sessions=sessions, batch=[a_task()])
    for name in ("a1", "a2"):
        await register(sessions, name)
    task_id = await claim(sessions, "a1")
    assert task_id is not None
    extended = await handlers.extend_lease(
        sessions=sessions,
        task_id=task_id,
        auditor_id="a1",
        now=NOW + dt.timedelta(minutes=8),
        lease=LEASE,
    )
    assert extended == NOW + dt.timedelta(minutes=18)
    assert (await handlers.expire_leases(sessions=sessions, now=NOW + LEASE * 1.5)).total() == 0
    await handlers.release_task(sessions=sessions, task_id=task_id, auditor_id="a1", now=NOW)
    assert await claim(sessions, "a1") is None, "a released task never comes back to its auditor"
    assert await claim(sessions, "a2") == task_id


async def test_a_calibration_task_goes_to_k_distinct_auditors_once_each(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    calibration = a_task(required_reviews=3, reasons=["calibration"])
    await handlers.store_tasks(sessions=sessions, batch=[calibration])
    for name in ("a1", "a2", "a3", "a4"):
        await register(sessions, name)
    assert await claim(sessions, "a1") == calibration.task_id
    assert await claim(sessions, "a1") is None
    # one after another: a concurrent claimer skips the row another one has locked
    assert [await claim(sessions, name) for name in ("a2", "a3", "a4")] == [
        calibration.task_id,
        calibration.task_id,
        None,
    ]
    async with sessions() as session:
        row = (await session.execute(select(tasks))).one()
    assert (row.status, row.active_leases, row.purpose) == ("leased", 3, "calibration")


async def test_a_batch_larger_than_one_statement_allows_is_stored_whole(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    batch = [a_task(a_decision(decision_id=f"big-{i}")) for i in range(2500)]
    assert await handlers.store_tasks(sessions=sessions, batch=batch) == 2500
    assert await handlers.store_tasks(sessions=sessions, batch=batch) == 0
