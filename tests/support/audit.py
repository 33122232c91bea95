"""The audit app in-process for integration tests: its real lifespan (PostgreSQL, Kafka
consumer, outbox relay, lease sweeper) and an HTTP client with role tokens."""

from __future__ import annotations

import datetime as dt
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit.app import create_app
from shared.auth import Role, issue_token
from shared.clock import ManualClock
from shared.settings import Settings
from shared.topics import Topics


@dataclass
class Audit:
    """A running audit app, its clock, and helpers to call it as anyone."""

    app: FastAPI
    http: httpx.AsyncClient
    settings: Settings
    clock: ManualClock

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        sessions: async_sessionmaker[AsyncSession] = self.app.state.kit.sessions
        return sessions

    @property
    def topics(self) -> Topics:
        return Topics(self.settings.topic_prefix)

    def as_(self, subject: str, *roles: Role) -> dict[str, str]:
        """Headers of a caller with these roles."""
        token = issue_token(
            self.settings.auth_secret,
            subject=subject,
            roles=list(roles),
            ttl=dt.timedelta(days=365),
            now=self.clock.now(),
        )
        return {"Authorization": f"Bearer {token}"}

    async def register(
        self,
        auditor_id: str,
        *,
        languages: Sequence[str] = ("ko",),
        markets: Sequence[str] = (),
        policy_areas: Sequence[str] = (),
        roles: Sequence[str] = ("auditor",),
        teams: Sequence[str] = (),
    ) -> dict[str, Any]:
        """Register a person through the HTTP API, as a lead."""
        response = await self.http.put(
            f"/v1/auditors/{auditor_id}",
            json={
                "name": auditor_id,
                "languages": list(languages),
                "markets": list(markets),
                "policy_areas": list(policy_areas),
                "roles": list(roles),
                "teams": list(teams),
            },
            headers=self.as_("lead-1", Role.LEAD),
        )
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def claim(self, auditor_id: str) -> dict[str, Any] | None:
        """Claim as an auditor; None when there is nothing."""
        response = await self.http.post(
            "/v1/tasks/claim", headers=self.as_(auditor_id, Role.AUDITOR)
        )
        if response.status_code == 204:
            return None
        assert response.status_code == 200, response.text
        return dict(response.json())

    async def verdict(
        self, auditor_id: str, task_id: str, body: dict[str, Any], key: str | None = None
    ) -> httpx.Response:
        """Submit a verdict as an auditor."""
        headers = self.as_(auditor_id, Role.AUDITOR)
        if key:
            headers["Idempotency-Key"] = key
        return await self.http.post(f"/v1/tasks/{task_id}/verdict", json=body, headers=headers)


@asynccontextmanager
async def running_audit(settings: Settings, clock: ManualClock) -> AsyncIterator[Audit]:
    """The audit app with its lifespan, reachable in-process over HTTP."""
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(
            transport=transport, base_url="http://audit.test", timeout=30
        ) as http:
            yield Audit(app=app, http=http, settings=settings, clock=clock)
