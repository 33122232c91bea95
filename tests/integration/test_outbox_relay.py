"""The outbox relay publishes every row exactly once, across crashes on either side of the commit."""

from __future__ import annotations

import asyncio
import json

import pytest
from sqlalchemy import func, select, text, update

from services.audit.tables import outbox
from shared.db.engine import build_engine
from shared.db.outbox import OutboxMessage, OutboxRelay, enqueue
from shared.kafka.producer import build_producer
from shared.settings import Settings
from shared.topics import Topics
from tests.support.kafka import read_all
from tests.support.waiting import eventually


async def fill(settings: Settings, topics: Topics, n: int, start: int = 0) -> None:
    engine = build_engine(settings)
    async with engine.begin() as conn:
        from sqlalchemy.ext.asyncio import AsyncSession

        session = AsyncSession(bind=conn)
        await enqueue(
            session,
            outbox,
            [
                OutboxMessage(
                    topics.verdicts,
                    json.dumps({"n": i}).encode(),
                    key=str(i).encode(),
                    headers=[("trace", f"t{i}")],
                )
                for i in range(start, start + n)
            ],
        )
        await session.flush()
    await engine.dispose()


async def unpublished(settings: Settings) -> int:
    engine = build_engine(settings)
    async with engine.connect() as conn:
        count = await conn.scalar(
            select(func.count()).select_from(outbox).where(outbox.c.published_at.is_(None))
        )
    await engine.dispose()
    return int(count or 0)


async def crash_free() -> None:
    return None


class SimulatedCrash(BaseException):
    """Stands for the process dying: nothing in the relay catches it."""


class Relay:
    """A relay with its own engine and transactional producer, like one service process."""

    def __init__(self, settings: Settings, topics: Topics) -> None:
        self.engine = build_engine(settings)
        self.relay = OutboxRelay(
            service="audit",
            engine=self.engine,
            table=outbox,
            producer_factory=lambda: build_producer(
                settings, client_id="relay", transactional_id=f"{topics.prefix}modqa-audit-outbox"
            ),
            bootstrap=settings.kafka_bootstrap,
            progress_topic=topics.outbox_progress("audit"),
            batch_max=40,
            poll_s=0.02,
        )
        self.task: asyncio.Task[None] | None = None

    async def start(self) -> None:
        self.task = asyncio.create_task(self.relay.run())

    async def stop(self) -> None:
        self.relay.stop()
        if self.task is not None:
            await asyncio.wait_for(self.task, timeout=20)
        await self.engine.dispose()


async def published_numbers(settings: Settings, topics: Topics) -> list[int]:
    return [
        json.loads(r.value)["n"] for r in await read_all(settings.kafka_bootstrap, topics.verdicts)
    ]


async def test_every_row_is_published_once_with_key_and_headers(
    settings: Settings, topics: Topics
) -> None:
    await fill(settings, topics, 150)
    relay = Relay(settings, topics)
    await relay.start()
    try:
        await eventually(
            lambda: unpublished(settings), until=lambda n: n == 0, what="outbox drained"
        )
    finally:
        await relay.stop()
    records = await read_all(settings.kafka_bootstrap, topics.verdicts)
    assert sorted(json.loads(r.value)["n"] for r in records) == list(range(150))
    first = next(r for r in records if json.loads(r.value)["n"] == 3)
    assert first.key == b"3" and ("trace", b"t3") in list(first.headers)


async def test_a_crash_after_the_kafka_commit_but_before_marking_rows_duplicates_nothing(
    settings: Settings, topics: Topics, monkeypatch: pytest.MonkeyPatch
) -> None:
    await fill(settings, topics, 60)
    crashing = Relay(settings, topics)

    async def crash(_ids: list[int]) -> None:
        raise SimulatedCrash("killed between the Kafka commit and the database update")

    monkeypatch.setattr(crashing.relay, "_mark_published", crash)
    monkeypatch.setattr(crashing.relay, "_reconcile", crash_free)
    await crashing.start()
    assert crashing.task is not None
    with pytest.raises(SimulatedCrash):
        await asyncio.wait_for(crashing.task, timeout=20)
    await crashing.engine.dispose()
    assert len(await published_numbers(settings, topics)) == 40
    assert await unpublished(settings) == 60

    restarted = Relay(settings, topics)
    await restarted.start()
    try:
        await eventually(lambda: unpublished(settings), until=lambda n: n == 0, what="drained")
    finally:
        await restarted.stop()
    assert sorted(await published_numbers(settings, topics)) == list(range(60))


async def test_a_crash_inside_the_kafka_transaction_resends_the_rows_once(
    settings: Settings, topics: Topics
) -> None:
    await fill(settings, topics, 30)
    zombie = build_producer(
        settings, client_id="zombie", transactional_id=f"{topics.prefix}modqa-audit-outbox"
    )
    await zombie.start()
    await zombie.begin_transaction()
    sent = [await zombie.send(topics.verdicts, json.dumps({"n": i}).encode()) for i in range(30)]
    await asyncio.gather(*sent)
    # the process dies here: no commit; the next relay's producer fences and aborts this one

    relay = Relay(settings, topics)
    await relay.start()
    try:
        await eventually(lambda: unpublished(settings), until=lambda n: n == 0, what="drained")
    finally:
        await relay.stop()
    assert sorted(await published_numbers(settings, topics)) == list(range(30))
    await zombie.stop()


async def test_only_one_relay_per_service_publishes_at_a_time(
    settings: Settings, topics: Topics
) -> None:
    first, second = Relay(settings, topics), Relay(settings, topics)
    await first.start()
    await eventually(lambda: first.relay.leader, until=bool, what="first relay leads")
    await second.start()
    try:
        await fill(settings, topics, 20)
        await eventually(lambda: unpublished(settings), until=lambda n: n == 0, what="drained")
        assert not second.relay.leader
    finally:
        await second.stop()
        await first.stop()
    assert sorted(await published_numbers(settings, topics)) == list(range(20))


async def test_marking_is_idempotent_when_rows_were_marked_already(
    settings: Settings, topics: Topics
) -> None:
    await fill(settings, topics, 5)
    engine = build_engine(settings)
    async with engine.begin() as conn:
        await conn.execute(update(outbox).values(published_at=func.now()))
    await engine.dispose()
    relay = Relay(settings, topics)
    await relay.start()
    await asyncio.sleep(0)
    await relay.stop()
    assert await published_numbers(settings, topics) == []


async def test_a_leading_relay_holds_its_lock_without_holding_a_transaction_open(
    settings: Settings, topics: Topics
) -> None:
    """The advisory lock is the session's: a connection left "idle in transaction" for the
    relay's life would hold back vacuum on every table of the database."""
    first, second = Relay(settings, topics), Relay(settings, topics)
    await first.start()
    await eventually(lambda: first.relay.leader, until=bool, what="first relay leads")
    await second.start()  # stands by, trying the lock every second
    engine = build_engine(settings)
    try:
        await fill(settings, topics, 5)
        await eventually(lambda: unpublished(settings), until=lambda n: n == 0, what="drained")
        await asyncio.sleep(3)  # past the leader's periodic lock check and a standby's try

        async def idle_in_transaction() -> int:
            async with engine.connect() as conn:
                found = await conn.scalar(
                    select(func.count())
                    .select_from(text("pg_stat_activity"))
                    .where(
                        text("datname = current_database()"),
                        text("state = 'idle in transaction'"),
                        # not a batch's own short transaction: one left open for seconds
                        text("now() - xact_start > interval '2 seconds'"),
                    )
                )
            return int(found or 0)

        assert await idle_in_transaction() == 0
        assert first.relay.leader and not second.relay.leader
    finally:
        await engine.dispose()
        await second.stop()
        await first.stop()
