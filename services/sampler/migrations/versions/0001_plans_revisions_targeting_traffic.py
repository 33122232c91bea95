"""plans revisions targeting traffic

Revision ID: 0001
Revises:
Create Date: 2026-11-23 12:26:50.159810
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
        "plan_versions",
        sa.Column("plan_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("plan_id", "version"),
        schema="sampler",
    )
    op.create_table(
        "targeting_rules",
        sa.Column("rule_id", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("received_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("rule", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.PrimaryKeyConstraint("rule_id", "updated_at"),
        schema="sampler",
    )
    op.create_index(
        "targeting_received", "targeting_rules", ["received_at"], unique=False, schema="sampler"
    )
    op.create_table(
        "traffic_days",
        sa.Column("day", sa.Date(), nullable=False),
        sa.Column("summary", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("day"),
        schema="sampler",
    )
    op.create_table(
        "revisions",
        sa.Column("seq", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("plan_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("effective_from", sa.DateTime(timezone=True), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column(
            "scales",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.Column("allocation", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["plan_id", "version"],
            ["sampler.plan_versions.plan_id", "sampler.plan_versions.version"],
        ),
        sa.PrimaryKeyConstraint("seq"),
        schema="sampler",
    )
    op.create_index(
        "revisions_created", "revisions", ["created_at"], unique=False, schema="sampler"
    )
    op.create_index(
        "revisions_in_force", "revisions", ["effective_from", "seq"], unique=False, schema="sampler"
    )


def downgrade() -> None:
    op.drop_index("revisions_in_force", table_name="revisions", schema="sampler")
    op.drop_index("revisions_created", table_name="revisions", schema="sampler")
    op.drop_table("revisions", schema="sampler")
    op.drop_table("traffic_days", schema="sampler")
    op.drop_index("targeting_received", table_name="targeting_rules", schema="sampler")
    op.drop_table("targeting_rules", schema="sampler")
    op.drop_table("plan_versions", schema="sampler")
