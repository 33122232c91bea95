"""A running system (four service processes) per test module, on its own topics and database."""

from __future__ import annotations

import uuid
from collections.abc import AsyncIterator

import pytest

from shared.kafka.admin import ensure_topics
from shared.topics import Topics
from tests.conftest import TEMPLATE_DB, Infra, _drop_database, _recreate_database
from tests.support.system import RunningSystem, running_system


@pytest.fixture(scope="module")
async def system(
    infra: Infra, tmp_path_factory: pytest.TempPathFactory, request: pytest.FixtureRequest
) -> AsyncIterator[RunningSystem]:
    """A module sets `SYSTEM_ENV = {...}` to add or override settings of its system."""
    database = f"e2e_{uuid.uuid4().hex[:10]}"
    await _recreate_database(infra, database, template=TEMPLATE_DB)
    topics = Topics(prefix=f"e{uuid.uuid4().hex[:10]}.")
    await ensure_topics(infra.bootstrap, topics)
    env = {
        "MODQA_ENVIRONMENT": "test",
        "MODQA_KAFKA_BOOTSTRAP": infra.bootstrap,
        "MODQA_DATABASE_URL": infra.database_url(database),
        "MODQA_TOPIC_PREFIX": topics.prefix,
        "MODQA_SAMPLER_BASE_RATE": "0.1",
        "MODQA_CONSUMER_POLL_MS": "50",
        "MODQA_OUTBOX_POLL_MS": "20",
        "MODQA_METRICS_REFRESH_SECONDS": "0.5",
        **getattr(request.module, "SYSTEM_ENV", {}),
    }
    with running_system(env, topics, tmp_path_factory.mktemp("logs")) as running:
        yield running
    await _drop_database(infra, database)
