"""The transactional outbox: events written in the same database transaction as the state
change they describe, then published by one relay per service, exactly once.

Exactly once, because the relay publishes each batch inside a Kafka transaction that also
writes the batch's outbox ids to the service's compacted progress topic. If the relay dies
after the Kafka commit but before marking the rows published, the next relay reads the last
progress record at start and marks those rows instead of sending them again; if it dies
before the Kafka commit, the transaction is aborted (fenced) and the rows are sent again.
A PostgreSQL advisory lock keeps one relay per service running at a time.
"""

from __future__ import annotations

import asyncio
import json
import logging
import time
import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition
from sqlalchemy import (
    BigInteger,
    Column,
    DateTime,
    Index,
    LargeBinary,
    MetaData,
    Table,
    Text,
    func,
    select,
    text,
    update,
)
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession
from sqlalchemy.sql.dml import Insert

from shared.background import pause
from shared.errors import is_transient
from shared.kafka.producer import needs_new_producer
from shared.observability.metrics import outbox_metrics

log = logging.getLogger(__name__)


def outbox_table(metadata: MetaData) -> Table:
    """The outbox table in the metadata's schema."""
    return Table(
        "outbox",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),
        Column("topic", Text, nullable=False),
        Column("key", LargeBinary, nullable=True),
        Column("value", LargeBinary, nullable=False),
        Column("headers", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
        Column("created_at", DateTime(timezone=True), nullable=False, server_default=func.now()),
        Column("published_at", DateTime(timezone=True), nullable=True),
        Index(
            "outbox_unpublished",
            "id",
            postgresql_where=text("published_at IS NULL"),
        ),
    )


@dataclass(frozen=True)
class OutboxMessage:
    """A record the relay will publish once the surrounding transaction commits."""

    topic: str
    value: bytes
    key: bytes | None = None
    headers: Sequence[tuple[str, str]] = ()


def outbox_row(message: OutboxMessage) -> dict[str, Any]:
    """The outbox table's columns for a message (for a caller with its own INSERT statement,
    e.g. one built once and executed with parameters)."""
    return {
        "topic": message.topic,
        "key": message.key,
        "value": message.value,
        "headers": [list(h) for h in message.headers],
    }


async def enqueue(session: AsyncSession, table: Table, messages: Sequence[OutboxMessage]) -> None:
    """Add messages to the outbox inside the caller's transaction."""
    if not messages:
        return
    await session.execute(table.insert(), [outbox_row(m) for m in messages])


def enqueue_statement(table: Table, messages: Sequence[OutboxMessage]) -> Insert:
    """The INSERT that adds messages to the outbox, for a caller that sends it together with the
    other writes of its transaction (one round trip); it must run in that transaction."""
    if not messages:
        raise ValueError("enqueue_statement needs at least one message")
    rows = [outbox_row(m) for m in messages]
    # a single-row VALUES is compiled once and cached; a multi-row one is compiled every time
    return table.insert().values(**rows[0]) if len(rows) == 1 else table.insert().values(rows)


class OutboxRelay:
    """Publishes a service's outbox exactly once; run one per service process."""

    def __init__(
        self,
        *,
        service: str,
        engine: AsyncEngine,
        table: Table,
        producer_factory: Callable[[], AIOKafkaProducer],
        bootstrap: str,
        progress_topic: str,
        batch_max: int = 500,
        poll_s: float = 0.1,
        on_published: Callable[[Sequence[OutboxMessage]], None] | None = None,
    ) -> None:
        self._service = service
        self._engine = engine
        self._table = table
        self._producer_factory = producer_factory
        self._producer: AIOKafkaProducer | None = None
        self._bootstrap = bootstrap
        self._progress_topic = progress_topic
        self._batch_max = batch_max
        self._poll_s = poll_s
        self._on_published = on_published
        self._stopping = asyncio.Event()
        self._metrics = outbox_metrics(service)
        self._lock_key = zlib.crc32(f"modqa-outbox:{table.fullname}".encode())
        self.leader = False

    def stop(self) -> None:
        """Finish the batch in flight and return from `run`."""
        self._stopping.set()

    async def run(self) -> None:
        """Hold the relay lock, reconcile the last published batch, then publish until stopped."""
        backoff = 0.2
        while not self._stopping.is_set():
            producer: AIOKafkaProducer | None = None
            try:
                async with self._engine.connect() as lock_conn:
                    if not await self._try_lock(lock_conn):
                        await pause(self._stopping, 1.0)
                        continue
                    # the transactional producer starts only once we lead: starting it fences
                    # the previous leader's producer, which must not happen while that one leads
                    self._producer = producer = self._producer_factory()
                    await self._producer.start()
                    self.leader = True
                    try:
                        await self._reconcile()
                        await self._publish_loop(lock_conn)
                    finally:
                        self.leader = False
                        await self._producer.stop()
                        self._producer = None
                        await lock_conn.execute(select(func.pg_advisory_unlock(self._lock_key)))
                        await lock_conn.commit()
                return
            except Exception as error:
                self.leader = False
                # a broker lost mid-commit kills the producer; the next attempt builds a new one
                if not (is_transient(error) or needs_new_producer(error, producer)):
                    raise
                log.warning(
                    "outbox relay paused", extra={"error": f"{type(error).__name__}: {error}"}
                )
                await pause(self._stopping, backoff)
                backoff = min(backoff * 2, 5.0)

    async def _try_lock(self, conn: AsyncConnection) -> bool:
        got = await conn.scalar(select(func.pg_try_advisory_lock(self._lock_key)))
        # the lock belongs to the session, not the transaction: end the transaction, or the
        # connection sits "idle in transaction" for the relay's life and holds back vacuum
        await conn.commit()
        return bool(got)

    async def _publish_loop(self, lock_conn: AsyncConnection) -> None:
        last_check = 0.0
        while not self._stopping.is_set():
            published = await self.publish_once()
            now = time.monotonic()
            if now - last_check > 2.0:
                last_check = now
                await lock_conn.execute(text("SELECT 1"))  # the lock lives as long as this session
                await lock_conn.commit()
                await self._report_backlog()
            if published == 0:
                await pause(self._stopping, self._poll_s)

    async def publish_once(self) -> int:
        """Publish one batch of unpublished rows; return how many were published."""
        t = self._table
        async with self._engine.connect() as conn:
            rows = (
                await conn.execute(
                    select(t.c.id, t.c.topic, t.c.key, t.c.value, t.c.headers)
                    .where(t.c.published_at.is_(None))
                    .order_by(t.c.id)
                    .limit(self._batch_max)
                )
            ).all()
            await conn.rollback()
        if not rows:
            return 0
        producer = self._producer
        if producer is None:
            raise RuntimeError("publish_once needs the relay to lead (its producer started)")
        ids = [row.id for row in rows]
        async with producer.transaction():
            futures = [
                await producer.send(
                    row.topic,
                    row.value,
                    key=row.key,
                    headers=[(k, v.encode()) for k, v in row.headers] or None,
                )
                for row in rows
            ]
            futures.append(
                await producer.send(
                    self._progress_topic,
                    json.dumps({"table": t.fullname, "ids": ids}).encode(),
                    key=t.fullname.encode(),
                )
            )
            # every record acknowledged before the commit: a refused batch (out of order after
            # a broker restart lost its tail) raises, the transaction aborts and the rows stay
            # unpublished; committing without awaiting lost 436 verdicts in make chaos
            await asyncio.gather(*futures)
        await self._mark_published(ids)
        for row in rows:
            self._metrics.published.labels(row.topic).inc()
        self._notify_published(rows)
        return len(rows)

    def _notify_published(self, rows: Sequence[Any]) -> None:
        """Tell the service what was just published (e.g. to time it); never fails the relay."""
        if self._on_published is None:
            return
        try:
            self._on_published(
                [
                    OutboxMessage(row.topic, row.value, row.key, [(k, v) for k, v in row.headers])
                    for row in rows
                ]
            )
        except Exception:
            log.exception("outbox on_published callback failed")

    async def _mark_published(self, ids: list[int]) -> None:
        t = self._table
        async with self._engine.begin() as conn:
            await conn.execute(
                update(t)
                .where(t.c.id.in_(ids), t.c.published_at.is_(None))
                .values(published_at=func.now())
            )

    async def _reconcile(self) -> None:
        """Mark as published the batch the previous relay committed to Kafka but not to the DB."""
        ids = await self._last_committed_batch()
        if ids:
            await self._mark_published(ids)
            log.info("outbox reconciled", extra={"rows": len(ids)})

    async def _last_committed_batch(self) -> list[int]:
        consumer = AIOKafkaConsumer(
            bootstrap_servers=self._bootstrap,
            isolation_level="read_committed",
            enable_auto_commit=False,
        )
        await consumer.start()
        try:
            tp = TopicPartition(self._progress_topic, 0)
            consumer.assign([tp])
            begin = (await consumer.beginning_offsets([tp]))[tp]
            end = (await consumer.end_offsets([tp]))[tp]
            window = 16
            while True:
                start = max(begin, end - window)
                found = await _last_value_for_key(consumer, tp, start, end, self._table.fullname)
                if found is not None or start == begin:
                    return found or []
                window *= 4
        finally:
            await consumer.stop()

    async def _report_backlog(self) -> None:
        t = self._table
        async with self._engine.connect() as conn:
            count = await conn.scalar(
                select(func.count()).select_from(t).where(t.c.published_at.is_(None))
            )
            await conn.rollback()
        self._metrics.backlog.set(count or 0)


async def _last_value_for_key(
    consumer: AIOKafkaConsumer, tp: TopicPartition, start: int, end: int, key: str
) -> list[int] | None:
    if end <= start:
        return None
    consumer.seek(tp, start)
    last: list[int] | None = None
    deadline = time.monotonic() + 30
    while True:
        position = await consumer.position(tp)
        if position >= end:
            return last
        if time.monotonic() > deadline:
            raise TimeoutError(f"reading {tp.topic} stalled at offset {position} of {end}")
        batch = await consumer.getmany(tp, timeout_ms=1000)
        for record in batch.get(tp, []):
            if record.key == key.encode() and record.value:
                last = list(json.loads(record.value)["ids"])
