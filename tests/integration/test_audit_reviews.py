"""Reviews over HTTP against the real database and broker: blind, idempotent, calibration,
gold, scorecards."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from typing import Any

import pytest
from sqlalchemy import func, select

from services.audit import handlers
from services.audit.tables import audit_log, outbox, verdicts
from shared.auth import Role
from shared.clock import ManualClock
from shared.events import Task
from shared.settings import Settings
from tests.support.audit import Audit, running_audit
from tests.support.builders import NOW, a_decision, a_task
from tests.support.kafka import read_all
from tests.support.waiting import eventually

LEAD = ("lead-1", Role.LEAD)
SME = ("sme-1", Role.SME)


@pytest.fixture
async def audit(settings: Settings) -> AsyncIterator[Audit]:
    async with running_audit(settings, ManualClock(NOW)) as running:
        yield running


async def store(audit: Audit, *tasks: Task) -> None:
    await handlers.store_tasks(sessions=audit.sessions, batch=list(tasks))


async def published_verdicts(audit: Audit) -> list[dict[str, Any]]:
    """Every verdict event on the topic, once the outbox has nothing left to publish."""

    async def unpublished() -> int:
        async with audit.sessions() as session:
            count = await session.scalar(
                select(func.count()).where(outbox.c.published_at.is_(None))
            )
        return int(count or 0)

    await eventually(unpublished, until=lambda n: n == 0, what="outbox drained")
    records = await read_all(audit.settings.kafka_bootstrap, audit.topics.verdicts)
    return [json.loads(r.value) for r in records]


async def test_a_blind_review_hides_the_decision_and_derives_the_outcome(audit: Audit) -> None:
    missed = a_task(a_decision(decision_id="d-1", action="approve"), blind=True, priority=90)
    right = a_task(a_decision(decision_id="d-2", action="remove"), blind=True)
    await store(audit, missed, right)
    await audit.register("a1")

    task = await audit.claim("a1")
    assert task is not None and task["task_id"] == missed.task_id and task["blind"]
    hidden = {"action", "policy_id", "moderator_id", "moderator_team", "moderator_kind"}
    assert not hidden & set(task["decision"]), "a blind reviewer must not see the decision"
    assert task["decision"]["content_ref"] == missed.decision.content_ref

    refused = await audit.verdict("a1", missed.task_id, {"outcome": "correct"})
    assert refused.status_code == 422 and "blind" in refused.json()["detail"]
    labelled = await audit.verdict(
        "a1", missed.task_id, {"expected_action": "remove", "expected_policy_id": "spam"}
    )
    assert labelled.status_code == 200, labelled.text
    assert labelled.json()["outcome"] == "incorrect"
    assert labelled.json()["error_type"] == "under_enforcement"

    second = await audit.claim("a1")
    assert second is not None and second["task_id"] == right.task_id
    agreed = await audit.verdict(
        "a1", right.task_id, {"expected_action": "remove", "expected_policy_id": "spam"}
    )
    assert (agreed.json()["outcome"], agreed.json()["error_type"]) == ("correct", None)

    events = {e["task_id"]: e for e in await published_verdicts(audit)}
    assert events[missed.task_id]["blind"] is True
    assert events[missed.task_id]["policy_version"] == 1
    assert events[missed.task_id]["final"] is True


async def test_a_retried_verdict_with_the_same_key_creates_nothing_new(audit: Audit) -> None:
    first_task, other_task = a_task(), a_task(a_decision(decision_id="d-2"))
    await store(audit, first_task, other_task)
    await audit.register("a1")
    await audit.claim("a1")
    body = {"outcome": "incorrect", "expected_action": "approve"}
    first = await audit.verdict("a1", first_task.task_id, body, key="key-1")
    again = await audit.verdict("a1", first_task.task_id, body, key="key-1")
    assert first.status_code == again.status_code == 200
    assert again.json() == first.json()
    without_key = await audit.verdict("a1", first_task.task_id, body)
    assert without_key.status_code == 409

    await audit.claim("a1")
    reused = await audit.verdict("a1", other_task.task_id, body, key="key-1")
    assert reused.status_code == 409 and "Idempotency-Key" in reused.json()["detail"]

    async with audit.sessions() as session:
        stored = await session.scalar(select(func.count()).select_from(verdicts))
        queued = await session.scalar(select(func.count()).select_from(outbox))
        logged = await session.scalar(
            select(func.count()).where(audit_log.c.action == "verdict.recorded")
        )
    assert (stored, queued, logged) == (1, 1, 1)
    events = await published_verdicts(audit)
    assert [e["verdict_id"] for e in events] == [first.json()["verdict_id"]]


async def test_calibration_hides_reviews_until_an_agreeing_round_closes_itself(
    audit: Audit,
) -> None:
    task = a_task(a_decision(action="approve"), required_reviews=3, reasons=["calibration"])
    await store(audit, task)
    miss = {"outcome": "incorrect", "expected_action": "remove", "expected_policy_id": "spam"}
    for name in ("a1", "a2", "a3"):
        await audit.register(name)

    async def visible_to(name: str) -> list[str]:
        response = await audit.http.get(
            f"/v1/tasks/{task.task_id}/verdicts", headers=audit.as_(name, Role.AUDITOR)
        )
        assert response.status_code == 200, response.text
        return [v["auditor_id"] for v in response.json()]

    recorded = {}
    for name in ("a1", "a2"):
        claimed = await audit.claim(name)
        assert claimed is not None and claimed["required_reviews"] == 3
        response = await audit.verdict(name, task.task_id, miss)
        assert response.status_code == 200
        recorded[name] = response.json()["verdict_id"]
    assert await visible_to("a1") == ["a1"]
    assert await visible_to("a2") == ["a2"]
    as_a1 = audit.as_("a1", Role.AUDITOR)
    for other_way in (f"/v1/verdicts/{recorded['a2']}", f"/v1/verdicts?task_id={task.task_id}"):
        refused = await audit.http.get(other_way, headers=as_a1)
        assert refused.status_code == 403, f"{other_way}: {refused.text}"
    outsider = await audit.http.get(
        f"/v1/tasks/{task.task_id}/verdicts", headers=audit.as_("a3", Role.AUDITOR)
    )
    assert outsider.status_code == 404

    await audit.claim("a3")
    assert (await audit.verdict("a3", task.task_id, miss)).status_code == 200
    assert sorted(await visible_to("a1")) == ["a1", "a2", "a3", "calibration-consensus"]

    events = await published_verdicts(audit)
    reviews = sorted((e for e in events if not e["final"]), key=lambda e: e["round"])
    assert [(e["round"], e["purpose"]) for e in reviews] == [(r, "calibration") for r in (1, 2, 3)]
    [closing] = [e for e in events if e["final"]]
    assert (closing["round"], closing["calibration_agreed"]) == (4, True)
    assert closing["outcome"] == "incorrect" and closing["expected_action"] == "remove"


async def test_a_disagreeing_round_waits_for_an_sme_whose_label_becomes_the_reference(
    audit: Audit,
) -> None:
    task = a_task(a_decision(action="approve"), required_reviews=2, reasons=["calibration"])
    await store(audit, task)
    for name in ("a1", "a2"):
        await audit.register(name)
        await audit.claim(name)
    await audit.verdict("a1", task.task_id, {"outcome": "correct"})
    miss = {"outcome": "incorrect", "expected_action": "remove", "expected_policy_id": "spam"}
    await audit.verdict("a2", task.task_id, miss)

    waiting = await audit.http.get(
        "/v1/tasks", params={"status": "adjudicating"}, headers=audit.as_(*SME)
    )
    assert [t["task_id"] for t in waiting.json()] == [task.task_id]
    mine = await audit.http.get(
        f"/v1/tasks/{task.task_id}/verdicts", headers=audit.as_("a1", Role.AUDITOR)
    )
    assert [v["auditor_id"] for v in mine.json()] == ["a1"], "the round is not closed yet"

    ruled = await audit.http.post(
        f"/v1/tasks/{task.task_id}/adjudication", json=miss, headers=audit.as_(*SME)
    )
    assert ruled.status_code == 200, ruled.text
    closing = ruled.json()
    assert (closing["final"], closing["calibration_agreed"], closing["round"]) == (True, False, 3)
    assert closing["auditor_id"] == "sme-1"
    again = await audit.http.post(
        f"/v1/tasks/{task.task_id}/adjudication", json=miss, headers=audit.as_(*SME)
    )
    assert again.json()["verdict_id"] == closing["verdict_id"]

    for name, agreed in (("a1", 0), ("a2", 1)):
        stats = await audit.http.get("/v1/me/stats", headers=audit.as_(name, Role.AUDITOR))
        agreement = stats.json()["calibration_agreement"]
        assert (agreement["successes"], agreement["n"]) == (agreed, 1)
        assert agreement["low"] <= agreement["rate"] <= agreement["high"]
    events = await published_verdicts(audit)
    assert sum(1 for e in events if e["final"]) == 1


async def test_gold_answers_are_graded_and_gold_tasks_look_like_any_other(audit: Audit) -> None:
    normal = a_task(a_decision(decision_id="d-normal", action="remove"), priority=10)
    await store(audit, normal)
    gold_decision = a_decision(decision_id="gold-1", action="approve", moderator_id="mod-9")
    uploaded = await audit.http.post(
        "/v1/gold",
        json={
            "items": [
                {
                    "decision": gold_decision.model_dump(mode="json"),
                    "expected_action": "remove",
                    "expected_policy_id": "spam",
                    "reviews": 2,
                    "priority": 90,
                }
            ]
        },
        headers=audit.as_(*LEAD),
    )
    assert uploaded.status_code == 200, uploaded.text
    [gold_id] = uploaded.json()["task_ids"]
    for name in ("a1", "a2"):
        await audit.register(name)

    gold_view = await audit.claim("a1")
    normal_view = await audit.claim("a1")
    assert gold_view is not None and normal_view is not None
    assert gold_view["task_id"] == gold_id and normal_view["task_id"] == normal.task_id
    assert set(gold_view) == set(normal_view)
    assert set(gold_view["decision"]) == set(normal_view["decision"])
    assert gold_view["required_reviews"] == normal_view["required_reviews"] == 1

    miss = {"outcome": "incorrect", "expected_action": "remove", "expected_policy_id": "spam"}
    graded = await audit.verdict("a1", gold_id, miss)
    plain = await audit.verdict("a1", normal.task_id, {"outcome": "correct"})
    assert set(graded.json()) == set(plain.json()), "a verdict reply must not reveal gold"
    await audit.claim("a2")
    await audit.verdict("a2", gold_id, {"outcome": "correct"})

    for name, right in (("a1", 1), ("a2", 0)):
        stats = (await audit.http.get("/v1/me/stats", headers=audit.as_(name, Role.AUDITOR))).json()
        assert (stats["gold_accuracy"]["successes"], stats["gold_accuracy"]["n"]) == (right, 1)
    items = (await audit.http.get("/v1/gold", headers=audit.as_(*LEAD))).json()
    assert [(i["accuracy"]["successes"], i["accuracy"]["n"]) for i in items] == [(1, 2)]

    gold_events = [e for e in await published_verdicts(audit) if e["task_id"] == gold_id]
    assert {(e["auditor_id"], e["gold_correct"]) for e in gold_events} == {
        ("a1", True),
        ("a2", False),
    }
    assert {(e["purpose"], e["final"]) for e in gold_events} == {("gold", False)}


async def test_scorecards_score_verdicts_and_old_verdicts_keep_their_version(
    audit: Audit,
) -> None:
    rubric = {
        "queue": "video",
        "name": "Video QA",
        "criteria": [
            {
                "id": "right_action",
                "text": "The action fits the policy",
                "weight": 3,
                "critical": True,
            },
            {"id": "policy_cited", "text": "The right policy is cited", "weight": 1},
            {"id": "notes", "text": "Notes explain the call", "weight": 1},
        ],
    }
    put = await audit.http.put("/v1/scorecards/video-qa", json=rubric, headers=audit.as_(*LEAD))
    assert put.status_code == 200 and put.json()["version"] == 1
    await store(audit, *(a_task(a_decision(decision_id=f"d-{i}")) for i in range(3)))
    await audit.register("a1")

    first = await audit.claim("a1")
    assert first is not None and first["scorecard"]["version"] == 1
    unscored = await audit.verdict("a1", first["task_id"], {"outcome": "correct"})
    assert unscored.status_code == 422 and "scorecard" in unscored.json()["detail"]
    answers = {"right_action": "pass", "policy_cited": "fail", "notes": "na"}
    scored = await audit.verdict(
        "a1", first["task_id"], {"outcome": "correct", "scorecard": answers}
    )
    assert scored.json()["qa_score"] == 75.0 and scored.json()["scorecard_version"] == 1

    rubric["criteria"].append({"id": "speed", "text": "Decided within SLA", "weight": 1})
    assert (
        await audit.http.put("/v1/scorecards/video-qa", json=rubric, headers=audit.as_(*LEAD))
    ).json()["version"] == 2
    other_queue = await audit.http.put(
        "/v1/scorecards/another", json=rubric, headers=audit.as_(*LEAD)
    )
    assert other_queue.status_code == 409

    second = await audit.claim("a1")
    assert second is not None and second["scorecard"]["version"] == 2
    mine = (await audit.http.get("/v1/tasks/mine", headers=audit.as_("a1", Role.AUDITOR))).json()
    assert [(t["task_id"], t["scorecard"]["version"]) for t in mine] == [(second["task_id"], 2)]
    stale = await audit.verdict(
        "a1", second["task_id"], {"outcome": "correct", "scorecard": answers}
    )
    assert stale.status_code == 422 and "speed" in stale.json()["detail"]
    critical = {**answers, "right_action": "fail", "speed": "pass"}
    failed = await audit.verdict(
        "a1", second["task_id"], {"outcome": "correct", "scorecard": critical}
    )
    assert failed.json()["qa_score"] == 0.0 and failed.json()["scorecard_version"] == 2

    listed = await audit.http.get(
        "/v1/verdicts", params={"task_id": first["task_id"]}, headers=audit.as_(*LEAD)
    )
    assert [v["scorecard_version"] for v in listed.json()["items"]] == [1]
    events = {e["task_id"]: e for e in await published_verdicts(audit)}
    assert events[first["task_id"]]["scorecard_id"] == "video-qa"
    assert events[first["task_id"]]["qa_score"] == 75.0
