"""Test fixtures: a real Kafka broker and PostgreSQL server per session, isolation per test.

Both start on free ports under a temporary folder, so `make test` runs beside `make up`;
`MODQA_TEST_KAFKA_BOOTSTRAP` / `MODQA_TEST_DATABASE_URL` point the tests at running ones
instead. Every test gets its own topic prefix, consumer groups and database (a copy of a
migrated template), so tests never see each other's messages or rows.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
import uuid
import warnings
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import asyncpg
import pytest

from shared.db.migrations import upgrade_all
from shared.kafka.admin import ensure_topics
from shared.settings import Settings
from shared.topics import Topics
from tools.infra.common import free_port
from tools.infra.kafka import KafkaBroker
from tools.infra.postgres import PostgresServer

TEMPLATE_DB = "modqa_template"
TEST_AUTH_SECRET = "modqa-test-suite-secret-0123456789abcdef"
# every service process and every in-process Settings() of the tests sign and verify tokens
# with it: outside development the services refuse the built-in secret
os.environ["MODQA_AUTH_SECRET"] = TEST_AUTH_SECRET


@dataclass(frozen=True)
class Infra:
    bootstrap: str
    server_url: str
    """asyncpg URL of the server (database part replaced per test)."""

    def database_url(self, database: str) -> str:
        return self.server_url.rsplit("/", 1)[0] + f"/{database}"


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        tier = Path(str(item.fspath)).parent.name
        if tier in ("unit", "integration", "e2e", "contracts"):
            item.add_marker(getattr(pytest.mark, "unit" if tier == "contracts" else tier))


@pytest.fixture(scope="session")
def infra() -> Iterator[Infra]:
    """Kafka and PostgreSQL for the whole session, with a migrated template database."""
    started: list[KafkaBroker | PostgresServer] = []
    bootstrap = os.environ.get("MODQA_TEST_KAFKA_BOOTSTRAP")
    server_url = os.environ.get("MODQA_TEST_DATABASE_URL")
    # not under pytest's 0700 tmp: the postgres system user must be able to reach its folder
    home = Path(tempfile.mkdtemp(prefix="modqa-test-"))
    home.chmod(0o755)
    try:
        if not bootstrap:
            port = free_port()
            kafka = KafkaBroker(home / "kafka", port=port, controller_port=free_port())
            kafka.start()
            started.append(kafka)
            bootstrap = kafka.bootstrap
        if not server_url:
            postgres = PostgresServer(home / "postgres", port=free_port())
            postgres.start()
            started.append(postgres)
            server_url = postgres.url()
        result = Infra(bootstrap=bootstrap, server_url=server_url)
        asyncio.run(_recreate_database(result, TEMPLATE_DB))
        upgrade_all(result.database_url(TEMPLATE_DB))
        yield result
    finally:
        for server in reversed(started):
            server.stop()
        shutil.rmtree(home, ignore_errors=True)


async def _recreate_database(infra: Infra, name: str, template: str | None = None) -> None:
    conn = await asyncpg.connect(infra.database_url("postgres").replace("+asyncpg", ""))
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        suffix = f' TEMPLATE "{template}"' if template else ""
        await conn.execute(f'CREATE DATABASE "{name}"{suffix}')
    finally:
        await conn.close()


async def _drop_database(infra: Infra, name: str) -> None:
    """Drop a test's database. Cleanup only: the cluster is thrown away after the session, so
    a database that cannot be dropped (FORCE may not terminate a backend it has no right to,
    e.g. a superuser's autovacuum worker) is left behind with a warning, not an error."""
    for attempt in range(3):
        conn = await asyncpg.connect(infra.database_url("postgres").replace("+asyncpg", ""))
        try:
            await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            return
        except asyncpg.PostgresError as error:
            if attempt == 2:
                warnings.warn(f"test database {name} left behind: {error}", stacklevel=1)
                return
        finally:
            await conn.close()
        await asyncio.sleep(1)


@pytest.fixture
async def database_url(infra: Infra) -> AsyncIterator[str]:
    """A fresh, migrated database of this test's own."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    await _recreate_database(infra, name, template=TEMPLATE_DB)
    yield infra.database_url(name)
    await _drop_database(infra, name)


@pytest.fixture
async def topics(infra: Infra) -> Topics:
    """This test's own topics (a random prefix), created with their partitions."""
    deployed = Topics(prefix=f"t{uuid.uuid4().hex[:10]}.")
    await ensure_topics(infra.bootstrap, deployed)
    return deployed


@pytest.fixture
def settings(infra: Infra, database_url: str, topics: Topics) -> Settings:
    """Settings pointing at this test's topics and database."""
    return Settings(
        environment="test",
        kafka_bootstrap=infra.bootstrap,
        database_url=database_url,
        topic_prefix=topics.prefix,
        consumer_poll_ms=50,
        outbox_poll_ms=20,
    )
