"""What must hold after the chaos, checked against an independent recomputation from the input:
the hash rule, the generator's ground truth and the policy taxonomy's severities."""

from __future__ import annotations

import hashlib
import json
from collections import Counter
from dataclasses import dataclass

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from shared.ids import task_id
from shared.kafka.dlq import H_REASON, H_TRUNCATED, MAX_DLQ_VALUE_BYTES, header
from shared.taxonomy import load_taxonomy
from tools.chaos.system import ChaosSystem
from tools.chaos.workload import Workload
from tools.infra.topics_read import read_all

SALT = "modqa-default-salt"
GROUPS = (
    "modqa-sampler-main",
    "modqa-audit-tasks",
    "modqa-escalation-verdicts",
    "modqa-metrics-events",
)


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool
    detail: str


@dataclass(frozen=True)
class Expected:
    tasks: set[str]
    wrong: set[str]
    critical: set[str]


def selected(decision_id: str, rate: float) -> bool:
    """The uniform plan's rule, recomputed here rather than imported from the sampler."""
    digest = hashlib.blake2b(f"{SALT}\x1f{decision_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64 < rate


def expected(workload: Workload, rate: float) -> Expected:
    critical_policies = {p.id for p in load_taxonomy().policies if p.severity.value == "critical"}
    tasks, wrong, critical = set(), set(), set()
    for i in range(workload.count):
        decision = workload.decision(i)
        if not selected(decision.decision_id, rate):
            continue
        tasks.add(task_id(decision.decision_id, "audit"))
        truth = workload.stream.truth(i)
        if truth.action != decision.action or (
            truth.policy_id is not None and truth.policy_id != decision.policy_id
        ):
            wrong.add(decision.decision_id)
            if decision.action.value == "approve" and truth.policy_id in critical_policies:
                critical.add(decision.decision_id)
    return Expected(tasks, wrong, critical)


def once(counts: Counter[str], wanted: set[str]) -> tuple[bool, str]:
    missing = wanted - set(counts)
    extra = set(counts) - wanted
    doubled = {k for k, n in counts.items() if n > 1}
    ok = not (missing or extra or doubled)
    return (
        ok,
        f"{len(wanted)} expected; missing {len(missing)}, unexpected {len(extra)}, "
        f"twice or more {len(doubled)}",
    )


async def check_all(system: ChaosSystem, workload: Workload, want: Expected) -> list[Check]:
    topics, bootstrap = system.topics, system.kafka.bootstrap
    checks: list[Check] = []
    task_records = await read_all(bootstrap, topics.tasks, timeout_s=120)
    ok, detail = once(Counter(json.loads(r.value)["task_id"] for r in task_records), want.tasks)
    checks.append(Check("tasks on audit.tasks = the plan's selection, each once", ok, detail))

    db = await asyncpg.connect(system.postgres.url().replace("+asyncpg", ""))
    try:
        stored = Counter(r["task_id"] for r in await db.fetch("SELECT task_id FROM audit.tasks"))
        ok, detail = once(stored, want.tasks)
        checks.append(Check("tasks stored by audit = the selection", ok, detail))
        rows = await db.fetch(
            "SELECT verdict_id, task_id, decision_id, outcome FROM audit.verdicts"
        )
        per_task = Counter(r["task_id"] for r in rows)
        ok, detail = once(per_task, want.tasks)
        checks.append(Check("every task has exactly one verdict", ok, detail))
        audit_ids = {r["verdict_id"] for r in rows}
        wrong_found = {r["decision_id"] for r in rows if r["outcome"] == "incorrect"}
        checks.append(
            Check(
                "verdicts judge by the truth",
                wrong_found == want.wrong,
                f"{len(want.wrong)} wrong decisions; verdicts found {len(wrong_found)}",
            )
        )
        published = Counter(
            json.loads(r.value)["verdict_id"]
            for r in await read_all(bootstrap, topics.verdicts, timeout_s=120)
        )
        ok, detail = once(published, audit_ids)
        checks.append(Check("every verdict on audit.verdicts exactly once", ok, detail))
        counted = Counter(
            r["verdict_id"] for r in await db.fetch("SELECT verdict_id FROM metrics.verdicts")
        )
        ok, detail = once(counted, audit_ids)
        checks.append(Check("every verdict counted once by metrics", ok, detail))
        corrections = Counter(
            json.loads(r.value)["decision_id"]
            for r in await read_all(bootstrap, topics.corrections, timeout_s=120)
        )
        ok, detail = once(corrections, want.wrong)
        checks.append(Check("every wrong decision has exactly one correction", ok, detail))
        cases = Counter(
            r["subject"].removeprefix("decision:")
            for r in await db.fetch(
                "SELECT subject FROM escalation.cases WHERE kind = 'critical_miss'"
            )
        )
        ok, detail = once(cases, want.critical)
        checks.append(Check("every critical miss has exactly one case", ok, detail))
        backlog = {
            schema: await db.fetchval(
                f"SELECT count(*) FROM {schema}.outbox WHERE published_at IS NULL"
            )
            for schema in ("audit", "escalation", "metrics")
        }
        checks.append(Check("the outboxes drained", not any(backlog.values()), str(backlog)))
    finally:
        await db.close()
    lag = await consumer_lag(bootstrap, topics.prefix)
    checks.append(
        Check(
            "consumer lag is back to zero",
            not any(lag.values()),
            ", ".join(f"{g}: {n}" for g, n in lag.items()),
        )
    )
    sent = [
        _as_dead_lettered(r.value)
        for r in await read_all(bootstrap, topics.decisions, timeout_s=120)
        if r.value in workload.malformed
    ]
    dead = await read_all(bootstrap, topics.name("moderation.decisions.dlq"), timeout_s=60)
    reasons = [header(r, H_REASON) for r in dead]
    parked = [(r.value, int(header(r, H_TRUNCATED) or len(r.value or b""))) for r in dead]
    checks.append(
        Check(
            "every malformed decision dead-lettered once, with a reason",
            sorted(parked) == sorted(sent) and all(reasons),
            f"{len(sent)} malformed on the input topic ({workload.poisoned} produced, "
            f"{len(set(sent))} kinds), {len(dead)} on the dead-letter topic, "
            f"{sum(1 for r in reasons if r)} with a reason",
        )
    )
    return checks


def _as_dead_lettered(value: bytes | None) -> tuple[bytes | None, int]:
    """A malformed record as the dead-letter topic keeps it: its value (cut to the DLQ's limit,
    the original size in a header) and its original size."""
    size = len(value or b"")
    return (value[:MAX_DLQ_VALUE_BYTES] if value else value), size


async def consumer_lag(bootstrap: str, prefix: str) -> dict[str, int]:
    """Per consumer group: records behind the end of the topics it consumes."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        lag: dict[str, int] = {}
        probe = AIOKafkaConsumer(bootstrap_servers=bootstrap, isolation_level="read_committed")
        await probe.start()
        try:
            for group in GROUPS:
                offsets = await admin.list_consumer_group_offsets(prefix + group)
                tps = [TopicPartition(tp.topic, tp.partition) for tp in offsets]
                ends = await probe.end_offsets(tps) if tps else {}
                lag[group] = sum(max(0, ends[tp] - meta.offset) for tp, meta in offsets.items())
        finally:
            await probe.stop()
        return lag
    finally:
        await admin.close()
