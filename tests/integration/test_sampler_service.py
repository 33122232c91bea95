"""The sampler against a real broker and database: plans over HTTP taking effect without a
restart, targeting rules from audit.targeting, the dry run, and decision ingest."""

from __future__ import annotations

import datetime as dt
import json

import asyncpg
import yaml

from services.sampler.domain.selection import draw
from shared.auth import Role
from shared.events import TargetingRule, TaskReason, encode
from shared.settings import Settings
from shared.topics import Topics
from tests.support.builders import a_decision
from tests.support.kafka import produce, read_all
from tests.support.sampler_app import (
    committed_count,
    fast,
    headers,
    sampler,
    send_decisions,
    tasks_for,
)
from tests.support.waiting import eventually

PLAN = {
    "salt": "kr-salt",
    "base_rate": 0.2,
    "strata": ["market"],
    "rates": [{"match": {"market": "KR"}, "rate": 0.5}],
    "risk": {"severity": {"critical": 1.0}},
}


def now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def decisions_now(prefix: str, n: int, **fields: object) -> list:
    markets = [("KR", "ko"), ("US", "en")]
    return [
        a_decision(
            **{
                "decision_id": f"{prefix}-{i}",
                "moderator_id": f"mod-{i % 9}",
                "market": markets[i % 2][0],
                "language": markets[i % 2][1],
                "policy_id": "child_safety" if i % 10 == 0 else "spam",
                "decided_at": now(),
                **fields,
            }
        )
        for i in range(n)
    ]


async def test_plans_are_validated_stored_shown_and_applied_without_a_restart(
    settings: Settings, topics: Topics
) -> None:
    settings = fast(settings)
    lead = headers(settings, Role.LEAD, subject="lead-1")
    async with sampler(settings) as (_, client):
        denied = await client.put(
            "/v1/sampling-plans/kr", json=PLAN, headers=headers(settings, Role.AUDITOR)
        )
        assert denied.status_code == 403

        bad = await client.put(
            "/v1/sampling-plans/kr",
            json={**PLAN, "risk": {"low_confidence": {"below": 7, "rate": 0.1}}},
            headers=lead,
        )
        assert bad.status_code == 422
        assert [e["field"] for e in bad.json()["errors"]] == ["risk.low_confidence.below"]

        first = await client.put("/v1/sampling-plans/kr", json=PLAN, headers=lead)
        same = await client.put("/v1/sampling-plans/kr", json=PLAN, headers=lead)
        as_yaml = yaml.safe_dump({**PLAN, "description": "from YAML"})
        second = await client.put(
            "/v1/sampling-plans/kr",
            content=as_yaml,
            headers={**lead, "Content-Type": "application/yaml"},
        )
        assert (first.status_code, first.json()["version"]) == (201, 1)
        assert (same.status_code, same.json()["created"]) == (200, False)
        assert (second.status_code, second.json()["version"]) == (201, 2)

        listed = (await client.get("/v1/sampling-plans", headers=lead)).json()
        assert [(p["plan_id"], p["latest_version"]) for p in listed] == [("kr", 2)]
        shown = (await client.get("/v1/sampling-plans/kr/versions/2", headers=lead)).json()
        assert shown["document"]["description"] == "from YAML"
        assert shown["created_by"] == "lead-1"

        current = (await client.get("/v1/sampling-plans/current", headers=lead)).json()
        assert (current["plan_id"], current["rate"]) == ("default", settings.sampler_base_rate)

        missing = await client.put(
            "/v1/sampling-plans/current", json={"plan_id": "kr", "version": 9}, headers=lead
        )
        assert missing.status_code == 404
        applied = await client.put(
            "/v1/sampling-plans/current", json={"plan_id": "kr", "version": 2}, headers=lead
        )
        assert applied.status_code == 202
        effective = dt.datetime.fromisoformat(applied.json()["effective_from"])

        await eventually(
            lambda: client.get("/v1/sampling-plans/current", headers=lead),
            until=lambda r: r.json()["plan_id"] == "kr" and r.json()["version"] == 2,
            what="the applied plan in force",
        )
        assert now() >= effective

        batch = decisions_now("p", 400)
        await send_decisions(settings, topics, batch)

        def probability(d: object) -> float:
            if d.policy_id == "child_safety":  # type: ignore[attr-defined]
                return 1.0
            return 0.5 if d.market == "KR" else 0.2  # type: ignore[attr-defined]

        expected = {d.decision_id for d in batch if draw(d.decision_id, "kr-salt") < probability(d)}
        await eventually(
            lambda: committed_count(settings, topics), until=lambda n: n == 400, what="all consumed"
        )
        tasks = await tasks_for(settings, topics, expected)
        assert set(tasks) == expected
        by_id = {d.decision_id: d for d in batch}
        for decision_id, task in tasks.items():
            decision = by_id[decision_id]
            assert (task.plan_id, task.plan_version) == ("kr", 2)
            assert task.inclusion_probability == probability(decision)
            assert task.stratum == f"market={decision.market}"
            assert task.reasons == (
                [TaskReason.RISK] if decision.policy_id == "child_safety" else [TaskReason.UNIFORM]
            )
            assert task.decision == decision


def rule(**fields: object) -> TargetingRule:
    values: dict[str, object] = {
        "rule_id": "case-1",
        "moderator_id": "mod-t",
        "rate": 1.0,
        "reason": "critical miss under review",
        "case_id": "case-1",
        "active": True,
        "expires_at": now() + dt.timedelta(hours=1),
        "updated_at": now(),
    }
    values.update(fields)
    return TargetingRule.model_validate(values)


async def stored_rules(database_url: str) -> int:
    db = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        return int(await db.fetchval("SELECT count(*) FROM sampler.targeting_rules"))
    finally:
        await db.close()


async def test_targeting_rules_raise_the_rate_while_active_and_lifting_them_restores_it(
    settings: Settings, topics: Topics, database_url: str
) -> None:
    settings = fast(settings, sampler_base_rate=0.0)
    async with sampler(settings):
        await produce(settings.kafka_bootstrap, topics.targeting, [(b"case-1", encode(rule()))])
        await eventually(lambda: stored_rules(database_url), until=lambda n: n == 1, what="stored")
        first = decisions_now("t1", 20, moderator_id="mod-t") + decisions_now("o1", 20)
        await _after_effective(settings)
        await send_decisions(
            settings, topics, [d.model_copy(update={"decided_at": now()}) for d in first]
        )
        await eventually(
            lambda: committed_count(settings, topics), until=lambda n: n == 40, what="consumed"
        )
        tasks = await tasks_for(settings, topics, {f"t1-{i}" for i in range(20)})
        assert set(tasks) == {f"t1-{i}" for i in range(20)}, "only the targeted moderator"
        assert {(t.inclusion_probability, tuple(t.reasons)) for t in tasks.values()} == {
            (1.0, (TaskReason.TARGETED,))
        }

        lifted = rule(active=False, updated_at=now() + dt.timedelta(seconds=1))
        await produce(settings.kafka_bootstrap, topics.targeting, [(b"case-1", encode(lifted))])
        await eventually(lambda: stored_rules(database_url), until=lambda n: n == 2, what="stored")
        await _after_effective(settings)
        second = decisions_now("t2", 20, moderator_id="mod-t")
        await send_decisions(settings, topics, second)
        await eventually(
            lambda: committed_count(settings, topics), until=lambda n: n == 60, what="consumed"
        )
        records = await read_all(settings.kafka_bootstrap, topics.tasks)
        ids = {json.loads(r.value or b"")["decision"]["decision_id"] for r in records}
        assert not any(i.startswith("t2-") for i in ids), "the lifted rule no longer applies"


async def _after_effective(settings: Settings) -> None:
    """Wait out the activation delay plus a reload (stored states apply after it)."""
    deadline = now() + dt.timedelta(
        seconds=settings.sampler_activation_delay_seconds + 3 * settings.sampler_reload_seconds
    )
    await eventually(lambda: now(), until=lambda t: t >= deadline, interval_s=0.1, what="delay")


async def test_the_dry_run_compares_plans_on_recent_traffic(
    settings: Settings, topics: Topics
) -> None:
    settings = fast(settings, sampler_base_rate=0.05, metrics_url="http://127.0.0.1:9")
    lead = headers(settings, Role.LEAD)
    async with sampler(settings) as (_, client):
        await send_decisions(settings, topics, decisions_now("d", 2000))
        await eventually(
            lambda: committed_count(settings, topics), until=lambda n: n == 2000, what="consumed"
        )
        proposed = {
            "base_rate": 0.05,
            "strata": ["market"],
            "rates": [{"match": {"market": "KR"}, "rate": 0.5}],
        }

        async def run() -> dict:
            response = await client.post(
                "/v1/sampling-plans/dry-run",
                content=yaml.safe_dump(proposed),
                headers={**lead, "Content-Type": "application/yaml"},
                params={"days": 1},
            )
            assert response.status_code == 200, response.text
            return response.json()

        report = await eventually(
            run, until=lambda r: r["traffic_sample"] == 2000, what="traffic flushed"
        )
        by = {s["stratum"]: s for s in report["strata"]}
        kr, us = by["market=KR"], by["market=US"]
        assert kr["proposed_tasks_per_day"] > 9 * kr["current_tasks_per_day"]
        assert abs(us["proposed_tasks_per_day"] - us["current_tasks_per_day"]) < 1e-6
        assert kr["proposed_half_width"] < kr["current_half_width"]
        assert kr["error_rate_source"] == "prior", "the metrics service is not there"
        assert report["current"]["plan_id"] == "default"

        refused = await client.post("/v1/sampling-plans/dry-run", json={"floor": 0}, headers=lead)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["field"] == "floor"


async def test_decisions_posted_over_http_are_checked_one_by_one_and_acknowledged(
    settings: Settings, topics: Topics
) -> None:
    system = headers(settings, Role.SYSTEM)
    good = [json.loads(encode(d)) for d in decisions_now("h", 3)]
    bad = {**good[0], "decision_id": "h-bad", "market": "Korea"}
    async with sampler(fast(settings)) as (_, client):
        assert (await client.post("/v1/decisions", json={"decisions": good})).status_code == 401
        response = await client.post(
            "/v1/decisions", json={"decisions": [*good, bad]}, headers=system
        )
        assert response.status_code == 422
        body = response.json()
        assert body["accepted"] == 3
        assert [(e["index"], e["decision_id"]) for e in body["rejected"]] == [(3, "h-bad")]
        assert "market" in body["rejected"][0]["error"]
        stored = await read_all(settings.kafka_bootstrap, topics.decisions)
        assert sorted(json.loads(r.value or b"")["decision_id"] for r in stored) == [
            "h-0",
            "h-1",
            "h-2",
        ]
        too_many = await client.post(
            "/v1/decisions", json={"decisions": good * 334}, headers=system
        )
        assert too_many.status_code == 422
