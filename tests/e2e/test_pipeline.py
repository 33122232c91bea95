"""End to end over the real broker and database: decisions in, tasks, verdicts, cases,
corrections and figures out, with a malformed message dead-lettered on the way."""

from __future__ import annotations

import datetime as dt
import hashlib
import json

import asyncpg
import httpx

from shared.auth import Role
from shared.kafka.dlq import H_OFFSET, H_REASON, H_SERVICE, header
from tests.support.kafka import produce, read_all
from tests.support.system import RunningSystem
from tests.support.waiting import eventually

N_DECISIONS = 2000
RATE = 0.1
SALT = "modqa-default-salt"
DECIDED_AT = (dt.datetime.now(dt.UTC) - dt.timedelta(hours=1)).isoformat()


def selected_by_hash_rule(decision_id: str) -> bool:
    """The sampling rule recomputed here, independently of the sampler's code."""
    digest = hashlib.blake2b(f"{SALT}\x1f{decision_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < RATE


def decision(i: int) -> dict[str, object]:
    critical = i % 10 == 0
    return {
        "schema": "modqa.decision.v1",
        "decision_id": f"e2e-{i:05d}",
        "content_id": f"content-{i:05d}",
        "content_type": "video",
        "content_ref": f"https://content.example/video/{i}",
        "queue": ["video", "live", "comments"][i % 3],
        "market": ["KR", "ID", "US", "DE"][i % 4],
        "language": ["ko", "id", "en", "de"][i % 4],
        "moderator_id": f"mod-{i % 37}",
        "moderator_kind": "human" if i % 5 else "machine",
        "moderator_team": "team-a",
        "policy_id": "child_safety" if critical else "spam",
        "policy_version": 1,
        "action": "approve",
        "confidence": None if i % 5 else 0.8,
        "source": "report",
        "decided_at": DECIDED_AT,
    }


def should_fail(decision_id: str) -> bool:
    """Which audited decisions the test's auditor calls wrong: every child-safety approval."""
    return int(decision_id.rsplit("-", 1)[1]) % 10 == 0


async def test_decisions_flow_to_tasks_verdicts_cases_corrections_and_figures(
    system: RunningSystem,
) -> None:
    topics = system.topics
    records: list[tuple[bytes | None, bytes]] = []
    for i in range(N_DECISIONS):
        d = decision(i)
        records.append((str(d["moderator_id"]).encode(), json.dumps(d).encode()))
        if i == N_DECISIONS // 2:
            records.append((b"poison", b'{"decision_id": "broken", "market": 12'))
    await produce(system.bootstrap, topics.decisions, records)

    expected = {f"e2e-{i:05d}" for i in range(N_DECISIONS) if selected_by_hash_rule(f"e2e-{i:05d}")}
    assert len(expected) > 100

    db = await asyncpg.connect(system.database_url.replace("+asyncpg", ""))
    try:
        stored = await eventually(
            lambda: db.fetch("SELECT decision_id, inclusion_probability FROM audit.tasks"),
            until=lambda rows: len(rows) >= len(expected),
            timeout_s=60,
            what="all expected tasks stored",
        )
        decision_ids = [row["decision_id"] for row in stored]
        assert len(decision_ids) == len(set(decision_ids)), "a decision got two tasks"
        assert set(decision_ids) == expected
        assert {row["inclusion_probability"] for row in stored} == {RATE}

        task_records = await read_all(system.bootstrap, topics.tasks)
        assert len(task_records) == len(expected), "audit.tasks holds duplicates or misses tasks"

        dead = await read_all(system.bootstrap, topics.name("moderation.decisions.dlq"))
        assert len(dead) == 1
        assert "not valid JSON" in (header(dead[0], H_REASON) or "")
        assert header(dead[0], H_SERVICE) == "sampler"
        assert header(dead[0], H_OFFSET) is not None
        assert system.processes["sampler"].alive()

        judged = await audit_everything(system)
        assert judged["total"] == len(expected)
        misses = {d for d in expected if should_fail(d)}
        assert judged["incorrect"] == len(misses) > 0

        cases = await eventually(
            lambda: db.fetch(
                "SELECT subject, severity FROM escalation.cases WHERE kind = 'critical_miss'"
            ),
            until=lambda rows: len(rows) >= len(misses),
            timeout_s=30,
            what="critical-miss cases opened",
        )
        assert sorted(row["subject"] for row in cases) == sorted(f"decision:{d}" for d in misses)
        assert {row["severity"] for row in cases} == {"p0"}

        corrections = await eventually(
            lambda: read_all(system.bootstrap, topics.corrections),
            until=lambda recs: len(recs) >= len(misses),
            timeout_s=30,
            what="corrections emitted",
        )
        corrected = [json.loads(r.value)["decision_id"] for r in corrections]
        assert sorted(corrected) == sorted(misses), "not exactly one correction per wrong decision"
        escalation_events = [
            json.loads(r.value) for r in await read_all(system.bootstrap, topics.escalations)
        ]
        opened = [
            e for e in escalation_events if e["kind"] == "critical_miss" and e["revision"] == 1
        ]
        assert sorted(e["subject"] for e in opened) == sorted(f"decision:{d}" for d in misses)

        verdict_events = await read_all(system.bootstrap, topics.verdicts)
        assert len(verdict_events) == len(expected)

        lead = system.headers("lead-1", Role.LEAD)
        async with httpx.AsyncClient(base_url=system.url("metrics"), headers=lead) as client:

            async def total_judged() -> int:
                body = (await client.get("/v1/quality", params={"group_by": "market"})).json()
                return sum(row["accuracy"]["n"] for row in body["rows"])

            await eventually(
                total_judged,
                until=lambda n: n == len(expected),
                timeout_s=30,
                what="metrics counted every verdict",
            )
            body = (await client.get("/v1/quality", params={"group_by": "queue,market"})).json()
            for row in body["rows"]:
                figure = row["accuracy"]
                assert figure["low"] <= figure["rate"] <= figure["high"]
    finally:
        await db.close()


async def audit_everything(system: RunningSystem) -> dict[str, int]:
    """Claim and judge tasks over HTTP until none is left; retry one verdict to prove idempotency."""
    counts = {"total": 0, "incorrect": 0}
    auditor = system.headers("auditor-e2e", Role.AUDITOR)
    async with httpx.AsyncClient(
        base_url=system.url("audit"), headers=auditor, timeout=10
    ) as client:
        registered = await client.put(
            "/v1/auditors/auditor-e2e",
            json={"name": "E2E auditor", "languages": ["ko", "id", "en", "de"]},
            headers=system.headers("lead-e2e", Role.LEAD),
        )
        assert registered.status_code == 200, registered.text
        while True:
            claimed = await client.post("/v1/tasks/claim")
            if claimed.status_code == 204:
                return counts
            assert claimed.status_code == 200, claimed.text
            task = claimed.json()
            wrong = should_fail(task["decision"]["decision_id"])
            body = (
                {"outcome": "incorrect", "expected_action": "remove"}
                if wrong
                else {"outcome": "correct"}
            )
            key = {"Idempotency-Key": f"k-{task['task_id']}"}
            first = await client.post(
                f"/v1/tasks/{task['task_id']}/verdict", json=body, headers=key
            )
            assert first.status_code == 200, first.text
            again = await client.post(
                f"/v1/tasks/{task['task_id']}/verdict", json=body, headers=key
            )
            assert again.json()["verdict_id"] == first.json()["verdict_id"]
            counts["total"] += 1
            counts["incorrect"] += wrong


def log_lines(system: RunningSystem, service: str) -> list[dict[str, object]]:
    lines = system.processes[service].log_file.read_text(errors="replace").splitlines()
    return [json.loads(line) for line in lines if line.startswith("{")]


async def test_one_decision_is_followed_by_its_trace_id_across_the_four_services(
    system: RunningSystem,
) -> None:
    """A critical miss ingested over HTTP with a traceparent: the task, the verdict and the
    case carry its trace in their Kafka headers, and every service logs that trace id with
    the ids it handled."""
    i = next(i for i in range(10, 100_000, 10) if selected_by_hash_rule(f"trace-{i:05d}"))
    decision_id = f"trace-{i:05d}"
    trace_id = "4bf92f3577b34da6a3ce929d0e0e4736"
    system_headers = system.headers("moderation-system", Role.SYSTEM)
    async with httpx.AsyncClient(base_url=system.url("sampler"), timeout=10) as client:
        sent = await client.post(
            "/v1/decisions",
            json={"decisions": [{**decision(i), "decision_id": decision_id}]},
            headers={**system_headers, "traceparent": f"00-{trace_id}-00f067aa0ba902b7-01"},
        )
        assert sent.status_code == 200, sent.text

    def traced(service: str) -> list[dict[str, object]]:
        return [line for line in log_lines(system, service) if line.get("trace_id") == trace_id]

    await eventually(
        lambda: traced("audit"),
        until=lambda lines: any(line.get("decision_id") == decision_id for line in lines),
        timeout_s=60,
        what="the audit service stored the task",
    )
    judged = await audit_everything(system)
    assert judged["incorrect"] >= 1

    def followed() -> dict[str, list[dict[str, object]]]:
        return {s: traced(s) for s in ("sampler", "audit", "escalation", "metrics")}

    lines = await eventually(
        followed,
        until=lambda by: (
            all(by.values())
            and any("verdict_id" in line for line in by["escalation"])
            and any("verdict_id" in line for line in by["metrics"])
        ),
        timeout_s=60,
        what="the trace id in every service's log",
    )
    task_ids = {line["task_id"] for line in lines["sampler"] if "task_id" in line}
    assert len(task_ids) == 1 and all(
        line.get("decision_id") == decision_id for line in lines["sampler"]
    )
    assert any(line.get("task_id") in task_ids for line in lines["audit"])
    verdict_ids = {line["verdict_id"] for line in lines["escalation"] if "verdict_id" in line}
    assert verdict_ids == {line["verdict_id"] for line in lines["metrics"] if "verdict_id" in line}

    def trace_of(record: object) -> str | None:
        value = header(record, "traceparent")  # type: ignore[arg-type]
        return value.split("-")[1] if value else None

    task_records = [r for r in await read_all(system.bootstrap, system.topics.tasks)]
    assert [trace_of(r) for r in task_records if decision_id.encode() in r.value] == [trace_id]
    verdicts = [
        r
        for r in await read_all(system.bootstrap, system.topics.verdicts)
        if trace_of(r) == trace_id
    ]
    assert {json.loads(r.value)["verdict_id"] for r in verdicts} == verdict_ids
    cases = await eventually(
        lambda: read_all(system.bootstrap, system.topics.escalations),
        until=lambda recs: any(trace_of(r) == trace_id for r in recs),
        timeout_s=30,
        what="the critical-miss case in the decision's trace",
    )
    opened = [json.loads(r.value) for r in cases if trace_of(r) == trace_id]
    assert {(e["kind"], e["subject"]) for e in opened} == {
        ("critical_miss", f"decision:{decision_id}")
    }
