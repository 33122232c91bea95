"""The sampler app running in the test process (its lifespan, an HTTP client on it)."""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from typing import Any

import httpx
from fastapi import FastAPI

from services.sampler.app import create_app
from shared.auth import Role, issue_token
from shared.events import Decision, Task, encode
from shared.settings import Settings
from shared.topics import Topics
from tests.support.kafka import produce, read_all
from tests.support.waiting import eventually

FAST = {
    "sampler_activation_delay_seconds": 1.0,
    "sampler_reload_seconds": 0.2,
    "sampler_traffic_flush_seconds": 0.3,
    "sampler_replan_seconds": 3600.0,
    "sampler_batch_max": 500,
}


def fast(settings: Settings, **overrides: Any) -> Settings:
    """Settings whose plans take effect within a second (and no background re-planning)."""
    return settings.model_copy(update={**FAST, **overrides})


def headers(settings: Settings, *roles: Role, subject: str = "tester") -> dict[str, str]:
    token = issue_token(
        settings.auth_secret, subject=subject, roles=list(roles), ttl=dt.timedelta(hours=1)
    )
    return {"Authorization": f"Bearer {token}"}


@asynccontextmanager
async def sampler(settings: Settings) -> AsyncIterator[tuple[FastAPI, httpx.AsyncClient]]:
    """The app with its lifespan entered, and a client that talks to it in process."""
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sampler") as client:
            yield app, client


async def send_decisions(settings: Settings, topics: Topics, decisions: Sequence[Decision]) -> None:
    await produce(
        settings.kafka_bootstrap,
        topics.decisions,
        [(d.moderator_id.encode(), encode(d)) for d in decisions],
    )


async def tasks_for(
    settings: Settings, topics: Topics, decision_ids: set[str], *, timeout_s: float = 60
) -> dict[str, Task]:
    """The committed tasks of these decisions, once every one of them has been sampled."""

    async def probe() -> dict[str, Task]:
        records = await read_all(settings.kafka_bootstrap, topics.tasks)
        found = {}
        for record in records:
            task = Task.model_validate_json(record.value or b"")
            found[task.decision.decision_id] = task
        return found

    return await eventually(
        probe,
        until=lambda found: decision_ids <= set(found),
        timeout_s=timeout_s,
        what=f"tasks for {len(decision_ids)} decisions",
    )


async def committed_count(settings: Settings, topics: Topics) -> int:
    """Decisions the sampler's group has committed."""
    from aiokafka.structs import TopicPartition

    from shared.kafka.consumer import build_consumer

    consumer = build_consumer(settings, group_id=topics.group("sampler"), client_id="probe")
    await consumer.start()
    try:
        total = 0
        for partition in range(6):
            total += await consumer.committed(TopicPartition(topics.decisions, partition)) or 0
        return total
    finally:
        await consumer.stop()


def as_json(response: httpx.Response) -> Any:
    return json.loads(response.content)
