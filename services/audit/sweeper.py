"""The lease sweeper: takes back lapsed leases (their tasks return to the pool) and refreshes
the backlog gauges, every `MODQA_AUDIT_SWEEP_SECONDS`. Safe with several replicas: each
sweep locks the tasks it touches and skips those another one holds."""

from __future__ import annotations

import asyncio
import logging
from collections import Counter

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit import handlers, queries
from services.audit.metrics import DEFAULT_POOL, LEASES_ENDED, OPEN_DISPUTES, queue_sizes
from services.audit.repository import OPEN_TASK_STATUSES
from shared.background import pause
from shared.clock import Clock
from shared.errors import is_transient

log = logging.getLogger(__name__)

BATCH = 500


class LeaseSweeper:
    """Runs until `stop()`; a transient failure (database away) is logged and retried."""

    def __init__(
        self, *, sessions: async_sessionmaker[AsyncSession], clock: Clock, interval_s: float
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._interval_s = interval_s
        self._stopping = asyncio.Event()
        # the default pool's series exist from the start (zero), others once seen
        self._queue_series = {(DEFAULT_POOL, status) for status in OPEN_TASK_STATUSES}

    def stop(self) -> None:
        self._stopping.set()

    async def run(self) -> None:
        while not self._stopping.is_set():
            try:
                await self.sweep_once()
            except Exception as error:
                if not is_transient(error):
                    raise
                log.warning(
                    "lease sweep failed", extra={"error": f"{type(error).__name__}: {error}"}
                )
            await pause(self._stopping, self._interval_s)

    async def sweep_once(self) -> int:
        """Expire every lapsed lease (in batches) and refresh the gauges; returns how many."""
        per_pool: Counter[str] = Counter()
        while True:
            expired = await handlers.expire_leases(
                sessions=self._sessions, now=self._clock.now(), limit=BATCH
            )
            per_pool.update(expired)
            if expired.total() < BATCH:
                break
        total = per_pool.total()
        for pool, count in per_pool.items():
            LEASES_ENDED.labels(pool, "expired").inc(count)
        if total:
            log.info("leases expired", extra={"count": total, "pools": dict(per_pool)})
        tasks, (open_disputes, overdue) = await queries.backlog(
            sessions=self._sessions, now=self._clock.now()
        )
        queue_sizes(tasks, known=self._queue_series)
        OPEN_DISPUTES.labels("false").set(open_disputes - overdue)
        OPEN_DISPUTES.labels("true").set(overdue)
        return total
