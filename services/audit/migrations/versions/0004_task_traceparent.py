"""task traceparent

Revision ID: 0004
Revises: 0003
Create Date: 2026-11-23 15:00:00.000000

Each task keeps the W3C trace context its record arrived with, so the verdict events on it
continue the decision's trace (decision -> task -> verdict -> case).
"""

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.add_column("tasks", sa.Column("traceparent", sa.Text(), nullable=True), schema="audit")


def downgrade() -> None:
    op.drop_column("tasks", "traceparent", schema="audit")
