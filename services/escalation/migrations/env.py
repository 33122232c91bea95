"""Alembic environment of the escalation service."""

from alembic import context

from shared.db.migrations import run_env

from services.escalation.tables import metadata

run_env(context, metadata)
