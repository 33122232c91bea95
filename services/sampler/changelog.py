"""Restoring the sampler's per-partition state from its changelog topic.

Partition k of `modqa.sampler.state` holds the state of partition k of the decisions topic,
written in the same Kafka transactions as the tasks and the consumed offsets, so reading it
(read_committed) to its end gives exactly the state the committed offsets correspond to.
State is restored when a partition is assigned, and again for every loaded partition after a
batch was rewound (a commit whose outcome was unknown may have gone through).
"""

from __future__ import annotations

import logging
import time

from aiokafka import AIOKafkaConsumer
from aiokafka.structs import TopicPartition

from services.sampler.domain.core import ChangeValue, SamplerCore
from services.sampler.metrics import STATE_MODERATORS
from services.sampler.wire import decode_change
from shared.settings import Settings

log = logging.getLogger(__name__)


class ChangelogRestorer:
    """Tracks which partitions need their state restored and restores them on demand."""

    def __init__(self, settings: Settings, *, topic: str, core: SamplerCore) -> None:
        self._topic = topic
        self._core = core
        self._pending: set[int] = set()
        self._consumer = AIOKafkaConsumer(
            bootstrap_servers=settings.kafka_bootstrap,
            client_id=f"{settings.service_name}-restore",
            group_id=None,
            enable_auto_commit=False,
            isolation_level="read_committed",
            auto_offset_reset="earliest",
            max_partition_fetch_bytes=8 * 1024 * 1024,
        )

    async def start(self) -> None:
        await self._consumer.start()

    async def stop(self) -> None:
        await self._consumer.stop()

    def assigned(self, partitions: set[TopicPartition]) -> None:
        """Rebalance hook: these partitions are ours now; restore them before sampling."""
        for tp in partitions:
            self._core.drop(tp.partition)
            self._pending.add(tp.partition)

    def revoked(self, partitions: set[TopicPartition]) -> None:
        """Rebalance hook (after the batch in flight committed): forget these partitions."""
        for tp in partitions:
            self._core.drop(tp.partition)
            self._pending.discard(tp.partition)

    def rewound(self, *, reread: bool = True) -> None:
        """Runtime hook: the batch will be retried; undo its changes and, when its commit may
        have gone through (`reread`), read every loaded partition's state again."""
        self._core.rewind()
        if reread:
            self._pending |= self._core.partitions()

    def committed(self) -> None:
        """Runtime hook: the batch's transaction committed."""
        self._core.commit()
        STATE_MODERATORS.set(self._core.size())

    async def ensure(self, partitions: set[int]) -> None:
        """Restore whichever of these partitions is not loaded or must be re-read (with every
        other pending partition, so one pass over the changelog serves a whole assignment)."""
        loaded = self._core.partitions()
        needed = {p for p in partitions if p in self._pending or p not in loaded}
        if needed:
            await self.restore(needed | self._pending)

    async def restore(self, partitions: set[int], *, timeout_s: float = 120.0) -> None:
        """Read the changelog partitions to their end and install the state they hold."""
        started = time.monotonic()
        tps = [TopicPartition(self._topic, p) for p in sorted(partitions)]
        self._consumer.assign(tps)
        await self._consumer.seek_to_beginning(*tps)
        ends = await self._consumer.end_offsets(tps)
        entries: dict[int, dict[str, ChangeValue]] = {p: {} for p in partitions}
        records = 0
        while True:
            positions = {tp: await self._consumer.position(tp) for tp in tps}
            if all(positions[tp] >= ends[tp] for tp in tps):
                break
            if time.monotonic() - started > timeout_s:
                raise TimeoutError(f"restoring {self._topic} stalled at {positions} of {ends}")
            batch = await self._consumer.getmany(timeout_ms=500, max_records=10_000)
            for tp, part in batch.items():
                mine = entries[tp.partition]
                for record in part:
                    records += 1
                    mine[(record.key or b"").decode()] = decode_change(record.value)
        for partition in partitions:
            self._core.load(partition, entries[partition])
            self._pending.discard(partition)
        STATE_MODERATORS.set(self._core.size())
        log.info(
            "sampler state restored",
            extra={
                "partitions": sorted(partitions),
                "records": records,
                "moderators": self._core.size(),
                "task_ids": self._core.remembered(),
                "seconds": round(time.monotonic() - started, 3),
            },
        )
