"""Metrics handlers on the real database: weighting, idempotency, amendments, drift, impact."""

from __future__ import annotations

import json

import pytest
from sqlalchemy import select

from services.metrics import handlers, queries
from services.metrics.domain.drift import design_for
from services.metrics.repository import FigureQuery
from services.metrics.tables import outbox
from shared.db.engine import build_engine, build_sessions
from shared.events import Escalation
from shared.settings import Settings
from shared.topics import Topics
from tests.support.builders import NOW, a_verdict
from tests.support.events import MISSED, audited

DESIGN = design_for(0.05, 0.15, 1500)
TODAY = NOW.date()


@pytest.fixture
async def sessions(settings: Settings):  # type: ignore[no-untyped-def]
    engine = build_engine(settings)
    yield build_sessions(engine)
    await engine.dispose()


async def record(sessions, topics: Topics, events) -> list:  # type: ignore[no-untyped-def]
    return await handlers.record_events(
        sessions=sessions, topics=topics, design=DESIGN, batch=events, now=NOW
    )


def flat(pairs) -> list:  # type: ignore[no-untyped-def]
    return [event for pair in pairs for event in pair]


async def test_population_figures_weight_by_probability_and_skip_quota_top_ups(
    sessions,
    topics: Topics,  # type: ignore[no-untyped-def]
) -> None:
    # video: 10 audits at pi=0.5, 2 wrong; comments: 10 audits at pi=0.05, 5 wrong;
    # plus 5 quota top-ups (no design probability), all wrong
    pairs = [audited(i, wrong=i < 2, probability=0.5, queue="video") for i in range(10)]
    pairs += [audited(10 + i, wrong=i < 5, probability=0.05, queue="comments") for i in range(10)]
    pairs += [audited(20 + i, wrong=True, probability=None, queue="comments") for i in range(5)]
    await record(sessions, topics, flat(pairs))
    await record(sessions, topics, flat(pairs))  # a replay changes nothing

    [overall] = await queries.quality(sessions=sessions, query=FigureQuery(date_from=TODAY))
    # weights: video 10 x 2 = 20 (4 wrong), comments 10 x 20 = 200 (100 wrong) -> 104/220
    assert overall.error_rate.rate == pytest.approx(104 / 220)
    assert overall.error_rate.n == 20, "quota top-ups have no design probability"
    assert overall.judged == 25

    moderator = await queries.quality(
        sessions=sessions, query=FigureQuery(group_by=("moderator_id",), date_from=TODAY)
    )
    assert moderator[0].method == "simple"
    assert (moderator[0].error_rate.rate, moderator[0].error_rate.n) == (12 / 25, 25)


async def test_an_amendment_replaces_the_verdict_it_supersedes_once(
    sessions,
    topics: Topics,  # type: ignore[no-untyped-def]
) -> None:
    task, first = audited(1, wrong=True)
    amendment = a_verdict(
        first.decision,
        verdict_id="v-1-amended",
        task_id=task.task_id,
        supersedes=first.verdict_id,
        auditor_id="sme-1",
    )
    await record(sessions, topics, [task, amendment])  # the amendment can arrive first
    await record(sessions, topics, [first, amendment])
    [figures] = await queries.quality(sessions=sessions, query=FigureQuery(date_from=TODAY))
    assert (figures.judged, figures.error_rate.rate) == (1, 0.0)


async def test_gold_and_open_calibration_reviews_do_not_count_for_quality(
    sessions,
    topics: Topics,  # type: ignore[no-untyped-def]
) -> None:
    task, verdict = audited(1)
    gold = a_verdict(
        verdict.decision,
        verdict_id="g-1",
        task_id="gold-1",
        purpose="gold",
        final=False,
        gold_correct=False,
        auditor_id="a1",
    )
    reviews = [
        a_verdict(
            verdict.decision,
            verdict_id=f"r-{n}",
            task_id=task.task_id,
            auditor_id=f"a{n}",
            purpose="calibration",
            final=False,
            round=n,
            **(MISSED if n == 2 else {}),
        )
        for n in (1, 2)
    ]
    await record(sessions, topics, [task, gold, *reviews])
    [figures] = await queries.quality(sessions=sessions, query=FigureQuery(date_from=TODAY))
    assert figures.judged == 0
    closing = a_verdict(
        verdict.decision,
        verdict_id="close-1",
        task_id=task.task_id,
        auditor_id="sme-1",
        purpose="calibration",
        round=3,
        calibration_agreed=False,
    )
    await record(sessions, topics, [closing])
    [figures] = await queries.quality(sessions=sessions, query=FigureQuery(date_from=TODAY))
    assert figures.judged == 1

    agreement = await queries.agreement(sessions=sessions, query=FigureQuery(date_from=TODAY))
    by_auditor = {a.auditor_id: a for a in agreement.auditors}
    assert by_auditor["a1"].with_reference.rate == 1.0
    assert by_auditor["a2"].with_reference.rate == 0.0
    assert by_auditor["a1"].gold_accuracy.rate == 0.0
    assert list(agreement.pairs) == [("a1", "a2")]


async def test_only_the_drifting_moderator_signals_and_replays_add_nothing(
    sessions,
    topics: Topics,  # type: ignore[no-untyped-def]
) -> None:
    steady = [audited(i, wrong=(i % 20 == 0), moderator_id="steady") for i in range(100)]
    drifting = [
        audited(1000 + i, wrong=(i % 2 == 0), moderator_id="drifting", moderator_team="team-x")
        for i in range(30)
    ]
    raised = await record(sessions, topics, flat(steady + drifting))
    assert await record(sessions, topics, flat(steady + drifting)) == [], "a replay adds nothing"
    moderators = [s for s in raised if s.scope.value == "moderator"]
    # the detector restarts after each signal, so a moderator at 50% errors signals repeatedly
    assert moderators
    assert {s.moderator_id for s in moderators} == {"drifting"}
    assert moderators[0].moderator_team == "team-x"
    assert moderators[0].recent_error_rate > 0.3
    assert all(e.startswith("v-1") for e in moderators[0].evidence)
    async with sessions() as session:
        rows = (await session.execute(select(outbox.c.topic, outbox.c.value))).all()
    published = [json.loads(r.value) for r in rows if r.topic == topics.signals]
    assert {p["signal_id"] for p in published} == {s.signal_id for s in raised}


async def test_policy_version_change_is_compared_per_market(
    sessions,
    topics: Topics,  # type: ignore[no-untyped-def]
) -> None:
    before = [audited(i, wrong=i % 20 == 0, policy_version=1) for i in range(200)]
    after = [audited(500 + i, wrong=i % 4 == 0, policy_version=2) for i in range(200)]
    await record(sessions, topics, flat(before + after))
    [change] = await queries.policy_impact(sessions=sessions, policy_id="spam", market="KR")
    assert (change.from_version, change.to_version) == (1, 2)
    assert change.error_rate.before.rate == pytest.approx(0.05)
    assert change.error_rate.after.rate == pytest.approx(0.25)
    assert change.error_rate.significant


async def test_open_cases_follow_the_latest_revision(
    sessions,
    topics: Topics,  # type: ignore[no-untyped-def]
) -> None:
    def case(revision: int, status: str) -> Escalation:
        return Escalation(
            escalation_id="case-1",
            kind="critical_miss",
            severity="p0",
            status=status,
            subject="decision:d-1",
            revision=revision,
            updated_at=NOW,
        )

    await record(sessions, topics, [case(2, "acknowledged"), case(1, "open")])
    assert await queries.open_cases(sessions=sessions) == [
        {"kind": "critical_miss", "severity": "p0", "open": 1}
    ]
    await record(sessions, topics, [case(3, "resolved")])
    assert await queries.open_cases(sessions=sessions) == []
