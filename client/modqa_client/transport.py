"""HTTP calls with retries: connection errors and 503 are retried with exponential backoff;
every write carries an idempotency key, so a retry never doubles a verdict."""

from __future__ import annotations

import asyncio
import random
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

import httpx

T = TypeVar("T")
RETRY_STATUSES = frozenset({502, 503, 504})


class ModqaError(Exception):
    """A request the service refused or could not serve; `message` is the server's own words."""

    def __init__(self, status: int, message: str, *, service: str = "") -> None:
        super().__init__(f"{service + ': ' if service else ''}{message} (HTTP {status})")
        self.status = status
        self.message = message
        self.service = service


class ServiceUnavailable(ModqaError):
    """The service could not be reached (or kept answering 503) after the retries."""


@dataclass(frozen=True)
class Call(Generic[T]):
    """One API call: where it goes, what it sends, how to read the answer."""

    method: str
    service: str
    path: str
    parse: Callable[[httpx.Response], T]
    params: dict[str, Any] | None = None
    json: Any = None
    content: bytes | None = None
    """A raw body (e.g. a YAML document) sent instead of `json`, with its Content-Type header."""
    write: bool = False
    idempotency_key: str | None = None
    headers: dict[str, str] = field(default_factory=dict)
    answers: frozenset[int] = frozenset()
    """Error statuses that are an answer to parse rather than a failure (e.g. 422 with per-item
    refusals from the decision ingest)."""


@dataclass(frozen=True)
class RetryPolicy:
    attempts: int = 5
    base_delay_s: float = 0.2
    max_delay_s: float = 5.0

    def delay(self, attempt: int) -> float:
        """Exponential backoff with full jitter."""
        return random.uniform(0, min(self.max_delay_s, self.base_delay_s * 2**attempt))


def request_headers(call: Call[Any]) -> dict[str, str]:
    """The call's headers, with an idempotency key on every write (the same on every retry)."""
    headers = dict(call.headers)
    if call.write:
        headers["Idempotency-Key"] = call.idempotency_key or str(uuid.uuid4())
    return headers


def raise_for(response: httpx.Response, service: str) -> None:
    """An exception carrying the server's message for a 4xx/5xx answer."""
    if response.is_success:
        return
    try:
        body = response.json()
    except ValueError:
        body = None
    detail = message_of(body) if body is not None else ""
    if not detail:
        detail = response.text.strip()[:500] or response.reason_phrase
    error = ServiceUnavailable if response.status_code in RETRY_STATUSES else ModqaError
    raise error(response.status_code, detail, service=service)


def message_of(body: Any) -> str:
    """The server's words from an error body, in every shape the services answer with:
    `{"detail": "..."}`, FastAPI's field errors, `{"detail": {"message", "problems"}}` (rules)
    and `{"detail": "...", "errors": [{"field", "message"}]}` (sampling plans)."""
    if not isinstance(body, dict):
        return str(body)
    detail = body.get("detail", "")
    parts: list[str] = []
    if isinstance(detail, list):  # FastAPI validation errors
        parts += [
            f"{'.'.join(str(p) for p in item.get('loc', [])[1:])}: {item.get('msg')}"
            for item in detail
            if isinstance(item, dict)
        ]
    elif isinstance(detail, dict):
        parts.append(str(detail.get("message", "")))
        parts += [str(problem) for problem in detail.get("problems", [])]
    elif detail:
        parts.append(str(detail))
    said = " ".join(parts)
    for item in body.get("errors", []):
        text = f"{item.get('field')}: {item.get('message')}" if isinstance(item, dict) else ""
        if text and text not in said:  # the sampler's detail may already list them
            parts.append(text)
    return "; ".join(part for part in parts if part) or str(body)


@dataclass(frozen=True)
class Retry:
    """Try the call again after `delay_s`."""

    delay_s: float


class Attempts(Generic[T]):
    """The retry decisions of one call, apart from the I/O that the sync and async clients do."""

    def __init__(self, base: str, call: Call[T], policy: RetryPolicy) -> None:
        self.url = base + call.path
        self.call = call
        self.policy = policy
        self.headers = request_headers(call)
        self.attempt = 0

    def settle(self, response: httpx.Response | None, error: Exception | None = None) -> T | Retry:
        """The parsed result, or a Retry; raises the server's error when there is no retry left."""
        self.attempt += 1
        last = self.attempt >= self.policy.attempts
        if response is None:
            if last:
                raise ServiceUnavailable(
                    0, f"cannot reach {self.url} ({error})", service=self.call.service
                ) from error
            return Retry(self.policy.delay(self.attempt))
        if response.status_code in RETRY_STATUSES and not last:
            return Retry(self.policy.delay(self.attempt))
        if response.status_code not in self.call.answers:
            raise_for(response, self.call.service)
        try:
            return self.call.parse(response)
        except ValueError as error:  # not JSON, or not the expected shape
            raise ModqaError(
                response.status_code,
                f"unexpected answer from {self.url}: {str(error).splitlines()[0]}",
                service=self.call.service,
            ) from error


def run_sync(client: httpx.Client, base: str, call: Call[T], policy: RetryPolicy) -> T:
    """Perform a call, retrying as the policy says."""
    attempts = Attempts(base, call, policy)
    while True:
        try:
            response = client.request(
                call.method,
                attempts.url,
                params=call.params,
                json=call.json,
                content=call.content,
                headers=attempts.headers,
            )
            outcome = attempts.settle(response)
        except httpx.TransportError as error:
            outcome = attempts.settle(None, error)
        if not isinstance(outcome, Retry):
            return outcome
        time.sleep(outcome.delay_s)


async def run_async(client: httpx.AsyncClient, base: str, call: Call[T], policy: RetryPolicy) -> T:
    """Perform a call without blocking the event loop, retrying as the policy says."""
    attempts = Attempts(base, call, policy)
    while True:
        try:
            response = await client.request(
                call.method,
                attempts.url,
                params=call.params,
                json=call.json,
                content=call.content,
                headers=attempts.headers,
            )
            outcome = attempts.settle(response)
        except httpx.TransportError as error:
            outcome = attempts.settle(None, error)
        if not isinstance(outcome, Retry):
            return outcome
        await asyncio.sleep(outcome.delay_s)
