"""initial

Revision ID: 0001
Revises:
Create Date: 2026-11-23 11:36:02.563939
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0001"
down_revision = None
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "tasks",
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Text(), nullable=False),
        sa.Column("inclusion_probability", sa.Float(), nullable=True),
        sa.Column("reasons", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("stratum", sa.Text(), nullable=False),
        sa.Column("plan_id", sa.Text(), nullable=False),
        sa.Column("plan_version", sa.Integer(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("task_id"),
        schema="metrics",
    )
    op.create_table(
        "verdicts",
        sa.Column("verdict_id", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Text(), nullable=False),
        sa.Column("auditor_id", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("error_type", sa.Text(), nullable=True),
        sa.Column("severity", sa.Text(), nullable=True),
        sa.Column("round", sa.Integer(), nullable=False),
        sa.Column("supersedes", sa.Text(), nullable=True),
        sa.Column("final", sa.Boolean(), nullable=False),
        sa.Column("superseded", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("market", sa.Text(), nullable=False),
        sa.Column("language", sa.Text(), nullable=False),
        sa.Column("policy_id", sa.Text(), nullable=False),
        sa.Column("moderator_id", sa.Text(), nullable=False),
        sa.Column("moderator_kind", sa.Text(), nullable=False),
        sa.Column("moderator_team", sa.Text(), nullable=False),
        sa.Column("content_type", sa.Text(), nullable=False),
        sa.Column("decided_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("verdict_id"),
        schema="metrics",
    )
    op.create_index(
        "verdicts_counted",
        "verdicts",
        ["queue", "market"],
        unique=False,
        schema="metrics",
        postgresql_where=sa.text("final AND NOT superseded"),
    )
    op.create_index(
        "verdicts_supersedes", "verdicts", ["supersedes"], unique=False, schema="metrics"
    )


def downgrade() -> None:
    op.drop_index("verdicts_supersedes", table_name="verdicts", schema="metrics")
    op.drop_index(
        "verdicts_counted",
        table_name="verdicts",
        schema="metrics",
        postgresql_where=sa.text("final AND NOT superseded"),
    )
    op.drop_table("verdicts", schema="metrics")
    op.drop_table("tasks", schema="metrics")
