"""Kafka helpers for tests: produce raw records, read a whole topic as committed."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from tools.infra.topics_read import read_all


async def produce(
    bootstrap: str,
    topic: str,
    records: list[tuple[bytes | None, bytes]],
    headers: list[tuple[str, bytes]] | None = None,
) -> None:
    """Send (key, value) records with acks=all and wait for all of them."""
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=10,
        max_request_size=4 * 1024 * 1024,
    )
    await producer.start()
    try:
        futures = [
            await producer.send(topic, value, key=key, headers=headers) for key, value in records
        ]
        await asyncio.gather(*futures)
    finally:
        await producer.stop()


def as_aiokafkas_sender_raises(cause: Exception) -> KafkaError:
    """What aiokafka raises once its sender routine died of `cause` mid-commit: KafkaError(repr)
    from the cause, then "Unexpected error during batch delivery" from that (seen in make chaos
    when a broker restarted)."""
    try:
        try:
            raise KafkaError(repr(cause)) from cause
        except KafkaError as inner:
            raise KafkaError("Unexpected error during batch delivery") from inner
    except KafkaError as outer:
        return outer


__all__ = ["as_aiokafkas_sender_raises", "produce", "read_all"]
