"""Handlers against the real database: concurrent claims, idempotent storage and replays."""

from __future__ import annotations

import asyncio
import datetime as dt

from sqlalchemy import func, select

from services.audit import handlers as audit
from services.escalation import handlers as escalation
from services.escalation import tables as escalation_tables
from shared.db.engine import build_engine, build_sessions
from shared.settings import Settings
from shared.topics import Topics
from tests.support.builders import NOW, a_decision, a_task, a_verdict

LEASE = dt.timedelta(minutes=10)
MISS = {
    "outcome": "incorrect",
    "expected_action": "remove",
    "expected_policy_id": "child_safety",
    "error_type": "under_enforcement",
    "severity": "critical",
}


async def test_twenty_concurrent_claimers_never_share_a_task(settings: Settings) -> None:
    engine = build_engine(settings, pool_size=20)
    sessions = build_sessions(engine)
    tasks = [
        a_task(a_decision(decision_id=f"d-{i}", moderator_id=f"m-{i % 9}")) for i in range(1000)
    ]
    assert await audit.store_tasks(sessions=sessions, batch=tasks) == 1000
    assert await audit.store_tasks(sessions=sessions, batch=tasks[:100]) == 0

    async def claimer(n: int) -> list[str]:
        mine = []
        while True:
            row = await audit.claim_next_task(
                sessions=sessions, auditor_id=f"auditor-{n}", now=NOW, lease=LEASE
            )
            if row is None:
                return mine
            mine.append(row.task_id)

    claimed = await asyncio.gather(*(claimer(n) for n in range(20)))
    await engine.dispose()
    everything = [task_id for part in claimed for task_id in part]
    assert len(everything) == len(set(everything)) == 1000
    assert sum(1 for part in claimed if part) > 1, "claims should be spread over claimers"


async def test_an_auditor_is_never_given_their_own_decision(settings: Settings) -> None:
    engine = build_engine(settings)
    sessions = build_sessions(engine)
    await audit.store_tasks(sessions=sessions, batch=[a_task(a_decision(moderator_id="ana"))])
    assert (
        await audit.claim_next_task(sessions=sessions, auditor_id="ana", now=NOW, lease=LEASE)
        is None
    )
    assert (
        await audit.claim_next_task(sessions=sessions, auditor_id="bo", now=NOW, lease=LEASE)
        is not None
    )
    await engine.dispose()


async def test_an_expired_lease_returns_the_task_to_the_pool(settings: Settings) -> None:
    engine = build_engine(settings)
    sessions = build_sessions(engine)
    await audit.store_tasks(sessions=sessions, batch=[a_task()])
    first = await audit.claim_next_task(sessions=sessions, auditor_id="a1", now=NOW, lease=LEASE)
    assert first is not None
    assert (
        await audit.claim_next_task(sessions=sessions, auditor_id="a2", now=NOW, lease=LEASE)
        is None
    )
    later = NOW + LEASE + dt.timedelta(seconds=1)
    again = await audit.claim_next_task(sessions=sessions, auditor_id="a2", now=later, lease=LEASE)
    assert again is not None and again.task_id == first.task_id and again.leased_by == "a2"
    await engine.dispose()


async def test_replayed_verdicts_open_one_case_and_issue_one_correction(
    settings: Settings, topics: Topics
) -> None:
    engine = build_engine(settings)
    sessions = build_sessions(engine)
    decision = a_decision(action="approve", policy_id="child_safety")
    batch = [a_verdict(decision, **MISS)]
    for _ in range(3):
        await escalation.handle_verdicts(sessions=sessions, topics=topics, batch=batch, now=NOW)
    second_opinion = a_verdict(decision, **{**MISS, "verdict_id": "verdict-2", "auditor_id": "a2"})
    await escalation.handle_verdicts(
        sessions=sessions, topics=topics, batch=[second_opinion], now=NOW
    )
    async with engine.connect() as conn:
        cases = (await conn.execute(select(escalation_tables.cases))).all()
        corrections = await conn.scalar(
            select(func.count()).select_from(escalation_tables.corrections)
        )
        outbox = (await conn.execute(select(escalation_tables.outbox.c.topic))).scalars().all()
    await engine.dispose()
    assert len(cases) == 1
    assert cases[0].trigger_count == 2 and cases[0].evidence == [batch[0].verdict_id, "verdict-2"]
    assert corrections == 1
    assert sorted(outbox) == sorted(
        [topics.escalations, topics.escalations, topics.corrections, topics.targeting]
    )
