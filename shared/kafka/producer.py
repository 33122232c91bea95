"""Producer factories: idempotent (acks=all) by default, transactional on request; starting
one while Kafka is away, and telling when a producer is dead and must be replaced."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import math
import time
from collections.abc import Callable

from aiokafka import AIOKafkaProducer
from aiokafka.errors import ProducerFenced

from shared.background import pause
from shared.errors import is_transient, lost_broker_connection
from shared.settings import Settings

log = logging.getLogger(__name__)


def build_producer(
    settings: Settings,
    *,
    client_id: str,
    transactional_id: str | None = None,
    linger_ms: int = 5,
) -> AIOKafkaProducer:
    """An unstarted producer that never duplicates on retry and waits for all replicas."""
    return AIOKafkaProducer(
        bootstrap_servers=settings.kafka_bootstrap,
        client_id=client_id,
        enable_idempotence=True,
        acks="all",
        linger_ms=linger_ms,
        max_batch_size=256 * 1024,
        max_request_size=2 * 1024 * 1024,
        transactional_id=transactional_id,
        transaction_timeout_ms=30_000,
        request_timeout_ms=30_000,
    )


async def broker_reachable(producer: AIOKafkaProducer) -> None:
    """Raise unless the broker answers a metadata request now."""
    await producer.client.fetch_all_metadata()


async def start_producer(
    factory: Callable[[], AIOKafkaProducer],
    *,
    stopping: asyncio.Event,
    deadline: float = math.inf,
    max_backoff_s: float = 5.0,
) -> AIOKafkaProducer | None:
    """A started producer from `factory`, waiting for an unreachable Kafka with backoff: a new
    producer each attempt (one whose start failed cannot be started again). Raises the error
    once `deadline` (monotonic seconds) would pass, or at once if it is not Kafka being away;
    None if `stopping` is set first."""
    backoff = 0.5
    while not stopping.is_set():
        producer = factory()
        try:
            await producer.start()
            return producer
        except Exception as error:
            with contextlib.suppress(Exception):
                await producer.stop()
            lost = is_transient(error) or lost_broker_connection(error)
            if not lost or time.monotonic() + backoff > deadline:
                raise
            log.warning(
                "Kafka unreachable; starting the producer again",
                extra={"error": f"{type(error).__name__}: {error}", "retry_in_s": backoff},
            )
            await pause(stopping, backoff)
            backoff = min(backoff * 2, max_backoff_s)
    return None


def needs_new_producer(error: BaseException, producer: AIOKafkaProducer | None) -> bool:
    """True when only a new producer can go on after `error`: the broker was lost while it
    started or committed (however aiokafka wrapped that), or its sender routine has ended.
    Never for a fenced producer: another instance owns the transactional id."""
    if isinstance(error, ProducerFenced):
        return False
    return lost_broker_connection(error) or sender_died(producer)


def sender_died(producer: AIOKafkaProducer | None) -> bool:
    """True when the producer's sender routine has ended: aiokafka then fails every later
    call (and the records in flight, with a copy of its error that has lost the cause), so
    only a new producer can go on. A lost broker connection mid-commit does this."""
    sender = getattr(producer, "_sender", None)
    task = getattr(sender, "sender_task", None)
    return task is not None and task.done()
