"""Corrections through the broker: one per wrong decision, retractions and replacements when an
arbitration amends the verdict, and the verdict -> correction latency on /metrics."""

from __future__ import annotations

from prometheus_client import REGISTRY
from sqlalchemy import select

from services.escalation import handlers, tables
from shared.clock import ManualClock
from shared.db.engine import build_engine, build_sessions
from shared.settings import Settings
from shared.topics import Topics
from tests.support.builders import NOW
from tests.support.escalation import MISS, a_miss, amendment, fast, running_escalation
from tests.support.waiting import eventually


def published_corrections() -> float:
    return REGISTRY.get_sample_value("modqa_escalation_correction_latency_seconds_count") or 0.0


async def test_amendments_retract_or_replace_the_correction_and_nothing_is_sent_twice(
    settings: Settings,
) -> None:
    before = published_corrections()
    async with running_escalation(fast(settings), ManualClock(NOW)) as esc:
        wrong = a_miss("d-1")
        right_after_all = amendment(wrong, "amend-1")
        second = a_miss("d-2")
        harsher = amendment(second, "amend-2", **{**MISS, "expected_action": "terminate_account"})
        await esc.send(wrong, second)
        await eventually(lambda: esc.rows(tables.verdicts), until=lambda v: len(v) == 2, what="1st")
        await esc.send(right_after_all, harsher, wrong, harsher)
        await eventually(lambda: esc.rows(tables.verdicts), until=lambda v: len(v) == 4, what="2nd")
        await esc.drained()
        corrections = await esc.events(esc.topics.corrections)
        assert len(corrections) == 4
        by_verdict = {c["verdict_id"]: c for c in corrections}
        retraction = by_verdict["amend-1"]
        assert retraction["retracts"] == by_verdict[wrong.verdict_id]["correction_id"]
        assert (retraction["corrected_action"], retraction["corrected_policy_id"]) == (None, None)
        replacement = by_verdict["amend-2"]
        assert replacement["retracts"] == by_verdict[second.verdict_id]["correction_id"]
        assert replacement["corrected_action"] == "terminate_account"
        assert {c["content_id"] for c in corrections} == {"content-d-1", "content-d-2"}
        state = {r.decision_id: r.in_force for r in await esc.rows(tables.decision_corrections)}
        assert state == {"d-1": None, "d-2": replacement["correction_id"]}

        # an amendment arriving before the verdict it supersedes: the late original counts for nothing
        late = a_miss("d-3", verdict_id="orig-3")
        early = amendment(late, "amend-3")
        await esc.send(early)
        await eventually(
            lambda: esc.rows(tables.verdicts), until=lambda v: len(v) == 5, what="early"
        )
        await esc.send(late)
        await eventually(
            lambda: esc.rows(tables.verdicts), until=lambda v: len(v) == 6, what="late"
        )
        await esc.drained()
        assert len(await esc.events(esc.topics.corrections)) == 4
        assert await esc.cases(subject="decision:d-3") == []
    assert published_corrections() == before + 4


async def test_an_original_and_its_amendment_in_one_batch_leave_only_the_net_result(
    settings: Settings, topics: Topics
) -> None:
    engine = build_engine(settings)
    sessions = build_sessions(engine)
    overturned, changed = a_miss("d-1"), a_miss("d-2")
    batch = [
        overturned,
        changed,
        amendment(overturned, "amend-1"),
        amendment(changed, "amend-2", **{**MISS, "expected_action": "terminate_account"}),
    ]
    for _ in range(2):
        await handlers.handle_events(sessions=sessions, topics=topics, batch=batch, now=NOW)
    async with sessions() as session:
        fixes = (await session.execute(select(tables.corrections))).all()
        cases = (await session.execute(select(tables.cases))).all()
    await engine.dispose()
    assert [(f.decision_id, f.verdict_id, f.corrected_action, f.retracts) for f in fixes] == [
        ("d-2", "amend-2", "terminate_account", None)
    ]
    assert [c.subject for c in cases] == ["decision:d-2"], "the overturned miss opens nothing"
