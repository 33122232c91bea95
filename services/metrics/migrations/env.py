"""Alembic environment of the metrics service."""

from alembic import context

from shared.db.migrations import run_env

from services.metrics.tables import metadata

run_env(context, metadata)
