"""Kafka and PostgreSQL for the audit benchmark, its throwaway databases, and its tasks."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg

from shared.db.migrations import upgrade_all
from shared.events import Decision, Task
from shared.ids import task_id
from tools.infra.common import free_port
from tools.infra.kafka import KafkaBroker
from tools.infra.postgres import PostgresServer


@dataclass(frozen=True)
class Infra:
    bootstrap: str
    server_url: str

    def database_url(self, name: str) -> str:
        return self.server_url.rsplit("/", 1)[0] + f"/{name}"


@asynccontextmanager
async def infrastructure() -> AsyncIterator[Infra]:
    """Kafka and PostgreSQL: the ones named in the environment, or our own on free ports."""
    bootstrap = os.environ.get("MODQA_BENCH_KAFKA_BOOTSTRAP")
    server_url = os.environ.get("MODQA_BENCH_DATABASE_URL")
    started: list[KafkaBroker | PostgresServer] = []
    home = Path(tempfile.mkdtemp(prefix="modqa-bench-"))
    os.chmod(home, 0o755)  # the postgres system user must reach its folder
    try:
        if not bootstrap:
            kafka = KafkaBroker(home / "kafka", port=free_port(), controller_port=free_port())
            print("starting Kafka ...", flush=True)
            await asyncio.to_thread(kafka.start)
            started.append(kafka)
            bootstrap = kafka.bootstrap
        if not server_url:
            postgres = PostgresServer(home / "postgres", port=free_port())
            print("starting PostgreSQL ...", flush=True)
            await asyncio.to_thread(postgres.start)
            started.append(postgres)
            server_url = postgres.url()
        yield Infra(bootstrap=bootstrap, server_url=server_url)
    finally:
        for server in reversed(started):
            await asyncio.to_thread(server.stop)
        shutil.rmtree(home, ignore_errors=True)


async def fresh_database(infra: Infra, name: str, *, migrate: bool) -> str:
    admin = await asyncpg.connect(infra.database_url("postgres").replace("+asyncpg", ""))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        await admin.execute(f'CREATE DATABASE "{name}"')
    finally:
        await admin.close()
    url = infra.database_url(name)
    if migrate:
        await asyncio.to_thread(upgrade_all, url)
    return url


async def drop_database(infra: Infra, name: str) -> None:
    admin = await asyncpg.connect(infra.database_url("postgres").replace("+asyncpg", ""))
    try:
        await admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await admin.close()


NOW = dt.datetime.now(dt.UTC)


def bench_task(i: int) -> Task:
    decision = Decision(
        decision_id=f"bench-{i:08d}",
        content_id=f"content-{i:08d}",
        content_type="video",
        content_ref=f"https://content.example/video/{i}",
        queue=("video", "live", "comments")[i % 3],
        market=("KR", "US", "DE")[i % 3],
        language="ko",
        moderator_id=f"mod-{i % 97}",
        moderator_kind="human",
        moderator_team="team-a",
        policy_id="spam",
        policy_version=1,
        action="remove",
        source="report",
        decided_at=NOW,
    )
    return Task(
        task_id=task_id(decision.decision_id, "audit"),
        decision=decision,
        plan_id="bench",
        plan_version=1,
        stratum="all",
        inclusion_probability=0.05,
        reasons=["uniform"],
        priority=i % 100,
        due_at=NOW + dt.timedelta(minutes=i % 1440),
        created_at=NOW,
    )
