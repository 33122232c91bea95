"""A small synchronous SDK over the services' HTTP APIs; errors carry the server's message."""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import httpx


@dataclass(frozen=True)
class ServiceUrls:
    """Where each service answers."""

    sampler: str = "http://127.0.0.1:8001"
    audit: str = "http://127.0.0.1:8002"
    escalation: str = "http://127.0.0.1:8003"
    metrics: str = "http://127.0.0.1:8004"


class ModqaError(Exception):
    """A request the service refused or could not serve; `message` is the server's own words."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"{status}: {message}")
        self.status = status
        self.message = message


class ModqaClient:
    """One client configured with the service addresses and a bearer token."""

    def __init__(
        self, token: str, urls: ServiceUrls | None = None, timeout_s: float = 10.0
    ) -> None:
        self.urls = urls or ServiceUrls()
        self._http = httpx.Client(headers={"Authorization": f"Bearer {token}"}, timeout=timeout_s)

    def close(self) -> None:
        self._http.close()

    def __enter__(self) -> ModqaClient:
        return self

    def __exit__(self, *_: object) -> None:
        self.close()

    def ingest_decisions(self, decisions: list[dict[str, Any]]) -> dict[str, Any]:
        """Send up to 1,000 decisions; the answer lists any refused ones."""
        response = self._http.post(
            f"{self.urls.sampler}/v1/decisions", json={"decisions": decisions}
        )
        if response.status_code == 422 and "accepted" in response.json():
            return dict(response.json())
        return self._json(response)

    def claim_task(self) -> dict[str, Any] | None:
        """Lease the next task, or None when there is none for you."""
        response = self._http.post(f"{self.urls.audit}/v1/tasks/claim")
        if response.status_code == 204:
            return None
        return self._json(response)

    def submit_verdict(
        self, task_id: str, verdict: dict[str, Any], idempotency_key: str | None = None
    ) -> dict[str, Any]:
        """Record a verdict; the idempotency key makes a retry return the first result."""
        response = self._http.post(
            f"{self.urls.audit}/v1/tasks/{task_id}/verdict",
            json=verdict,
            headers={"Idempotency-Key": idempotency_key or str(uuid.uuid4())},
        )
        return self._json(response)

    def quality(self, group_by: str = "queue,market") -> dict[str, Any]:
        """Accuracy per group, with sample sizes and intervals."""
        return self._json(
            self._http.get(f"{self.urls.metrics}/v1/quality", params={"group_by": group_by})
        )

    @staticmethod
    def _json(response: httpx.Response) -> dict[str, Any]:
        if response.is_success:
            return dict(response.json())
        try:
            message = str(response.json().get("detail", response.text))
        except ValueError:
            message = response.text
        raise ModqaError(response.status_code, message)
