"""Disputes over HTTP against the real database and broker: who may dispute, the SME's final
word, exactly one amended verdict."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from services.audit import handlers
from services.audit.tables import outbox
from shared.auth import Role
from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.audit import Audit, running_audit
from tests.support.builders import NOW, a_decision, a_task
from tests.support.kafka import read_all
from tests.support.waiting import eventually

SME = ("sme-1", Role.SME)
MISS = {"outcome": "incorrect", "expected_action": "approve"}


@pytest.fixture
async def audit(settings: Settings) -> AsyncIterator[Audit]:
    async with running_audit(settings, ManualClock(NOW)) as running:
        yield running


async def judged(audit: Audit, decision_id: str, body: dict[str, Any]) -> str:
    """A final verdict by auditor a1 on a fresh task of moderator mod-1 (team-a)."""
    task = a_task(a_decision(decision_id=decision_id, action="remove"))
    await handlers.store_tasks(sessions=audit.sessions, batch=[task])
    claimed = await audit.claim("a1")
    assert claimed is not None and claimed["task_id"] == task.task_id
    response = await audit.verdict("a1", task.task_id, body)
    assert response.status_code == 200, response.text
    return str(response.json()["verdict_id"])


async def topic_events(audit: Audit, topic: str) -> list[dict[str, Any]]:
    async def unpublished() -> int:
        async with audit.sessions() as session:
            count = await session.scalar(
                select(func.count()).where(outbox.c.published_at.is_(None))
            )
        return int(count or 0)

    await eventually(unpublished, until=lambda n: n == 0, what="outbox drained")
    return [json.loads(r.value) for r in await read_all(audit.settings.kafka_bootstrap, topic)]


async def test_an_overturn_emits_exactly_one_amended_verdict_that_is_final(audit: Audit) -> None:
    await audit.register("a1")
    verdict_id = await judged(audit, "d-1", MISS)
    tool = audit.as_("moderation-tool", Role.SYSTEM)

    stranger = await audit.http.post(
        f"/v1/verdicts/{verdict_id}/disputes",
        json={"reason": "not mine but still", "on_behalf_of": "mod-2"},
        headers=tool,
    )
    assert stranger.status_code == 403
    opened = await audit.http.post(
        f"/v1/verdicts/{verdict_id}/disputes",
        json={"reason": "the removal was right: it is spam", "on_behalf_of": "mod-1"},
        headers=tool,
    )
    assert opened.status_code == 201, opened.text
    dispute = opened.json()
    assert (dispute["status"], dispute["raised_by"]) == ("open", "mod-1")
    assert dispute["due_at"] == "2026-11-22T12:00:00Z", "48 hours of arbitration SLA"
    twice = await audit.http.post(
        f"/v1/verdicts/{verdict_id}/disputes",
        json={"reason": "again", "on_behalf_of": "mod-1"},
        headers=tool,
    )
    assert twice.status_code == 409

    by_the_auditor = await audit.http.post(
        f"/v1/disputes/{dispute['dispute_id']}/arbitration",
        json={"ruling": "overturn", "note": "x", "label": {"outcome": "correct"}},
        headers=audit.as_("a1", Role.SME),
    )
    assert by_the_auditor.status_code == 403, "nobody rules on their own verdict"
    same_judgement = await audit.http.post(
        f"/v1/disputes/{dispute['dispute_id']}/arbitration",
        json={"ruling": "overturn", "note": "x", "label": MISS},
        headers=audit.as_(*SME),
    )
    assert same_judgement.status_code == 422
    ruling = {
        "ruling": "overturn",
        "note": "agree with the moderator: spam",
        "label": {"outcome": "correct"},
    }
    ruled = await audit.http.post(
        f"/v1/disputes/{dispute['dispute_id']}/arbitration", json=ruling, headers=audit.as_(*SME)
    )
    assert ruled.status_code == 200, ruled.text
    amended = ruled.json()["amended_verdict"]
    assert (amended["supersedes"], amended["final"], amended["outcome"]) == (
        verdict_id,
        True,
        "correct",
    )
    assert ruled.json()["dispute"]["amended_verdict_id"] == amended["verdict_id"]
    retried = await audit.http.post(
        f"/v1/disputes/{dispute['dispute_id']}/arbitration", json=ruling, headers=audit.as_(*SME)
    )
    assert retried.json()["amended_verdict"]["verdict_id"] == amended["verdict_id"]
    reversed_ = await audit.http.post(
        f"/v1/disputes/{dispute['dispute_id']}/arbitration",
        json={"ruling": "uphold", "note": "changed my mind"},
        headers=audit.as_(*SME),
    )
    assert reversed_.status_code == 409
    final_word = await audit.http.post(
        f"/v1/verdicts/{amended['verdict_id']}/disputes",
        json={"reason": "no", "on_behalf_of": "mod-1"},
        headers=tool,
    )
    assert final_word.status_code == 409, "an amendment cannot be disputed"

    verdicts = await topic_events(audit, audit.topics.verdicts)
    assert [v["verdict_id"] for v in verdicts if v["supersedes"] == verdict_id] == [
        amended["verdict_id"]
    ]
    assert sorted(v["verdict_id"] for v in verdicts) == sorted([verdict_id, amended["verdict_id"]])
    disputes = await topic_events(audit, audit.topics.disputes)
    assert [(d["dispute_id"], d["status"]) for d in disputes] == [
        (dispute["dispute_id"], "open"),
        (dispute["dispute_id"], "overturned"),
    ]
    stats = (await audit.http.get("/v1/me/stats", headers=audit.as_("a1", Role.AUDITOR))).json()
    assert (stats["disputed"], stats["overturned"]) == (1, 1)


async def test_a_team_lead_disputes_and_an_sme_upholds(audit: Audit) -> None:
    await audit.register("a1")
    await audit.register("lead-a", roles=["lead"], teams=["team-a"])
    await audit.register("lead-b", roles=["lead"], teams=["team-b"])
    verdict_id = await judged(audit, "d-2", MISS)
    reason = {"reason": "please look again"}

    other_team = await audit.http.post(
        f"/v1/verdicts/{verdict_id}/disputes", json=reason, headers=audit.as_("lead-b", Role.LEAD)
    )
    assert other_team.status_code == 403 and "team-a" in other_team.json()["detail"]
    opened = await audit.http.post(
        f"/v1/verdicts/{verdict_id}/disputes", json=reason, headers=audit.as_("lead-a", Role.LEAD)
    )
    assert opened.status_code == 201 and opened.json()["raised_by"] == "lead-a"
    listed = await audit.http.get("/v1/disputes", headers=audit.as_(*SME))
    assert [d["dispute_id"] for d in listed.json()] == [opened.json()["dispute_id"]]

    upheld = await audit.http.post(
        f"/v1/disputes/{opened.json()['dispute_id']}/arbitration",
        json={"ruling": "uphold", "note": "the content is not spam"},
        headers=audit.as_(*SME),
    )
    assert upheld.status_code == 200
    assert upheld.json()["amended_verdict"] is None
    assert upheld.json()["dispute"]["status"] == "upheld"
    verdicts = await topic_events(audit, audit.topics.verdicts)
    assert [v["verdict_id"] for v in verdicts] == [verdict_id]
    log = await audit.http.get(
        "/v1/audit-log",
        params={"subject_id": opened.json()["dispute_id"]},
        headers=audit.as_("lead-1", Role.LEAD),
    )
    assert [(e["action"], e["actor"]) for e in log.json()["items"]] == [
        ("dispute.opened", "lead-a"),
        ("dispute.upheld", "sme-1"),
    ]


async def test_only_final_verdicts_can_be_disputed(audit: Audit) -> None:
    task = a_task(required_reviews=2, reasons=["calibration"])
    await handlers.store_tasks(sessions=audit.sessions, batch=[task])
    await audit.register("a1")
    await audit.claim("a1")
    review = await audit.verdict("a1", task.task_id, {"outcome": "correct"})
    disputed = await audit.http.post(
        f"/v1/verdicts/{review.json()['verdict_id']}/disputes",
        json={"reason": "x", "on_behalf_of": "mod-1"},
        headers=audit.as_("moderation-tool", Role.SYSTEM),
    )
    assert disputed.status_code == 409 and "final" in disputed.json()["detail"]
