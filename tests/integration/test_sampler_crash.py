"""The sampler as a real process, killed with SIGKILL three times at random points while it
samples 100,000 decisions (some repeated): the committed tasks on audit.tasks are exactly the
ones an independent recomputation of the plan selects, none missing, none twice."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import json
import random
from pathlib import Path
from typing import Any

import httpx
from aiokafka import AIOKafkaProducer
from aiokafka.structs import TopicPartition

from shared.auth import Role
from shared.ids import task_id
from shared.kafka.consumer import build_consumer
from shared.settings import Settings
from shared.topics import Topics
from tests.support.kafka import read_all
from tests.support.sampler_app import headers
from tests.support.waiting import eventually
from tools.infra.common import free_port
from tools.infra.services import ServiceProcess

N = 100_000
REPEATS = 2_000
MODERATORS = 1_500
SALT = "crash-salt"
QUOTA = 2
PLAN = {
    "salt": SALT,
    "base_rate": 0.03,
    "floor": 0.001,
    "strata": ["market"],
    "rates": [{"match": {"market": "KR"}, "rate": 0.08}],
    "risk": {"severity": {"critical": 0.5}, "low_confidence": {"below": 0.7, "rate": 0.3}},
    "quota": {"min_per_moderator_per_day": QUOTA},
    "calibration": {"share": 0.1, "reviews": 2},
}


def decision(i: int, decided_at: str) -> dict[str, Any]:
    moderator = (i * 7919) % MODERATORS
    machine = moderator % 10 == 0
    market, language = [("KR", "ko"), ("US", "en"), ("DE", "de")][i % 3]
    return {
        "schema": "modqa.decision.v1",
        "decision_id": f"crash-{i:06d}",
        "content_id": f"c-{i}",
        "content_type": "video",
        "content_ref": f"https://content.example/{i}",
        "queue": "video",
        "market": market,
        "language": language,
        "moderator_id": f"m-{moderator}",
        "moderator_kind": "machine" if machine else "human",
        "moderator_team": "team-a",
        "policy_id": "child_safety" if i % 97 == 0 else "spam",
        "policy_version": 1,
        "action": "approve",
        "confidence": (i % 100) / 100 if machine else None,
        "source": "report",
        "decided_at": decided_at,
    }


def uniform(salt: str, decision_id: str) -> float:
    digest = hashlib.blake2b(f"{salt}\x1f{decision_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / 2**64


def recompute(records: list[tuple[int, int, dict[str, Any]]]) -> dict[str, tuple[Any, ...]]:
    """The plan, rewritten independently of the sampler: decisions in partition order."""
    expected: dict[str, tuple[Any, ...]] = {}
    state: dict[str, tuple[str, int, set[str]]] = {}
    for _, _, d in sorted(records, key=lambda r: (r[0], r[1])):
        base = 0.08 if d["market"] == "KR" else 0.03
        risk = 0.5 if d["policy_id"] == "child_safety" else 0.0
        if d["moderator_kind"] == "machine" and d["confidence"] < 0.7:
            risk = max(risk, 0.3)
        p = max(base, risk, 0.001)
        reason = "risk" if risk > base else "uniform"
        day = d["decided_at"][:10]
        last_day, count, seen = state.get(d["moderator_id"], ("", 0, set()))
        if d["decision_id"] in seen:
            continue
        today = count if last_day == day else 0
        if uniform(SALT, d["decision_id"]) < p:
            probability: float | None = p
        elif d["moderator_kind"] == "human" and today < QUOTA:
            probability, reason = None, "quota"
        else:
            continue
        state[d["moderator_id"]] = (day, today + 1, seen | {d["decision_id"]})
        calibrated = uniform(f"{SALT}/calibration", d["decision_id"]) < 0.1
        reasons = (reason, "calibration") if calibrated else (reason,)
        expected[task_id(d["decision_id"], "audit")] = (
            d["decision_id"],
            probability,
            reasons,
            2 if calibrated else 1,
        )
    return expected


async def produce_all(bootstrap: str, topic: str, values: list[tuple[bytes, bytes]]) -> None:
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=50,
        max_batch_size=512 * 1024,
    )
    await producer.start()
    try:
        futures = []
        for key, value in values:
            futures.append(await producer.send(topic, value, key=key))
            if len(futures) >= 10_000:
                await asyncio.gather(*futures)
                futures = []
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


async def test_three_sigkills_while_sampling_lose_and_duplicate_nothing(
    settings: Settings, topics: Topics, tmp_path: Path
) -> None:
    rng = random.Random(20261120)
    env = {
        "MODQA_ENVIRONMENT": "test",
        "MODQA_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "MODQA_DATABASE_URL": settings.database_url,
        "MODQA_TOPIC_PREFIX": topics.prefix,
        "MODQA_SAMPLER_ACTIVATION_DELAY_SECONDS": "1",
        "MODQA_SAMPLER_RELOAD_SECONDS": "0.2",
        "MODQA_SAMPLER_BATCH_MAX": "400",
        "MODQA_CONSUMER_POLL_MS": "50",
        "MODQA_CONSUMER_SESSION_TIMEOUT_MS": "6000",
        "MODQA_METRICS_URL": "http://127.0.0.1:9",
    }
    process = ServiceProcess("sampler", free_port(), env, tmp_path)
    probe = build_consumer(settings, group_id=topics.group("sampler"), client_id="probe")
    await probe.start()
    producing: asyncio.Task[None] | None = None
    try:
        process.start()
        await asyncio.to_thread(process.wait_ready)
        lead = headers(settings, Role.LEAD)
        async with httpx.AsyncClient(base_url=process.url, headers=lead, timeout=10) as client:
            assert (await client.put("/v1/sampling-plans/crash", json=PLAN)).status_code == 201
            applied = await client.put(
                "/v1/sampling-plans/current", json={"plan_id": "crash", "version": 1}
            )
            assert applied.status_code == 202, applied.text
            await eventually(
                lambda: client.get("/v1/sampling-plans/current"),
                until=lambda r: r.json()["plan_id"] == "crash",
                what="the plan in force",
            )

        decided_at = dt.datetime.now(dt.UTC).isoformat().replace("+00:00", "Z")
        documents = [decision(i, decided_at) for i in range(N)]
        repeats = [documents[rng.randrange(N)] for _ in range(REPEATS)]
        stream = documents + repeats
        tail = stream[N // 2 :]
        rng.shuffle(tail)  # repeats land anywhere in the second half, some before the original
        stream[N // 2 :] = tail
        values = [(d["moderator_id"].encode(), json.dumps(d).encode()) for d in stream]
        total = len(values)
        producing = asyncio.create_task(
            produce_all(settings.kafka_bootstrap, topics.decisions, values)
        )

        async def committed() -> int:
            count = 0
            for partition in range(6):
                count += await probe.committed(TopicPartition(topics.decisions, partition)) or 0
            return count

        kills: list[int] = []
        for threshold in sorted(rng.uniform(0.1, 0.85) for _ in range(3)):
            progress = await eventually(
                committed,
                until=lambda n, t=threshold: n >= t * total,
                timeout_s=120,
                interval_s=0.05,
                what=f"{threshold:.0%} of the stream committed",
            )
            process.kill()
            kills.append(progress)
            process.start()
            await asyncio.to_thread(process.wait_ready)
        await producing
        await eventually(
            committed, until=lambda n: n == total, timeout_s=180, what="the whole stream committed"
        )
    finally:
        if producing is not None and not producing.done():
            producing.cancel()
        process.stop()
        await probe.stop()

    assert len(kills) == 3 and all(0 < k < total for k in kills), kills
    assert process.starts == 4

    records = await read_all(settings.kafka_bootstrap, topics.decisions, timeout_s=120)
    consumed = [(r.partition, r.offset, json.loads(r.value or b"")) for r in records]
    expected = recompute(consumed)
    task_records = await read_all(settings.kafka_bootstrap, topics.tasks, timeout_s=120)
    tasks = [json.loads(r.value or b"") for r in task_records]
    ids = [t["task_id"] for t in tasks]
    assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} tasks emitted twice"
    actual = {
        t["task_id"]: (
            t["decision"]["decision_id"],
            t["inclusion_probability"],
            tuple(t["reasons"]),
            t["required_reviews"],
        )
        for t in tasks
    }
    missing = expected.keys() - actual.keys()
    extra = actual.keys() - expected.keys()
    assert not missing and not extra, f"{len(missing)} missing, {len(extra)} unexpected"
    assert actual == expected
    quota = sum(1 for v in expected.values() if v[2][0] == "quota")
    assert quota > 500, "quota top-ups (per-moderator counters) are part of what was checked"
    assert len({d["decision_id"] for d in stream}) < total, "repeated decisions were sent"
