"""SIGKILL the audit service while verdicts are being recorded and published: after restarts,
every stored verdict is on `audit.verdicts` exactly once.

The service runs as a real process (`python -m services.audit`). Its outbox relay polls every
300 ms here, so committed verdicts wait a moment before they are sent: the kills land between
the database commit and the Kafka send (the test checks that some did), and also, by chance,
inside the relay's Kafka transaction or between its commit and the rows being marked.
"""

from __future__ import annotations

import asyncio
import contextlib
import datetime as dt
import json
from pathlib import Path

import httpx
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from services.audit import handlers_admin
from services.audit.tables import outbox, tasks, verdicts
from shared.auth import Role, issue_token
from shared.db.engine import build_engine, build_sessions
from shared.events import encode
from shared.settings import Settings
from tests.support.builders import NOW, a_decision, a_task
from tests.support.kafka import produce, read_all
from tests.support.waiting import eventually
from tools.infra.common import free_port
from tools.infra.services import ServiceProcess

N_TASKS = 240
AUDITORS = 8
KILLS = 3


async def count(sessions: async_sessionmaker[AsyncSession], query: object) -> int:
    async with sessions() as session:
        return int(await session.scalar(query) or 0)  # type: ignore[call-overload]


async def auditor(
    name: str, url: str, secret: str, stop: asyncio.Event, recorded: list[str]
) -> None:
    """Claim and judge until stopped, surviving the service's deaths: leases held when it died
    are finished first, and a verdict is retried with its key until it is acknowledged."""
    token = issue_token(secret, subject=name, roles=[Role.AUDITOR], ttl=dt.timedelta(hours=1))
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=url, headers=headers, timeout=5) as client:
        while not stop.is_set():
            try:
                mine = await client.get("/v1/tasks/mine")
                held = mine.json() if mine.status_code == 200 else []
                if held:
                    task_id = held[0]["task_id"]
                else:
                    claimed = await client.post("/v1/tasks/claim")
                    if claimed.status_code == 204:
                        await asyncio.sleep(0.05)
                        continue
                    claimed.raise_for_status()
                    task_id = claimed.json()["task_id"]
                while not stop.is_set():
                    with contextlib.suppress(httpx.TransportError):
                        response = await client.post(
                            f"/v1/tasks/{task_id}/verdict",
                            json={"outcome": "correct"},
                            headers={"Idempotency-Key": f"{name}-{task_id}"},
                        )
                        if response.status_code == 200:
                            recorded.append(response.json()["verdict_id"])
                            break
                        raise AssertionError(f"verdict refused: {response.text}")
                    await asyncio.sleep(0.1)
            except (httpx.TransportError, ValueError):
                await asyncio.sleep(0.1)


async def test_sigkill_between_commit_and_send_loses_and_duplicates_no_verdict(
    settings: Settings, tmp_path: Path
) -> None:
    engine = build_engine(settings)
    sessions = build_sessions(engine)
    batch = [a_task(a_decision(decision_id=f"crash-{i}", action="remove")) for i in range(N_TASKS)]
    await produce(
        settings.kafka_bootstrap,
        f"{settings.topic_prefix}audit.tasks",
        [(t.task_id.encode(), encode(t)) for t in batch],
    )
    for n in range(AUDITORS):
        await handlers_admin.upsert_auditor(
            sessions=sessions,
            auditor_id=f"auditor-{n}",
            fields={
                "name": f"auditor-{n}",
                "languages": ["ko"],
                "markets": [],
                "policy_areas": [],
                "roles": ["auditor"],
                "teams": [],
                "active": True,
            },
            by="lead-1",
            now=NOW,
        )
    service = ServiceProcess(
        "audit",
        free_port(),
        {
            "MODQA_ENVIRONMENT": "test",
            "MODQA_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
            "MODQA_DATABASE_URL": settings.database_url,
            "MODQA_TOPIC_PREFIX": settings.topic_prefix,
            "MODQA_CONSUMER_POLL_MS": "50",
            "MODQA_OUTBOX_POLL_MS": "300",
            "MODQA_LOG_JSON": "true",
        },
        tmp_path,
    )
    stop = asyncio.Event()
    recorded: list[str] = []
    workers: list[asyncio.Task[None]] = []
    pending_at_kill: list[int] = []
    try:
        service.start()
        await asyncio.to_thread(service.wait_ready)
        await eventually(
            lambda: count(sessions, select(func.count()).select_from(tasks)),
            until=lambda n: n == N_TASKS,
            what="tasks consumed from audit.tasks",
        )
        workers = [
            asyncio.create_task(
                auditor(f"auditor-{n}", service.url, settings.auth_secret, stop, recorded)
            )
            for n in range(AUDITORS)
        ]
        stored = select(func.count()).select_from(verdicts)
        for kill in range(KILLS):
            target = (kill + 1) * N_TASKS // (KILLS + 2)
            await eventually(
                lambda: count(sessions, stored), until=lambda n, t=target: n >= t, what="verdicts"
            )
            service.kill()
            pending_at_kill.append(
                await count(
                    sessions,
                    select(func.count()).where(outbox.c.published_at.is_(None)),
                )
            )
            service.start()
            await asyncio.to_thread(service.wait_ready)
        await eventually(
            lambda: count(sessions, stored),
            until=lambda n: n == N_TASKS,
            timeout_s=90,
            what="every task judged",
        )
        stop.set()
        await asyncio.gather(*workers)
        await eventually(
            lambda: count(sessions, select(func.count()).where(outbox.c.published_at.is_(None))),
            until=lambda n: n == 0,
            what="outbox drained after the restarts",
        )
        async with sessions() as session:
            in_db = set((await session.execute(select(verdicts.c.verdict_id))).scalars())
    finally:
        stop.set()
        for worker in workers:
            worker.cancel()
        service.stop()
        await engine.dispose()

    assert service.starts == KILLS + 1
    assert sum(pending_at_kill) > 0, (
        f"no kill caught a committed, unsent verdict: {pending_at_kill}"
    )
    on_topic = [
        json.loads(r.value)["verdict_id"]
        for r in await read_all(settings.kafka_bootstrap, f"{settings.topic_prefix}audit.verdicts")
    ]
    assert len(in_db) == N_TASKS
    assert len(on_topic) == len(set(on_topic)), "a verdict was published twice"
    assert set(on_topic) == in_db, "a stored verdict is missing from audit.verdicts"
    assert set(recorded) <= in_db
