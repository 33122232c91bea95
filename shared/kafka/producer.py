"""Producer factories: idempotent (acks=all) by default, transactional on request."""

from __future__ import annotations

from aiokafka import AIOKafkaProducer

from shared.settings import Settings


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


def sender_died(producer: AIOKafkaProducer | None) -> bool:
    """True when the producer's sender routine has ended: aiokafka then fails every later
    call (and the records in flight, with a copy of its error that has lost the cause), so
    only a new producer can go on. A lost broker connection mid-commit does this."""
    sender = getattr(producer, "_sender", None)
    task = getattr(sender, "sender_task", None)
    return task is not None and task.done()
