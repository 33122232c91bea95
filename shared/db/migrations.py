"""Alembic, one environment per service, each in the service's own PostgreSQL schema."""

from __future__ import annotations

import asyncio
from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.environment import EnvironmentContext
from sqlalchemy import MetaData, text
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import create_async_engine

SERVICES_DIR = Path(__file__).resolve().parents[2] / "services"
MIGRATED_SERVICES = ("audit", "escalation", "metrics", "sampler")


def alembic_config(service: str, database_url: str) -> Config:
    """The Alembic configuration of one service's migrations."""
    config = Config()
    config.set_main_option("script_location", str(SERVICES_DIR / service / "migrations"))
    config.set_main_option("sqlalchemy.url", database_url)
    config.attributes["service_schema"] = service
    return config


def upgrade_all(database_url: str, services: tuple[str, ...] = MIGRATED_SERVICES) -> None:
    """Bring every service's schema to its newest revision (blocking; run before the services)."""
    for service in services:
        command.upgrade(alembic_config(service, database_url), "head")


def run_env(context: EnvironmentContext, target_metadata: MetaData) -> None:
    """The body of every service's `env.py`: migrate online through asyncpg."""
    config = context.config
    schema = config.attributes["service_schema"]
    url = config.get_main_option("sqlalchemy.url")
    assert url is not None

    def do_run(connection: Connection) -> None:
        connection.execute(text(f'CREATE SCHEMA IF NOT EXISTS "{schema}"'))
        context.configure(
            connection=connection,
            target_metadata=target_metadata,
            version_table_schema=schema,
            include_schemas=True,
            include_name=lambda name, type_, _parent: type_ != "schema" or name == schema,
        )
        with context.begin_transaction():
            context.run_migrations()

    async def run_async() -> None:
        engine = create_async_engine(url)
        async with engine.begin() as connection:
            await connection.run_sync(do_run)
        await engine.dispose()

    asyncio.run(run_async())
