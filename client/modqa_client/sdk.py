"""The SDK: one client object (sync or async) configured with the service addresses and a token.

    with ModqaClient(token) as client:
        task = client.claim_task()

Every call retries connection errors and 503 with backoff; every write carries an
idempotency key; refusals raise ModqaError with the server's message.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from modqa_client import api, models
from modqa_client.config import DEFAULT_URLS
from modqa_client.transport import (
    Call,
    ModqaError,
    RetryPolicy,
    ServiceUnavailable,
    run_async,
    run_sync,
)

T = TypeVar("T")

__all__ = ["AsyncModqaClient", "ModqaClient", "ModqaError", "ServiceUnavailable", "ServiceUrls"]


@dataclass(frozen=True)
class ServiceUrls:
    """Where each service answers."""

    sampler: str = DEFAULT_URLS["sampler"]
    audit: str = DEFAULT_URLS["audit"]
    escalation: str = DEFAULT_URLS["escalation"]
    metrics: str = DEFAULT_URLS["metrics"]

    def of(self, service: str) -> str:
        return str(getattr(self, service)).rstrip("/")


class ModqaClient:
    """Synchronous client; use as a context manager or call `close()`."""

    def __init__(
        self,
        token: str | None,
        urls: ServiceUrls | None = None,
        timeout_s: float = 15.0,
        retry: RetryPolicy | None = None,
        transport: httpx.BaseTransport | None = None,
    ) -> None:
        self.urls = urls or ServiceUrls()
        self.retry = retry or RetryPolicy()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(headers=headers, timeout=timeout_s, transport=transport)

    def call(self, call: Call[T]) -> T:
        """Perform any call of `modqa_client.api`."""
        return run_sync(self._http, self.urls.of(call.service), call, self.retry)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ModqaClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def ingest_decisions(self, decisions: list[dict[str, Any]]) -> dict[str, Any]:
        """Send up to 1,000 decisions; the answer lists the refused ones."""
        return dict(self.call(api.ingest_decisions(decisions)))

    def quality(self, **params: Any) -> dict[str, Any]:
        """Accuracy and error rates per group, with intervals."""
        return dict(self.call(api.quality(**params)))

    def claim_task(self) -> models.Task | None:
        """Lease the next task for the caller (None when there is none now)."""
        return self.call(api.claim_task())

    def submit_verdict(
        self, task_id: str, verdict: dict[str, Any], key: str | None = None
    ) -> models.Verdict:
        """Record a verdict once; pass the same `key` to retry it safely later."""
        return self.call(api.submit_verdict(task_id, verdict, key or str(uuid.uuid4())))

    def release_task(self, task_id: str) -> None:
        """Hand a leased task back to the pool."""
        self.call(api.release_task(task_id))


class AsyncModqaClient:
    """Asynchronous client with the same calls; use with `async with`."""

    def __init__(
        self,
        token: str | None,
        urls: ServiceUrls | None = None,
        timeout_s: float = 15.0,
        retry: RetryPolicy | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self.urls = urls or ServiceUrls()
        self.retry = retry or RetryPolicy()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(headers=headers, timeout=timeout_s, transport=transport)

    async def call(self, call: Call[T]) -> T:
        """Perform any call of `modqa_client.api`."""
        return await run_async(self._http, self.urls.of(call.service), call, self.retry)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncModqaClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()

    async def ingest_decisions(self, decisions: list[dict[str, Any]]) -> dict[str, Any]:
        """Send up to 1,000 decisions; the answer lists the refused ones."""
        return dict(await self.call(api.ingest_decisions(decisions)))

    async def claim_task(self) -> models.Task | None:
        """Lease the next task for the caller (None when there is none now)."""
        return await self.call(api.claim_task())

    async def submit_verdict(
        self, task_id: str, verdict: dict[str, Any], key: str | None = None
    ) -> models.Verdict:
        """Record a verdict once; pass the same `key` to retry it safely later."""
        return await self.call(api.submit_verdict(task_id, verdict, key or str(uuid.uuid4())))

    async def release_task(self, task_id: str) -> None:
        """Hand a leased task back to the pool."""
        await self.call(api.release_task(task_id))
