"""The consumer runtime against a real broker: dead letters, retries, isolation, commits."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable, Sequence

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaConnectionError
from aiokafka.structs import ConsumerRecord, TopicPartition

from shared.codec import record_decoder
from shared.events import Decision, encode
from shared.kafka.consumer import ConsumerRuntime, Incoming, Outgoing, Process, build_consumer
from shared.kafka.dlq import H_OFFSET, H_PARTITION, H_REASON, H_SERVICE, H_TOPIC, header
from shared.kafka.producer import build_producer
from shared.settings import Settings
from shared.topics import Topics
from tests.support.builders import a_decision
from tests.support.kafka import as_aiokafkas_sender_raises, produce, read_all
from tests.support.waiting import eventually


def good(i: int) -> tuple[bytes, bytes]:
    decision = a_decision(decision_id=f"d-{i}", moderator_id=f"m-{i % 7}")
    return decision.moderator_id.encode(), encode(decision)


BAD = [
    (b"k", b"{not json"),
    (b"k", json.dumps({"decision_id": "missing-everything"}).encode()),
    (
        b"k",
        json.dumps(
            {**json.loads(encode(a_decision(decision_id="wrong-enum"))), "action": "obliterate"}
        ).encode(),
    ),
]


async def run_runtime(
    settings: Settings,
    topics: Topics,
    process: Process[Decision],
    *,
    transactional: bool = False,
    group: str = "g",
    decode: Callable[[ConsumerRecord[bytes, bytes]], Decision] = record_decoder(Decision),
    producer: AIOKafkaProducer | None = None,
    producer_factory: Callable[[], AIOKafkaProducer] | None = None,
) -> tuple[ConsumerRuntime[Decision], asyncio.Task[None], list[object]]:
    group_id = topics.group("test", group)
    consumer = build_consumer(settings, group_id=group_id, client_id="test")
    producer = producer or build_producer(
        settings, client_id="test", transactional_id=f"{group_id}-tx" if transactional else None
    )
    await consumer.start()
    await producer.start()
    runtime: ConsumerRuntime[Decision] = ConsumerRuntime(
        service="test",
        consumer=consumer,
        producer=producer,
        topics=[topics.decisions],
        group_id=group_id,
        decode=decode,
        process=process,
        transactional=transactional,
        batch_max=20,
        poll_ms=50,
        producer_factory=producer_factory,
    )
    runtime.subscribe()
    task = asyncio.create_task(runtime.run())
    return runtime, task, [consumer, producer]


async def stop(runtime: ConsumerRuntime[Decision], task: asyncio.Task[None], clients: list) -> None:
    runtime.stop()
    await asyncio.wait_for(task, timeout=20)
    await runtime.close()
    for client in clients:
        await client.stop()


async def committed_offsets(settings: Settings, topics: Topics, group: str) -> int:
    consumer = build_consumer(settings, group_id=topics.group("test", group), client_id="probe")
    await consumer.start()
    try:
        tps = [TopicPartition(topics.decisions, p) for p in range(6)]
        total = 0
        for tp in tps:
            total += await consumer.committed(tp) or 0
        return total
    finally:
        await consumer.stop()


async def test_bad_records_go_to_the_dlq_with_reasons_and_good_ones_are_processed(
    settings: Settings, topics: Topics
) -> None:
    seen: list[str] = []

    async def process(items: list[Incoming[Decision]]) -> Sequence[Outgoing]:
        seen.extend(item.event.decision_id for item in items)
        return ()

    records = [good(i) for i in range(40)]
    records[10:10] = BAD
    await produce(settings.kafka_bootstrap, topics.decisions, records)
    runtime, task, clients = await run_runtime(settings, topics, process)
    try:
        await eventually(lambda: len(seen), until=lambda n: n == 40, what="40 decisions processed")
        dead = await eventually(
            lambda: read_all(settings.kafka_bootstrap, topics.name("moderation.decisions.dlq")),
            until=lambda recs: len(recs) == 3,
            what="3 dead letters",
        )
    finally:
        await stop(runtime, task, clients)
    reasons = sorted(header(r, H_REASON) or "" for r in dead)
    assert any("not valid JSON" in r for r in reasons)
    assert any("content_id: Field required" in r for r in reasons)
    assert any("action: Input should be" in r for r in reasons)
    for record in dead:
        assert header(record, H_SERVICE) == "test"
        assert header(record, H_TOPIC) == topics.decisions
        assert header(record, H_PARTITION) is not None and header(record, H_OFFSET) is not None
    assert sorted(seen) == sorted(f"d-{i}" for i in range(40))
    assert await committed_offsets(settings, topics, "g") == 43


async def test_a_decoder_that_raises_something_else_parks_the_record_and_keeps_going(
    settings: Settings, topics: Topics
) -> None:
    """A bug in a decoder (here: an exception other than DecodeError on one payload) costs that
    record a dead letter, not the stream."""
    seen: list[str] = []
    strict = record_decoder(Decision)

    def buggy(record: ConsumerRecord[bytes, bytes]) -> Decision:
        if record.value == b"\xff\xfe":
            b"\xff\xfe".decode()  # raises UnicodeDecodeError
        return strict(record)

    async def process(items: list[Incoming[Decision]]) -> Sequence[Outgoing]:
        seen.extend(item.event.decision_id for item in items)
        return ()

    records = [good(i) for i in range(10)]
    records[5:5] = [(b"k", b"\xff\xfe")]
    await produce(settings.kafka_bootstrap, topics.decisions, records)
    runtime, task, clients = await run_runtime(settings, topics, process, decode=buggy)
    try:
        await eventually(lambda: len(seen), until=lambda n: n == 10, what="10 decisions processed")
        dead = await eventually(
            lambda: read_all(settings.kafka_bootstrap, topics.name("moderation.decisions.dlq")),
            until=lambda recs: len(recs) == 1,
            what="1 dead letter",
        )
        assert not task.done()
    finally:
        await stop(runtime, task, clients)
    assert (header(dead[0], H_REASON) or "").startswith("undecodable: UnicodeDecodeError")


async def test_a_transient_failure_retries_the_batch_and_loses_nothing(
    settings: Settings, topics: Topics
) -> None:
    seen: list[str] = []
    failures = [ConnectionError("database went away"), TimeoutError("slow")]

    async def process(items: list[Incoming[Decision]]) -> Sequence[Outgoing]:
        if failures:
            raise failures.pop()
        seen.extend(item.event.decision_id for item in items)
        return ()

    await produce(settings.kafka_bootstrap, topics.decisions, [good(i) for i in range(30)])
    runtime, task, clients = await run_runtime(settings, topics, process)
    try:
        await eventually(
            lambda: len(seen), until=lambda n: n >= 30, what="30 decisions processed after retries"
        )
    finally:
        await stop(runtime, task, clients)
    assert sorted(seen) == sorted(f"d-{i}" for i in range(30))
    assert await read_all(settings.kafka_bootstrap, topics.name("moderation.decisions.dlq")) == []


async def test_a_record_that_fails_alone_is_parked_and_its_batch_mates_are_kept(
    settings: Settings, topics: Topics
) -> None:
    seen: list[str] = []

    async def process(items: list[Incoming[Decision]]) -> Sequence[Outgoing]:
        if any(item.event.decision_id == "d-7" for item in items):
            raise ValueError("constraint violated by d-7")
        seen.extend(item.event.decision_id for item in items)
        return ()

    await produce(settings.kafka_bootstrap, topics.decisions, [good(i) for i in range(20)])
    runtime, task, clients = await run_runtime(settings, topics, process)
    try:
        dead = await eventually(
            lambda: read_all(settings.kafka_bootstrap, topics.name("moderation.decisions.dlq")),
            until=lambda recs: len(recs) == 1,
            what="d-7 parked",
        )
        await eventually(lambda: len(seen), until=lambda n: n == 19, what="the other 19 processed")
    finally:
        await stop(runtime, task, clients)
    assert "processing failed: ValueError: constraint violated by d-7" in (
        header(dead[0], H_REASON) or ""
    )
    assert "d-7" not in seen


async def test_transactional_mode_emits_outputs_and_offsets_atomically(
    settings: Settings, topics: Topics
) -> None:
    async def process(items: list[Incoming[Decision]]) -> Sequence[Outgoing]:
        return [
            Outgoing(topics.tasks, item.record.value or b"", key=item.record.key)
            for item in items
            if int(item.event.decision_id.split("-")[1]) % 2 == 0
        ]

    records = [good(i) for i in range(50)]
    records.append(BAD[0])
    await produce(settings.kafka_bootstrap, topics.decisions, records)
    runtime, task, clients = await run_runtime(
        settings, topics, process, transactional=True, group="tx"
    )
    try:
        out = await eventually(
            lambda: read_all(settings.kafka_bootstrap, topics.tasks),
            until=lambda recs: len(recs) >= 25,
            what="25 outputs",
        )
        await eventually(
            lambda: committed_offsets(settings, topics, "tx"),
            until=lambda n: n == 51,
            what="offsets committed in the transaction",
        )
    finally:
        await stop(runtime, task, clients)
    ids = [json.loads(r.value)["decision_id"] for r in out]
    assert sorted(ids) == sorted(f"d-{i}" for i in range(0, 50, 2))
    assert (
        len(await read_all(settings.kafka_bootstrap, topics.name("moderation.decisions.dlq"))) == 1
    )


async def test_hooks_follow_assignment_commits_and_rewinds_and_outputs_can_name_a_partition(
    settings: Settings, topics: Topics
) -> None:
    events: list[str] = []
    assigned: set[int] = set()
    failures = [ConnectionError("broker hiccup")]

    async def process(items: list[Incoming[Decision]]) -> Sequence[Outgoing]:
        events.append("process")
        if failures:
            raise failures.pop()
        return [
            Outgoing(topics.sampler_state, b"{}", key=b"k", partition=item.record.partition)
            for item in items
        ]

    group_id = topics.group("test", "hooks")
    consumer = build_consumer(settings, group_id=group_id, client_id="test")
    producer = build_producer(settings, client_id="test", transactional_id=f"{group_id}-tx")
    await consumer.start()
    await producer.start()
    runtime: ConsumerRuntime[Decision] = ConsumerRuntime(
        service="test",
        consumer=consumer,
        producer=producer,
        topics=[topics.decisions],
        group_id=group_id,
        decode=record_decoder(Decision),
        process=process,
        transactional=True,
        batch_max=100,
        poll_ms=50,
        on_committed=lambda: events.append("committed"),
        on_rewound=lambda: events.append("rewound"),
        on_assigned=lambda tps: assigned.update(tp.partition for tp in tps),
    )
    runtime.subscribe()
    task = asyncio.create_task(runtime.run())
    await produce(settings.kafka_bootstrap, topics.decisions, [good(i) for i in range(30)])
    try:
        out = await eventually(
            lambda: read_all(settings.kafka_bootstrap, topics.sampler_state),
            until=lambda recs: len(recs) >= 30,
            what="30 state records",
        )
    finally:
        await stop(runtime, task, [consumer, producer])
    assert assigned == set(range(6))
    assert events[:3] == ["process", "rewound", "process"]
    assert events.count("committed") == events.count("process") - 1
    sources = {
        json.loads(r.value)["decision_id"]: r.partition
        for r in await read_all(settings.kafka_bootstrap, topics.decisions)
    }
    assert sorted(r.partition for r in out) == sorted(sources.values())


async def test_a_producer_killed_by_a_lost_broker_is_replaced_and_nothing_is_lost_or_doubled(
    settings: Settings, topics: Topics
) -> None:
    group_id = topics.group("test", "dies")
    dead = as_aiokafkas_sender_raises(KafkaConnectionError("Connection at broker closed"))

    class DiesMidCommit(AIOKafkaProducer):  # type: ignore[misc]
        """A real producer whose first commit fails as a dead sender's does, and every call
        after it too (as aiokafka's fatal transaction error does)."""

        failed = False

        async def commit_transaction(self) -> None:
            DiesMidCommit.failed = True
            raise dead

        async def begin_transaction(self) -> None:
            if DiesMidCommit.failed:
                raise dead
            await super().begin_transaction()

    def fresh() -> AIOKafkaProducer:
        return build_producer(settings, client_id="test", transactional_id=f"{group_id}-tx")

    async def process(items: list[Incoming[Decision]]) -> Sequence[Outgoing]:
        return [Outgoing(topics.tasks, i.record.value or b"", key=i.record.key) for i in items]

    await produce(settings.kafka_bootstrap, topics.decisions, [good(i) for i in range(30)])
    doomed = DiesMidCommit(
        bootstrap_servers=settings.kafka_bootstrap,
        transactional_id=f"{group_id}-tx",
        enable_idempotence=True,
        acks="all",
    )
    runtime, task, clients = await run_runtime(
        settings,
        topics,
        process,
        transactional=True,
        group="dies",
        producer=doomed,
        producer_factory=fresh,
    )
    try:
        out = await eventually(
            lambda: read_all(settings.kafka_bootstrap, topics.tasks),
            until=lambda recs: len(recs) >= 30,
            what="every output, by the replacement producer",
        )
        await eventually(
            lambda: committed_offsets(settings, topics, "dies"),
            until=lambda n: n == 30,
            what="offsets committed",
        )
        assert not task.done()  # the runtime kept running
    finally:
        await stop(runtime, task, clients)
    assert DiesMidCommit.failed
    ids = [json.loads(r.value)["decision_id"] for r in out]
    assert sorted(ids) == sorted(f"d-{i}" for i in range(30))  # none lost, none twice
