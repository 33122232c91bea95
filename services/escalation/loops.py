"""The escalation service's own background loops: the timer tick and the webhook dispatcher.

Both run beside the consumer, never inside it: a slow or failing webhook receiver holds one
dispatcher worker at most `webhook_timeout_seconds`, and nothing the consumer waits for.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
import time

import httpx
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.escalation import timers, webhook_handlers
from services.escalation.domain.webhooks import DeliveryStatus, RetryPolicy, headers, succeeded
from services.escalation.metrics import WEBHOOK_ATTEMPTS
from services.escalation.repository.webhooks import DueDelivery
from shared.background import pause
from shared.clock import Clock
from shared.errors import is_transient
from shared.settings import Settings
from shared.topics import Topics

log = logging.getLogger(__name__)

_RESULT = {
    DeliveryStatus.DELIVERED: "delivered",
    DeliveryStatus.PENDING: "failed",
    DeliveryStatus.PARKED: "parked",
}


class Ticker:
    """Every `escalation_tick_seconds`: SLA breaches, overdue disputes, targeting, gauges."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        topics: Topics,
        clock: Clock,
        every_s: float,
    ) -> None:
        self._sessions = sessions
        self._topics = topics
        self._clock = clock
        self._every_s = every_s
        self._stopping = asyncio.Event()
        self.rounds = 0

    def stop(self) -> None:
        """Finish the round in flight and return from `run`."""
        self._stopping.set()

    async def run(self) -> None:
        """Tick until stopped."""
        while not self._stopping.is_set():
            await self.tick()
            await pause(self._stopping, self._every_s)

    async def tick(self) -> None:
        """One round; a failing step is logged and retried next round, the others still run."""
        for step in (
            timers.detect_breaches,
            timers.open_overdue_dispute_cases,
            timers.renew_targeting,
        ):
            try:
                while not self._stopping.is_set():
                    done = await step(
                        sessions=self._sessions, topics=self._topics, now=self._clock.now()
                    )
                    if done < timers.BATCH:
                        break  # a full batch means more may be due right now
            except Exception as error:
                self._log_failure(step.__name__, error)
        try:
            await timers.refresh_gauges(sessions=self._sessions, now=self._clock.now())
        except Exception as error:
            self._log_failure("refresh_gauges", error)
        self.rounds += 1

    @staticmethod
    def _log_failure(step: str, error: Exception) -> None:
        if is_transient(error):
            log.warning("timer step paused", extra={"step": step, "error": repr(error)})
        else:
            log.exception("timer step failed", extra={"step": step})


class WebhookDispatcher:
    """Workers that take due deliveries from the queue, sign and POST them, and record results."""

    def __init__(
        self,
        *,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: Settings,
    ) -> None:
        self._sessions = sessions
        self._clock = clock
        self._timeout_s = settings.webhook_timeout_seconds
        self._poll_s = settings.webhook_poll_ms / 1000
        self._workers = settings.webhook_concurrency
        self._policy = RetryPolicy(
            max_attempts=settings.webhook_max_attempts,
            base=dt.timedelta(seconds=settings.webhook_backoff_seconds),
            cap=dt.timedelta(seconds=settings.webhook_backoff_max_seconds),
        )
        self._lease = dt.timedelta(seconds=self._timeout_s + 30)
        self._stopping = asyncio.Event()

    def stop(self) -> None:
        """Finish the round in flight and return from `run`."""
        self._stopping.set()

    async def run(self) -> None:
        """Send due deliveries with N workers until stopped."""
        limits = httpx.Limits(max_connections=self._workers * 2)
        async with httpx.AsyncClient(
            timeout=self._timeout_s, limits=limits, follow_redirects=False
        ) as client:
            await asyncio.gather(*(self._work(client) for _ in range(self._workers)))

    async def _work(self, client: httpx.AsyncClient) -> None:
        backoff = self._poll_s
        while not self._stopping.is_set():
            try:
                delivered = await self.deliver_one(client)
                backoff = self._poll_s
            except Exception as error:
                if not is_transient(error):
                    log.exception("webhook worker failed; retrying")
                delivered = False
                backoff = min(backoff * 2, 5.0)
            if not delivered:
                await pause(self._stopping, backoff)

    async def deliver_one(self, client: httpx.AsyncClient) -> bool:
        """Attempt the next due delivery; False when none is due."""
        due = await webhook_handlers.claim_delivery(
            sessions=self._sessions, now=self._clock.now(), lease=self._lease
        )
        if due is None:
            return False
        status_code, error, took_ms = await self._send(client, due)
        status = await webhook_handlers.record_attempt(
            sessions=self._sessions,
            delivery=due,
            status_code=status_code,
            error=error,
            duration_ms=took_ms,
            policy=self._policy,
            succeeded=succeeded(status_code) and error is None,
            now=self._clock.now(),
        )
        WEBHOOK_ATTEMPTS.labels(_RESULT[status]).inc()
        return True

    async def _send(
        self, client: httpx.AsyncClient, due: DueDelivery
    ) -> tuple[int | None, str | None, float]:
        if not due.active or due.url is None or due.secret is None:
            return None, "subscription inactive or deleted", 0.0
        started = time.perf_counter()
        try:
            response = await client.post(
                due.url,
                content=due.body,
                headers=headers(
                    secret=due.secret,
                    timestamp=int(self._clock.now().timestamp()),
                    body=due.body,
                    key=due.event_key,
                    event_type=due.event_type,
                ),
            )
        except httpx.HTTPError as error:
            took = (time.perf_counter() - started) * 1000
            return None, f"{type(error).__name__}: {error}"[:500], took
        took = (time.perf_counter() - started) * 1000
        if succeeded(response.status_code):
            return response.status_code, None, took
        return response.status_code, f"HTTP {response.status_code}: {response.text}"[:500], took
