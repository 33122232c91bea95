"""figures drift cases outbox

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:00:22.141991
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "cases",
        sa.Column("escalation_id", sa.Text(), nullable=False),
        sa.Column("kind", sa.Text(), nullable=False),
        sa.Column("severity", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("escalation_id"),
        schema="metrics",
    )
    op.create_table(
        "drift_detectors",
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("statistic", sa.Float(), nullable=False),
        sa.Column("audits", sa.Integer(), nullable=False),
        sa.Column("errors", sa.Integer(), nullable=False),
        sa.Column("since_reset", sa.Integer(), nullable=False),
        sa.Column("errors_since_reset", sa.Integer(), nullable=False),
        sa.Column(
            "recent_verdicts",
            postgresql.ARRAY(sa.Text()),
            server_default=sa.text("'{}'"),
            nullable=False,
        ),
        sa.Column("moderator_team", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("scope", "subject"),
        schema="metrics",
    )
    op.create_table(
        "drift_signals",
        sa.Column("signal_id", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("subject", sa.Text(), nullable=False),
        sa.Column("baseline_error_rate", sa.Float(), nullable=False),
        sa.Column("recent_error_rate", sa.Float(), nullable=False),
        sa.Column("statistic", sa.Float(), nullable=False),
        sa.Column("threshold", sa.Float(), nullable=False),
        sa.Column("audits", sa.Integer(), nullable=False),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("signal_id"),
        schema="metrics",
    )
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("topic", sa.Text(), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=True),
        sa.Column("value", sa.LargeBinary(), nullable=False),
        sa.Column(
            "headers",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        sa.Column(
            "created_at",
            sa.DateTime(timezone=True),
            server_default=sa.text("now()"),
            nullable=False,
        ),
        sa.Column("published_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id"),
        schema="metrics",
    )
    op.create_index(
        "outbox_unpublished",
        "outbox",
        ["id"],
        unique=False,
        schema="metrics",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.add_column(
        "verdicts",
        sa.Column("purpose", sa.Text(), server_default=sa.text("'audit'"), nullable=False),
        schema="metrics",
    )
    op.add_column(
        "verdicts",
        sa.Column("blind", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema="metrics",
    )
    op.add_column(
        "verdicts", sa.Column("policy_version", sa.Integer(), nullable=True), schema="metrics"
    )
    op.add_column(
        "verdicts",
        sa.Column(
            "decision_policy_version", sa.Integer(), server_default=sa.text("1"), nullable=False
        ),
        schema="metrics",
    )
    op.add_column(
        "verdicts",
        sa.Column("action", sa.Text(), server_default=sa.text("'approve'"), nullable=False),
        schema="metrics",
    )
    op.add_column(
        "verdicts", sa.Column("expected_action", sa.Text(), nullable=True), schema="metrics"
    )
    op.add_column(
        "verdicts", sa.Column("expected_policy_id", sa.Text(), nullable=True), schema="metrics"
    )
    op.add_column(
        "verdicts", sa.Column("calibration_agreed", sa.Boolean(), nullable=True), schema="metrics"
    )
    op.add_column(
        "verdicts", sa.Column("gold_correct", sa.Boolean(), nullable=True), schema="metrics"
    )
    op.add_column("verdicts", sa.Column("category", sa.Text(), nullable=True), schema="metrics")
    op.add_column(
        "verdicts", sa.Column("automated_decision", sa.Text(), nullable=True), schema="metrics"
    )
    op.add_column(
        "verdicts",
        sa.Column("decided_on", sa.Date(), server_default=sa.text("CURRENT_DATE"), nullable=False),
        schema="metrics",
    )
    op.execute("UPDATE metrics.verdicts SET decided_on = (decided_at AT TIME ZONE 'UTC')::date")
    op.drop_index(
        op.f("verdicts_counted"),
        table_name="verdicts",
        schema="metrics",
        postgresql_where="(final AND (NOT superseded))",
    )
    op.create_index(
        "verdicts_counted",
        "verdicts",
        ["decided_on", "market"],
        unique=False,
        schema="metrics",
        postgresql_where=sa.text("final AND NOT superseded"),
    )
    op.create_index(
        "verdicts_purpose", "verdicts", ["purpose", "decided_on"], unique=False, schema="metrics"
    )
    op.create_index("verdicts_task", "verdicts", ["task_id"], unique=False, schema="metrics")


def downgrade() -> None:
    op.drop_index("verdicts_task", table_name="verdicts", schema="metrics")
    op.drop_index("verdicts_purpose", table_name="verdicts", schema="metrics")
    op.drop_index(
        "verdicts_counted",
        table_name="verdicts",
        schema="metrics",
        postgresql_where=sa.text("final AND NOT superseded"),
    )
    op.create_index(
        op.f("verdicts_counted"),
        "verdicts",
        ["queue", "market"],
        unique=False,
        schema="metrics",
        postgresql_where="(final AND (NOT superseded))",
    )
    op.drop_column("verdicts", "decided_on", schema="metrics")
    op.drop_column("verdicts", "automated_decision", schema="metrics")
    op.drop_column("verdicts", "category", schema="metrics")
    op.drop_column("verdicts", "gold_correct", schema="metrics")
    op.drop_column("verdicts", "calibration_agreed", schema="metrics")
    op.drop_column("verdicts", "expected_policy_id", schema="metrics")
    op.drop_column("verdicts", "expected_action", schema="metrics")
    op.drop_column("verdicts", "action", schema="metrics")
    op.drop_column("verdicts", "decision_policy_version", schema="metrics")
    op.drop_column("verdicts", "policy_version", schema="metrics")
    op.drop_column("verdicts", "blind", schema="metrics")
    op.drop_column("verdicts", "purpose", schema="metrics")
    op.drop_index(
        "outbox_unpublished",
        table_name="outbox",
        schema="metrics",
        postgresql_where=sa.text("published_at IS NULL"),
    )
    op.drop_table("outbox", schema="metrics")
    op.drop_table("drift_signals", schema="metrics")
    op.drop_table("drift_detectors", schema="metrics")
    op.drop_table("cases", schema="metrics")
