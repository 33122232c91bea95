"""Kafka helpers for tests: produce raw records, read a whole topic as committed."""

from __future__ import annotations

import asyncio

from aiokafka import AIOKafkaProducer

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


__all__ = ["produce", "read_all"]
