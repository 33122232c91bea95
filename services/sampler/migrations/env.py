"""Alembic environment of the sampler service."""

from alembic import context

from services.sampler.tables import metadata
from shared.db.migrations import run_env

run_env(context, metadata)  # type: ignore[arg-type]  # alembic's proxy module
