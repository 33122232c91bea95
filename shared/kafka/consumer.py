"""The one consumer runtime every service uses.

Batch fetch; decode each record (a record that cannot be decoded goes to `<topic>.dlq`
with the reason); hand the decoded batch to the service's `process`; then make the
outputs, the dead letters and the consumed offsets durable together:

- transactional mode: one Kafka transaction holds the outputs, the dead letters and the
  offsets (`send_offsets_to_transaction`), so consume-process-produce is exactly-once;
- durable mode: `process` has made its work durable itself (a database commit); outputs
  and dead letters are acknowledged by Kafka, then offsets are committed. A crash before
  the commit replays the batch, which `process` must absorb idempotently.

A transient failure (broker or database away) rewinds the batch and retries with backoff;
a record that fails on its own is parked on the dead-letter topic with the error.

A hot stream can hand the runtime whole batches instead (`decode_batch`, `process_batch`):
the batch decoder returns the records it decoded with their events as two parallel lists plus
the records it refused with their reasons, and the batch process receives the two lists, so
no per-record wrapper is built. The semantics are the same.

A stateful `process` (one that keeps in-memory state derived from the records) stages its
changes and uses the optional hooks: `on_committed` after a batch is durable, `on_rewound`
when a batch is rewound for a retry (its staged changes must be dropped), `on_assigned` and
`on_revoked` on a rebalance (revocation waits for the batch in flight to be committed).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, Generic, NamedTuple, TypeAlias, TypeVar

from aiokafka import AIOKafkaConsumer, AIOKafkaProducer, ConsumerRebalanceListener
from aiokafka.errors import KafkaError
from aiokafka.structs import ConsumerRecord, TopicPartition

from shared.background import pause
from shared.clock import Clock, SystemClock
from shared.errors import DecodeError, is_transient
from shared.kafka.dlq import DeadLetter, dead_letter
from shared.kafka.producer import needs_new_producer, start_producer
from shared.observability.metrics import consumer_metrics
from shared.observability.tracing import trace_id_of, traceparent_of
from shared.settings import Settings
from shared.topics import dlq

log = logging.getLogger(__name__)

T = TypeVar("T")
Record: TypeAlias = ConsumerRecord[bytes, bytes]


class Incoming(NamedTuple, Generic[T]):
    """A decoded event together with the record it came from (a tuple: one is built per
    consumed record, so it must be cheap)."""

    record: Record
    event: T


@dataclass(frozen=True)
class Outgoing:
    """A record to produce as part of processing a batch."""

    topic: str
    value: bytes | None
    key: bytes | None = None
    headers: Sequence[tuple[str, bytes]] = ()
    partition: int | None = None
    """An explicit partition (a changelog co-partitioned with its input); None: by key."""


class Decoded(NamedTuple, Generic[T]):
    """What a batch decoder returns: the records it decoded and their events (parallel lists,
    in consumed order), and the records it refused, each with the dead letter's reason."""

    records: list[Record]
    events: list[T]
    refused: list[tuple[Record, str]]


Decode = Callable[[Record], T]
Process = Callable[[list[Incoming[T]]], Awaitable[Sequence[Outgoing]]]
BatchDecode = Callable[[list[Record]], Decoded[T]]
BatchProcess = Callable[[list[Record], list[T]], Awaitable[Sequence[Outgoing]]]
Hook = Callable[[], None]
PartitionsHook = Callable[[set[TopicPartition]], None]


class _WaitForBatch(ConsumerRebalanceListener):  # type: ignore[misc]
    """Holds a rebalance until the batch in flight is committed, so no partition changes hands
    between processing and commit."""

    def __init__(
        self,
        lock: asyncio.Lock,
        on_assigned: PartitionsHook | None = None,
        on_revoked: PartitionsHook | None = None,
    ) -> None:
        self._lock = lock
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked

    async def on_partitions_revoked(self, revoked: set[TopicPartition]) -> None:
        async with self._lock:
            if self._on_revoked is not None:
                self._on_revoked(set(revoked))

    async def on_partitions_assigned(self, assigned: set[TopicPartition]) -> None:
        if self._on_assigned is not None:
            self._on_assigned(set(assigned))


class ConsumerRuntime(Generic[T]):
    """Runs one consumer group member until `stop()`; see the module docstring for semantics."""

    def __init__(
        self,
        *,
        service: str,
        consumer: AIOKafkaConsumer,
        producer: AIOKafkaProducer,
        topics: Sequence[str],
        group_id: str,
        decode: Decode[T] | None = None,
        process: Process[T] | None = None,
        decode_batch: BatchDecode[T] | None = None,
        process_batch: BatchProcess[T] | None = None,
        transactional: bool = False,
        batch_max: int = 500,
        poll_ms: int = 200,
        clock: Clock | None = None,
        max_backoff_s: float = 5.0,
        on_committed: Hook | None = None,
        on_rewound: Hook | None = None,
        on_assigned: PartitionsHook | None = None,
        on_revoked: PartitionsHook | None = None,
        log_records: bool = False,
        producer_factory: Callable[[], AIOKafkaProducer] | None = None,
    ) -> None:
        self._service = service
        self._consumer = consumer
        self._producer = producer
        self._producer_factory = producer_factory
        """Builds a replacement when a broker lost mid-commit killed the producer (aiokafka's
        sender then fails every later call); without it such an error ends `run`."""
        self._replaced = False
        self._topics = list(topics)
        self._group_id = group_id
        if (decode is None) == (decode_batch is None) or (process is None) == (
            process_batch is None
        ):
            raise TypeError(
                "give one of decode and decode_batch, and one of process and process_batch"
            )
        self._decode = decode_batch or _decoding_each(decode)  # type: ignore[arg-type]
        self._process = process_batch or _processing_items(process)  # type: ignore[arg-type]
        self._transactional = transactional
        self._batch_max = batch_max
        self._poll_ms = poll_ms
        self._clock = clock or SystemClock()
        self._max_backoff_s = max_backoff_s
        self._on_committed = on_committed
        self._on_rewound = on_rewound
        self._on_assigned = on_assigned
        self._on_revoked = on_revoked
        self._log_records = log_records
        self._stopping = asyncio.Event()
        self._batch_lock = asyncio.Lock()
        self._committed: dict[TopicPartition, int] = {}
        self._metrics = consumer_metrics(service)
        for topic in self._topics:  # zeros from the start, so dashboards and alerts see the series
            self._metrics.consumed.labels(topic)
            self._metrics.dead_lettered.labels(dlq(topic))
        self.healthy = True
        self.last_error: str | None = None

    def subscribe(self) -> None:
        """Join the group; call once after the consumer has started."""
        self._consumer.subscribe(
            self._topics,
            listener=_WaitForBatch(self._batch_lock, self._on_assigned, self._on_revoked),
        )

    def stop(self) -> None:
        """Finish the batch in flight, commit it, and return from `run`."""
        self._stopping.set()

    async def run(self) -> None:
        """Consume until stopped; never returns on a bad message, only on `stop()` or fencing."""
        backoff = 0.1
        while not self._stopping.is_set():
            batch = await self._consumer.getmany(
                timeout_ms=self._poll_ms, max_records=self._batch_max
            )
            if not batch:
                if not self._transactional:
                    await self._commit_idle_positions()
                self._report_lag()
                continue
            records = [record for part in batch.values() for record in part]
            started = time.perf_counter()
            try:
                async with self._batch_lock:
                    await self._handle(batch, records)
            except Exception as error:
                dead_producer = self._producer_factory is not None and needs_new_producer(
                    error, self._producer
                )
                if not (is_transient(error) or dead_producer):
                    raise
                self.healthy = False
                self.last_error = f"{type(error).__name__}: {error}"
                log.warning("batch failed, retrying", extra={"error": self.last_error})
                self._rewind(batch)
                if self._on_rewound is not None:
                    self._on_rewound()
                await pause(self._stopping, backoff)
                backoff = min(backoff * 2, self._max_backoff_s)
                if dead_producer:
                    await self._replace_producer()
                continue
            backoff = 0.1
            self.healthy = True
            self._metrics.batch_seconds.observe(time.perf_counter() - started)
            self._report_lag()

    async def _replace_producer(self) -> None:
        """Stop the dead producer and start a new one (a transactional one fences the old id,
        so a transaction left open is aborted); retried until it starts or `stop()`."""
        assert self._producer_factory is not None
        with contextlib.suppress(Exception):
            await self._producer.stop()
        producer = await start_producer(
            self._producer_factory, stopping=self._stopping, max_backoff_s=self._max_backoff_s
        )
        if producer is not None:
            self._producer, self._replaced = producer, True
            log.warning("producer replaced after a lost broker connection")

    async def close(self) -> None:
        """Stop a producer this runtime built to replace the one it was given (that one is
        its owner's to stop)."""
        if self._replaced:
            await self._producer.stop()

    async def _commit_idle_positions(self) -> None:
        """With nothing in flight, commit positions that moved past records we never see (the
        commit markers of transactional producers), so a drained group shows no lag."""
        moved: dict[TopicPartition, int] = {}
        try:
            for tp in self._consumer.assignment():
                position = await self._consumer.position(tp)
                if position > self._committed.get(tp, -1):
                    moved[tp] = position
            if not moved:
                return
            await self._consumer.commit(moved)
        except (KafkaError, OSError):
            return  # a rebalance or a broker away: the next idle poll tries again
        self._committed.update(moved)

    async def _handle(
        self, batch: dict[TopicPartition, list[Record]], records: list[Record]
    ) -> None:
        decoded = self._decode(records)
        letters = [self._dead(record, reason) for record, reason in decoded.refused]
        outputs = await self._process_isolating_failures(decoded.records, decoded.events, letters)
        offsets = _next_offsets(batch)
        if self._transactional:
            await self._commit_transaction(outputs, letters, offsets)
        else:
            await self._commit_durable(outputs, letters, offsets)
        if self._on_committed is not None:
            self._on_committed()
        self._committed.update(offsets)
        self._count(batch, letters)
        if self._log_records:
            for record, event in zip(decoded.records, decoded.events, strict=True):
                _log_processed(record, event)

    async def _process_isolating_failures(
        self, records: list[Record], events: list[T], letters: list[DeadLetter]
    ) -> list[Outgoing]:
        if not records:
            return []
        try:
            return list(await self._process(records, events))
        except Exception as error:
            if is_transient(error):
                raise
            if len(records) == 1:
                letters.append(self._dead(records[0], _processing_reason(error)))
                return []
            log.warning("batch processing failed; retrying record by record")
        outputs: list[Outgoing] = []
        for record, event in zip(records, events, strict=True):
            try:
                outputs.extend(await self._process([record], [event]))
            except Exception as error:
                if is_transient(error):
                    raise
                letters.append(self._dead(record, _processing_reason(error)))
        return outputs

    async def _commit_transaction(
        self,
        outputs: list[Outgoing],
        letters: list[DeadLetter],
        offsets: dict[TopicPartition, int],
    ) -> None:
        async with self._producer.transaction():
            futures = await send_outputs(self._producer, outputs)
            for letter in letters:
                futures.append(
                    await self._producer.send(
                        letter.topic, letter.value, key=letter.key, headers=letter.headers
                    )
                )
            # every record must be acknowledged before the commit: a batch the broker refused
            # (e.g. out of order after a broker restart lost its tail) raises here, and the
            # transaction aborts instead of committing without it (seen in make chaos)
            if futures:
                await asyncio.gather(*futures)
            await self._producer.send_offsets_to_transaction(offsets, self._group_id)

    async def _commit_durable(
        self,
        outputs: list[Outgoing],
        letters: list[DeadLetter],
        offsets: dict[TopicPartition, int],
    ) -> None:
        futures = await send_outputs(self._producer, outputs)
        futures += [
            await self._producer.send(
                letter.topic, letter.value, key=letter.key, headers=letter.headers
            )
            for letter in letters
        ]
        if futures:
            await asyncio.gather(*futures)
        await self._consumer.commit(offsets)

    def _dead(self, record: Record, reason: str) -> DeadLetter:
        log.warning(
            "dead-lettered",
            extra={
                "topic": record.topic,
                "partition": record.partition,
                "offset": record.offset,
                "reason": reason[:300],
            },
        )
        return dead_letter(record, reason=reason, service=self._service, now=self._clock.now())

    def _rewind(self, batch: dict[TopicPartition, list[Record]]) -> None:
        for tp, part in batch.items():
            if part and tp in self._consumer.assignment():
                self._consumer.seek(tp, part[0].offset)

    def _count(self, batch: dict[TopicPartition, list[Record]], letters: list[DeadLetter]) -> None:
        consumed: dict[str, int] = {}
        for tp, part in batch.items():
            consumed[tp.topic] = consumed.get(tp.topic, 0) + len(part)
        for topic, n in consumed.items():
            self._metrics.consumed.labels(topic).inc(n)
        dead: dict[str, int] = {}
        for letter in letters:
            dead[letter.topic] = dead.get(letter.topic, 0) + 1
        for topic, n in dead.items():
            self._metrics.dead_lettered.labels(topic).inc(n)

    def _report_lag(self) -> None:
        for tp in self._consumer.assignment():
            highwater = self._consumer.highwater(tp)
            position = self._committed.get(tp)
            if highwater is not None and position is not None:
                self._metrics.lag.labels(tp.topic, str(tp.partition)).set(
                    max(0, highwater - position)
                )


async def send_outputs(
    producer: AIOKafkaProducer, outputs: Sequence[Outgoing]
) -> list[asyncio.Future[Any]]:
    """Send outputs; those with an explicit partition go as whole record batches per partition
    (far cheaper per record than `send`), the others one by one. Returns the delivery futures."""
    futures: list[asyncio.Future[Any]] = []
    batches: dict[tuple[str, int], Any] = {}
    for out in outputs:
        if out.partition is None:
            futures.append(
                await producer.send(
                    out.topic, out.value, key=out.key, headers=list(out.headers) or None
                )
            )
            continue
        where = (out.topic, out.partition)
        batch = batches.get(where)
        if batch is None:
            batch = batches[where] = producer.create_batch()
        headers = list(out.headers)
        if batch.append(key=out.key, value=out.value, timestamp=None, headers=headers) is None:
            futures.append(await producer.send_batch(batch, out.topic, partition=out.partition))
            batch = batches[where] = producer.create_batch()
            batch.append(key=out.key, value=out.value, timestamp=None, headers=headers)
    for (topic, partition), batch in batches.items():
        if batch.record_count():
            futures.append(await producer.send_batch(batch, topic, partition=partition))
    return futures


def _next_offsets(batch: dict[TopicPartition, list[Record]]) -> dict[TopicPartition, int]:
    """The offset after each partition's last record (a fetch lists them in offset order)."""
    return {tp: part[-1].offset + 1 for tp, part in batch.items() if part}


def _decoding_each(decode: Decode[T]) -> BatchDecode[T]:
    """A batch decoder from a record decoder (DecodeError refuses a record)."""

    def decode_batch(records: list[Record]) -> Decoded[T]:
        decoded: Decoded[T] = Decoded([], [], [])
        for record in records:
            try:
                event = decode(record)
            except DecodeError as error:
                decoded.refused.append((record, error.reason))
                continue
            except Exception as error:  # a decoder bug must not stop the stream: park the record
                log.exception("decoder raised %s; record dead-lettered", type(error).__name__)
                decoded.refused.append((record, f"undecodable: {type(error).__name__}: {error}"))
                continue
            decoded.records.append(record)
            decoded.events.append(event)
        return decoded

    return decode_batch


def _processing_items(process: Process[T]) -> BatchProcess[T]:
    """A batch process from a process of `Incoming` items."""

    async def process_batch(records: list[Record], events: list[T]) -> Sequence[Outgoing]:
        return await process([Incoming(r, e) for r, e in zip(records, events, strict=True)])

    return process_batch


_EVENT_IDS = ("decision_id", "task_id", "verdict_id", "dispute_id", "signal_id", "escalation_id")


def _log_processed(record: Record, event: object) -> None:
    """One line per committed event, with its ids and the trace it belongs to."""
    extra: dict[str, object] = {"topic": record.topic, "offset": record.offset}
    trace_id = trace_id_of(traceparent_of(record.headers))
    if trace_id is not None:
        extra["trace_id"] = trace_id
    for name in _EVENT_IDS:
        value = getattr(event, name, None)
        if value is not None:
            extra[name] = value
    snapshot = getattr(event, "decision", None)
    if "decision_id" not in extra and snapshot is not None:
        extra["decision_id"] = getattr(snapshot, "decision_id", None)
    log.info("event processed", extra=extra)


def _processing_reason(error: BaseException) -> str:
    return f"processing failed: {type(error).__name__}: {error}"


def build_consumer(settings: Settings, *, group_id: str, client_id: str) -> AIOKafkaConsumer:
    """An unstarted group consumer: manual commits, read_committed, earliest on a new group."""
    return AIOKafkaConsumer(
        bootstrap_servers=settings.kafka_bootstrap,
        group_id=group_id,
        client_id=client_id,
        enable_auto_commit=False,
        auto_offset_reset="earliest",
        isolation_level="read_committed",
        max_partition_fetch_bytes=4 * 1024 * 1024,
        session_timeout_ms=settings.consumer_session_timeout_ms,
        heartbeat_interval_ms=min(3_000, settings.consumer_session_timeout_ms // 3),
        max_poll_interval_ms=300_000,
    )
