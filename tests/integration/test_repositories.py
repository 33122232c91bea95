"""Handlers against the real database: idempotent storage and replays (the audit queue is in
`test_audit_queue.py`)."""

from __future__ import annotations

from sqlalchemy import func, select

from services.escalation import handlers as escalation
from services.escalation import tables as escalation_tables
from shared.db.engine import build_engine, build_sessions
from shared.settings import Settings
from shared.topics import Topics
from tests.support.builders import NOW, a_decision, a_verdict

MISS = {
    "outcome": "incorrect",
    "expected_action": "remove",
    "expected_policy_id": "child_safety",
    "error_type": "under_enforcement",
    "severity": "critical",
}


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
