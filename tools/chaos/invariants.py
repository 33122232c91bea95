"""What must hold after the chaos, checked against an independent recomputation from the input:
the hash rule, the generator's ground truth and the policy taxonomy's severities.

The escalation service raises sampling rates while cases are open (targeting rules on
`audit.targeting`: a moderator under coaching, a market and policy with a gap). Which rules
were in force when is only known once the run is over, so the selection is recomputed twice:
before the run with the plan's base rate alone (every one of those decisions must become a
task, whatever the targeting), and after it with the targeting rule states the sampler stored
(`Targeting` below replays them independently of the sampler's code)."""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections import Counter
from dataclasses import dataclass
from typing import Any

import asyncpg
from aiokafka import AIOKafkaConsumer
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from shared.codec import MAX_EVENT_BYTES
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


Interval = tuple[float, float, float]
"""(start, end, rate) in epoch seconds: a targeted rate in force for instants in [start, end)."""


@dataclass(frozen=True)
class Targeting:
    """Targeted rates per moderator and per (market, policy), as the sampler received them.

    Each state of a rule applies from its `effective_from` (its first receipt plus the
    activation delay) until the rule's next state applies or it expires; a state updated
    before one already in force is stale and ignored."""

    by_moderator: dict[str, list[Interval]]
    by_market_policy: dict[tuple[str, str], list[Interval]]

    @classmethod
    def none(cls) -> Targeting:
        return cls({}, {})

    @classmethod
    def of(cls, rows: list[dict[str, Any]]) -> Targeting:
        by_rule: dict[str, list[dict[str, Any]]] = {}
        for row in rows:
            by_rule.setdefault(row["rule_id"], []).append(row)
        targeting = cls.none()
        for states in by_rule.values():
            states.sort(key=lambda r: (r["effective_from"], r["updated_at"]))
            kept: list[dict[str, Any]] = []
            for state in states:
                if not kept or state["updated_at"] >= kept[-1]["updated_at"]:
                    kept.append(state)
            for i, state in enumerate(kept):
                end = kept[i + 1]["effective_from"] if i + 1 < len(kept) else float("inf")
                end = min(end, state["expires_at"])
                if not state["active"] or end <= state["effective_from"]:
                    continue
                interval = (state["effective_from"], end, state["rate"])
                if state["moderator_id"] is not None:
                    targeting.by_moderator.setdefault(state["moderator_id"], []).append(interval)
                elif state["market"] is not None and state["policy_id"] is not None:
                    key = (state["market"], state["policy_id"])
                    targeting.by_market_policy.setdefault(key, []).append(interval)
        return targeting

    def rate(self, moderator_id: str, market: str, policy_id: str, instant: float) -> float:
        intervals = [
            *self.by_moderator.get(moderator_id, ()),
            *self.by_market_policy.get((market, policy_id), ()),
        ]
        return max((r for start, end, r in intervals if start <= instant < end), default=0.0)

    def __len__(self) -> int:
        return sum(map(len, self.by_moderator.values())) + sum(
            map(len, self.by_market_policy.values())
        )


async def stored_targeting(db: asyncpg.Connection) -> Targeting:
    """The targeting rule states the sampler received (its own table), as epoch seconds."""
    rows = await db.fetch(
        "SELECT rule_id, effective_from, rule FROM sampler.targeting_rules ORDER BY rule_id"
    )
    states = []
    for row in rows:
        rule = json.loads(row["rule"])
        states.append(
            {
                "rule_id": row["rule_id"],
                "effective_from": row["effective_from"].timestamp(),
                "updated_at": _epoch(rule["updated_at"]),
                "expires_at": _epoch(rule["expires_at"]),
                "active": rule["active"],
                "rate": float(rule["rate"]),
                "moderator_id": rule.get("moderator_id"),
                "market": rule.get("market"),
                "policy_id": rule.get("policy_id"),
            }
        )
    return Targeting.of(states)


def _epoch(value: str) -> float:
    return dt.datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()


def expected(workload: Workload, rate: float, targeting: Targeting | None = None) -> Expected:
    """The tasks the plan selects (base rate, raised by targeting rules in force), and among
    them the wrong decisions and the critical misses. A decision is seen at its `decided_at`:
    the harness produces every decision after the moment it carries."""
    critical_policies = {p.id for p in load_taxonomy().policies if p.severity.value == "critical"}
    tasks, wrong, critical = set(), set(), set()
    targeting = targeting or Targeting.none()
    for i in range(workload.count):
        decision = workload.decision(i)
        probability = rate
        if targeting:
            instant = decision.decided_at.timestamp()
            probability = max(
                rate,
                targeting.rate(decision.moderator_id, decision.market, decision.policy_id, instant),
            )
        if not selected(decision.decision_id, probability):
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
    return (value[:MAX_DLQ_VALUE_BYTES] if value and size > MAX_EVENT_BYTES else value), size


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
