"""Alembic environment of the audit service."""

from alembic import context

from shared.db.migrations import run_env

from services.audit.tables import metadata

run_env(context, metadata)
