"""Topic administration: create the deployment's topics with their partitions, idempotently."""

from __future__ import annotations

import asyncio
import contextlib
import time

from aiokafka.admin import AIOKafkaAdminClient, NewTopic
from aiokafka.errors import KafkaConnectionError, TopicAlreadyExistsError

from shared.topics import Topics

_COMPACT = {"cleanup.policy": "compact", "segment.ms": "600000", "min.cleanable.dirty.ratio": "0.1"}


async def ensure_topics(bootstrap: str, topics: Topics, *, timeout_s: float = 60.0) -> list[str]:
    """Create every topic of the deployment that does not exist yet; return the created ones."""
    admin = AIOKafkaAdminClient(bootstrap_servers=bootstrap, request_timeout_ms=10_000)
    await _start_with_deadline(admin, timeout_s)
    try:
        existing = set(await admin.list_topics())
        wanted = topics.all_topics()
        compacted = topics.compacted()
        new = [
            NewTopic(
                name,
                num_partitions=partitions,
                replication_factor=1,
                topic_configs=_COMPACT if name in compacted else {},
            )
            for name, partitions in wanted.items()
            if name not in existing
        ]
        if new:
            with contextlib.suppress(TopicAlreadyExistsError):  # a concurrent creator won
                await admin.create_topics(new, timeout_ms=30_000)
        return [topic.name for topic in new]
    finally:
        await admin.close()


async def _start_with_deadline(admin: AIOKafkaAdminClient, timeout_s: float) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        try:
            await admin.start()
            return
        except KafkaConnectionError:
            if time.monotonic() > deadline:
                raise
            await asyncio.sleep(0.5)
