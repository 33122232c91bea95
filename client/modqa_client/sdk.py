"""The SDK: one client object (sync or async) configured with the service addresses and a token.

    with ModqaClient(token) as client:
        task = client.claim_task()

Every call retries connection errors and 503 with backoff; every write carries an
idempotency key; refusals raise ModqaError with the server's message.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, TypeVar

import httpx

from modqa_client import api
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
    ) -> None:
        self.urls = urls or ServiceUrls()
        self.retry = retry or RetryPolicy()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.Client(headers=headers, timeout=timeout_s)

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
        return dict(self.call(api.ingest_decisions(decisions)))

    def quality(self, **params: Any) -> dict[str, Any]:
        return dict(self.call(api.quality(**params)))


class AsyncModqaClient:
    """Asynchronous client with the same calls; use with `async with`."""

    def __init__(
        self,
        token: str | None,
        urls: ServiceUrls | None = None,
        timeout_s: float = 15.0,
        retry: RetryPolicy | None = None,
    ) -> None:
        self.urls = urls or ServiceUrls()
        self.retry = retry or RetryPolicy()
        headers = {"Authorization": f"Bearer {token}"} if token else {}
        self._http = httpx.AsyncClient(headers=headers, timeout=timeout_s)

    async def call(self, call: Call[T]) -> T:
        """Perform any call of `modqa_client.api`."""
        return await run_async(self._http, self.urls.of(call.service), call, self.retry)

    async def aclose(self) -> None:
        await self._http.aclose()

    async def __aenter__(self) -> AsyncModqaClient:
        return self

    async def __aexit__(self, *_: object) -> None:
        await self.aclose()
