"""The escalation service in-process (its real lifespan: consumer, relay, timers, webhooks) on
the test's own topics and database, with a clock the test moves; plus event builders."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
from fastapi import FastAPI
from sqlalchemy import Table, select

from services.escalation import tables
from services.escalation.app import create_app
from shared.auth import Role, issue_token
from shared.clock import ManualClock
from shared.events import Dispute, DriftSignal, Event, Verdict, encode
from shared.settings import Settings
from shared.topics import Topics
from tests.support.builders import NOW, a_decision, a_verdict
from tests.support.kafka import produce, read_all
from tests.support.waiting import eventually

MISS = {
    "outcome": "incorrect",
    "expected_action": "remove",
    "expected_policy_id": "child_safety",
    "error_type": "under_enforcement",
    "severity": "critical",
}


def fast(settings: Settings, **overrides: Any) -> Settings:
    """Test settings with timers and webhook retries that run in test time."""
    values: dict[str, Any] = {
        "escalation_tick_seconds": 0.1,
        "webhook_poll_ms": 20,
        "webhook_backoff_seconds": 60.0,
        "webhook_timeout_seconds": 5.0,
        **overrides,
    }
    return settings.model_copy(update=values)


def headers(settings: Settings, role: Role, subject: str | None = None) -> dict[str, str]:
    token = issue_token(
        settings.auth_secret,
        subject=subject or f"{role.value}-1",
        roles=[role],
        ttl=dt.timedelta(days=3650),
        now=dt.datetime.now(dt.UTC),
    )
    return {"Authorization": f"Bearer {token}"}


@dataclass
class Escalation:
    """A running escalation app and what tests do with it."""

    app: FastAPI
    client: httpx.AsyncClient
    settings: Settings
    clock: ManualClock

    @property
    def topics(self) -> Topics:
        return Topics(self.settings.topic_prefix)

    def as_(self, role: Role, subject: str | None = None) -> dict[str, str]:
        return headers(self.settings, role, subject)

    async def send(self, *events: Event) -> None:
        """Produce events to the topics escalation consumes, keyed like their producers do."""
        by_topic: dict[str, list[tuple[bytes | None, bytes]]] = {}
        for event in events:
            if isinstance(event, Verdict):
                topic, key = self.topics.verdicts, event.task_id
            elif isinstance(event, Dispute):
                topic, key = self.topics.disputes, event.dispute_id
            elif isinstance(event, DriftSignal):
                topic, key = self.topics.signals, event.signal_id
            else:
                raise TypeError(event)
            by_topic.setdefault(topic, []).append((key.encode(), encode(event)))
        for topic, records in by_topic.items():
            await produce(self.settings.kafka_bootstrap, topic, records)

    async def cases(self, role: Role = Role.LEAD, **params: Any) -> list[dict[str, Any]]:
        response = await self.client.get("/v1/escalations", params=params, headers=self.as_(role))
        assert response.status_code == 200, response.text
        items: list[dict[str, Any]] = response.json()["items"]
        return items

    async def wait_cases(
        self, until: Callable[[list[dict[str, Any]]], bool], what: str, **params: Any
    ) -> list[dict[str, Any]]:
        return await eventually(lambda: self.cases(**params), until=until, what=what)

    async def act(self, case_id: str, role: Role = Role.LEAD, **body: Any) -> httpx.Response:
        return await self.client.post(
            f"/v1/escalations/{case_id}/actions", json=body, headers=self.as_(role)
        )

    async def rows(self, table: Table) -> list[Any]:
        """Every row of one of the service's tables."""
        async with self.app.state.kit.sessions() as session:
            return list((await session.execute(select(table))).all())

    async def drained(self) -> None:
        """Wait until the outbox relay has published everything committed so far."""

        async def unpublished() -> int:
            async with self.app.state.kit.sessions() as session:
                rows = await session.execute(
                    select(tables.outbox.c.id).where(tables.outbox.c.published_at.is_(None))
                )
                return len(rows.all())

        await eventually(unpublished, until=lambda n: n == 0, what="outbox drained")

    async def events(self, topic: str) -> list[dict[str, Any]]:
        """Every record on one of the test's topics, decoded."""
        return [
            json.loads(record.value)
            for record in await read_all(self.settings.kafka_bootstrap, topic)
        ]


@asynccontextmanager
async def running_escalation(settings: Settings, clock: ManualClock) -> AsyncIterator[Escalation]:
    """Start the app's lifespan (consumer, outbox relay, timers, webhook dispatcher) and stop it."""
    app = create_app(settings, clock=clock)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://escalation") as client:
            yield Escalation(app, client, app.state.settings, clock)


def a_miss(decision_id: str, **overrides: Any) -> Verdict:
    """A final verdict finding a child-safety violation let through."""
    decision = a_decision(
        decision_id=decision_id,
        content_id=f"content-{decision_id}",
        action="approve",
        policy_id="child_safety",
        moderator_id=overrides.pop("moderator_id", "mod-1"),
    )
    return a_verdict(decision, **{**MISS, **overrides})


def judged(
    i: int,
    *,
    moderator_id: str,
    correct: bool,
    market: str = "KR",
    policy_id: str = "spam",
    outcome: str | None = None,
    at: dt.datetime = NOW,
    **overrides: Any,
) -> Verdict:
    """A final verdict on one of a moderator's decisions (`outcome` overrides correct/incorrect)."""
    decision = a_decision(
        decision_id=f"{moderator_id}-{policy_id}-{i}",
        content_id=f"c-{moderator_id}-{policy_id}-{i}",
        moderator_id=moderator_id,
        moderator_team="team-b",
        market=market,
        policy_id=policy_id,
    )
    wrong = {
        "outcome": "incorrect",
        "expected_action": "approve",
        "error_type": "over_enforcement",
        "severity": "minor",
        "expected_policy_id": policy_id,
    }
    fields: dict[str, Any] = {"outcome": "correct"} if correct else wrong
    if outcome is not None:
        fields = {"outcome": outcome}
    return a_verdict(
        decision,
        verdict_id=f"v-{moderator_id}-{policy_id}-{i}",
        submitted_at=at + dt.timedelta(seconds=i),
        **{**fields, **overrides},
    )


def amendment(original: Verdict, verdict_id: str, **changes: Any) -> Verdict:
    """An SME's arbitration amending a verdict: same task and decision, `supersedes` set."""
    fields = original.model_dump(by_alias=True)
    fields.update(
        {
            "verdict_id": verdict_id,
            "supersedes": original.verdict_id,
            "auditor_id": "sme-1",
            "submitted_at": original.submitted_at + dt.timedelta(hours=1),
            "outcome": "correct",
            "expected_action": None,
            "expected_policy_id": None,
            "error_type": None,
            "severity": None,
        }
    )
    fields.update(changes)
    return Verdict.model_validate(fields)


def a_dispute(dispute_id: str, **overrides: Any) -> Dispute:
    fields: dict[str, Any] = {
        "dispute_id": dispute_id,
        "verdict_id": f"v-of-{dispute_id}",
        "task_id": f"t-of-{dispute_id}",
        "decision_id": f"d-of-{dispute_id}",
        "raised_by": "mod-3",
        "reason": "the clip is satire",
        "status": "open",
        "due_at": NOW + dt.timedelta(hours=48),
        "market": "DE",
        "policy_id": "hate_speech",
        "moderator_id": "mod-3",
        "updated_at": NOW,
    }
    fields.update(overrides)
    return Dispute.model_validate(fields)


def a_drift(signal_id: str, **overrides: Any) -> DriftSignal:
    fields: dict[str, Any] = {
        "signal_id": signal_id,
        "scope": "moderator",
        "moderator_id": "mod-9",
        "moderator_team": "team-c",
        "baseline_error_rate": 0.05,
        "recent_error_rate": 0.21,
        "statistic": 6.3,
        "threshold": 5.0,
        "audits": 140,
        "evidence": ["v-a", "v-b"],
        "detected_at": NOW,
    }
    fields.update(overrides)
    return DriftSignal.model_validate(fields)
