"""The escalation service as a real process, SIGKILLed after it committed corrections to its
outbox but before its relay published them: after a restart each wrong decision has exactly
one correction on `moderation.corrections`, and a full replay of the verdicts adds none."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import asyncpg
import pytest
from aiokafka.admin import AIOKafkaAdminClient
from aiokafka.structs import TopicPartition

from shared.settings import Settings
from shared.topics import Topics
from tests.conftest import Infra
from tests.support.builders import a_decision, a_verdict
from tests.support.escalation import MISS
from tests.support.kafka import produce, read_all
from tests.support.waiting import eventually
from tools.infra.common import free_port
from tools.infra.services import ServiceProcess

WRONG = 12
RIGHT = 18
PAUSED_RELAY_MS = "600000"
"""The relay checks an idle outbox again only after ten minutes: long past this test's kill."""


def verdicts() -> list[tuple[bytes | None, bytes]]:
    records = []
    for i in range(WRONG + RIGHT):
        decision = a_decision(
            decision_id=f"k-{i:03d}",
            content_id=f"content-k-{i:03d}",
            action="approve",
            policy_id="child_safety" if i < WRONG else "spam",
            moderator_id=f"mod-{i % 5}",
        )
        verdict = a_verdict(decision, **MISS) if i < WRONG else a_verdict(decision)
        records.append((verdict.task_id.encode(), verdict.model_dump_json().encode()))
    return records


async def consumed_to_the_end(bootstrap: str, group: str, topics: list[str]) -> bool:
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap)
    await admin.start()
    try:
        committed = await admin.list_consumer_group_offsets(group)
    finally:
        await admin.close()
    ends: dict[TopicPartition, int] = {}
    for topic in topics:
        for record in await read_all(bootstrap, topic):
            tp = TopicPartition(topic, record.partition)
            ends[tp] = max(ends.get(tp, 0), record.offset + 1)
    return all(tp in committed and committed[tp].offset >= end for tp, end in ends.items())


async def settled(db: asyncpg.Connection, settings: Settings, topics: Topics, when: str) -> None:
    """Every verdict consumed (offsets committed) and everything that followed published."""
    group = topics.group("escalation", "verdicts")
    await eventually(
        lambda: consumed_to_the_end(settings.kafka_bootstrap, group, [topics.verdicts]),
        until=bool,
        what=f"verdicts consumed {when}",
    )
    await eventually(
        lambda: db.fetchval("SELECT count(*) FROM escalation.outbox WHERE published_at IS NULL"),
        until=lambda n: n == 0,
        what=f"outbox drained {when}",
    )


async def assert_one_correction_and_one_case_per_wrong_decision(
    bootstrap: str, topics: Topics
) -> None:
    corrections = [json.loads(r.value) for r in await read_all(bootstrap, topics.corrections)]
    assert sorted(c["decision_id"] for c in corrections) == [f"k-{i:03d}" for i in range(WRONG)]
    assert len({c["correction_id"] for c in corrections}) == WRONG
    cases = [json.loads(r.value) for r in await read_all(bootstrap, topics.escalations)]
    assert sorted(c["subject"] for c in cases) == [f"decision:k-{i:03d}" for i in range(WRONG)]


@pytest.fixture
def escalation_process(
    infra: Infra, settings: Settings, topics: Topics, tmp_path: Path
) -> Iterator[ServiceProcess]:
    env = {
        "MODQA_ENVIRONMENT": "test",
        "MODQA_KAFKA_BOOTSTRAP": infra.bootstrap,
        "MODQA_DATABASE_URL": settings.database_url,
        "MODQA_TOPIC_PREFIX": topics.prefix,
        "MODQA_CONSUMER_POLL_MS": "50",
        "MODQA_OUTBOX_POLL_MS": PAUSED_RELAY_MS,
        "MODQA_LOG_JSON": "true",
    }
    process = ServiceProcess("escalation", free_port(), env, tmp_path)
    yield process
    process.stop()


async def test_exactly_one_correction_per_wrong_decision_across_a_sigkill_before_publishing(
    settings: Settings, topics: Topics, escalation_process: ServiceProcess
) -> None:
    bootstrap = settings.kafka_bootstrap
    canary_topic = topics.name("metrics.signals.dlq")
    db = await asyncpg.connect(settings.database_url.replace("+asyncpg", ""))
    try:
        # a row already waiting, so the relay's first round publishes something we can see;
        # its next round finds nothing and sleeps for PAUSED_RELAY_MS
        await db.execute(
            "INSERT INTO escalation.outbox (topic, key, value) VALUES ($1, $2, $3)",
            canary_topic,
            b"canary",
            b"{}",
        )
        escalation_process.start()
        escalation_process.wait_ready()
        await eventually(
            lambda: read_all(bootstrap, canary_topic), until=lambda r: len(r) == 1, what="canary"
        )

        await produce(bootstrap, topics.verdicts, verdicts())
        await eventually(
            lambda: db.fetchval("SELECT count(*) FROM escalation.corrections"),
            until=lambda n: n == WRONG,
            what="corrections committed",
        )
        unpublished = await db.fetchval(
            "SELECT count(*) FROM escalation.outbox WHERE published_at IS NULL AND topic = $1",
            topics.corrections,
        )
        assert unpublished == WRONG, (
            "the relay must not have published yet for this test to mean anything"
        )
        assert await read_all(bootstrap, topics.corrections) == []

        escalation_process.kill()
        assert not escalation_process.alive()

        escalation_process.env["MODQA_OUTBOX_POLL_MS"] = "20"
        escalation_process.start()
        escalation_process.wait_ready()
        await settled(db, settings, topics, "after the restart")
        await assert_one_correction_and_one_case_per_wrong_decision(bootstrap, topics)

        await produce(bootstrap, topics.verdicts, verdicts())
        await settled(db, settings, topics, "after replaying every verdict")
        await assert_one_correction_and_one_case_per_wrong_decision(bootstrap, topics)
    finally:
        await db.close()
