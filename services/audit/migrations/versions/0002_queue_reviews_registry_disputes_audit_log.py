"""queue, reviews, registry, disputes, audit log

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:09:37.239761
"""

import sqlalchemy as sa
from alembic import op
from sqlalchemy.dialects import postgresql

revision = "0002"
down_revision = "0001"
branch_labels = None
depends_on = None


APPEND_ONLY_FUNCTION = """
CREATE FUNCTION audit.refuse_audit_log_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit.audit_log is append-only (% refused)', TG_OP;
END;
$$
"""
APPEND_ONLY_TRIGGER = """
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE OR TRUNCATE ON audit.audit_log
FOR EACH STATEMENT EXECUTE FUNCTION audit.refuse_audit_log_change()
"""


def _move_leases_and_fill_verdicts() -> None:
    """Leases move from the task row to their own table; verdict columns come from the event."""
    op.execute(
        """
        INSERT INTO audit.leases (task_id, auditor_id, status, leased_at, expires_at)
        SELECT task_id, leased_by, 'active', now(), lease_expires_at
        FROM audit.tasks WHERE status = 'leased' AND leased_by IS NOT NULL
        """
    )
    op.execute(
        """
        INSERT INTO audit.leases (task_id, auditor_id, status, leased_at, expires_at, ended_at)
        SELECT v.task_id, v.auditor_id, 'completed', v.submitted_at, v.submitted_at, v.submitted_at
        FROM audit.verdicts v ON CONFLICT DO NOTHING
        """
    )
    op.execute("UPDATE audit.tasks SET active_leases = 1 WHERE status = 'leased'")
    op.execute("UPDATE audit.tasks SET reviews_done = required_reviews WHERE status = 'completed'")
    op.execute(
        """
        UPDATE audit.verdicts SET
            purpose = COALESCE(event->>'purpose', 'audit'),
            final = COALESCE((event->>'final')::boolean, true),
            blind = COALESCE((event->>'blind')::boolean, false),
            moderator_id = event->'decision'->>'moderator_id',
            moderator_team = event->'decision'->>'moderator_team',
            queue = event->'decision'->>'queue',
            market = event->'decision'->>'market',
            policy_id = event->'decision'->>'policy_id'
        """
    )


def upgrade() -> None:
    op.create_table(
        "audit_log",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("action", sa.Text(), nullable=False),
        sa.Column("subject_type", sa.Text(), nullable=False),
        sa.Column("subject_id", sa.Text(), nullable=False),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        schema="audit",
    )
    op.create_index("audit_log_actor", "audit_log", ["actor", "at"], unique=False, schema="audit")
    op.create_index("audit_log_at", "audit_log", ["at"], unique=False, schema="audit")
    op.create_index("audit_log_subject", "audit_log", ["subject_id"], unique=False, schema="audit")
    op.execute(APPEND_ONLY_FUNCTION)
    op.execute(APPEND_ONLY_TRIGGER)
    op.create_table(
        "auditors",
        sa.Column("auditor_id", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("languages", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("markets", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("policy_areas", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("roles", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("teams", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("auditor_id"),
        schema="audit",
    )
    op.create_table(
        "disputes",
        sa.Column("dispute_id", sa.Text(), nullable=False),
        sa.Column("verdict_id", sa.Text(), nullable=False),
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Text(), nullable=False),
        sa.Column("raised_by", sa.Text(), nullable=False),
        sa.Column("raised_via", sa.Text(), nullable=False),
        sa.Column("reason", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_by", sa.Text(), nullable=True),
        sa.Column("resolution_note", sa.Text(), nullable=True),
        sa.Column("amended_verdict_id", sa.Text(), nullable=True),
        sa.Column("market", sa.Text(), nullable=False),
        sa.Column("policy_id", sa.Text(), nullable=False),
        sa.Column("moderator_id", sa.Text(), nullable=False),
        sa.Column("moderator_team", sa.Text(), nullable=False),
        sa.Column("auditor_id", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("dispute_id"),
        sa.UniqueConstraint("verdict_id"),
        schema="audit",
    )
    op.create_index(
        "disputes_status_due", "disputes", ["status", "due_at"], unique=False, schema="audit"
    )
    op.create_table(
        "leases",
        sa.Column("task_id", sa.Text(), nullable=False),
        sa.Column("auditor_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), server_default=sa.text("'active'"), nullable=False),
        sa.Column("leased_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ended_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("extensions", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("scorecard_id", sa.Text(), nullable=True),
        sa.Column("scorecard_version", sa.Integer(), nullable=True),
        sa.PrimaryKeyConstraint("task_id", "auditor_id", name="leases_pkey"),
        schema="audit",
    )
    op.create_index(
        "leases_active_expiry",
        "leases",
        ["expires_at"],
        unique=False,
        schema="audit",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.create_index(
        "leases_auditor", "leases", ["auditor_id", "status"], unique=False, schema="audit"
    )
    op.create_table(
        "policies",
        sa.Column("policy_id", sa.Text(), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("revision", sa.Integer(), server_default=sa.text("1"), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("policy_id"),
        schema="audit",
    )
    op.create_table(
        "scorecards",
        sa.Column("scorecard_id", sa.Text(), nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("queue", sa.Text(), nullable=False),
        sa.Column("name", sa.Text(), nullable=False),
        sa.Column("criteria", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.PrimaryKeyConstraint("scorecard_id", "version", name="scorecards_pkey"),
        schema="audit",
    )
    op.create_index(
        "scorecards_queue", "scorecards", ["queue", "version"], unique=False, schema="audit"
    )
    op.add_column(
        "tasks",
        sa.Column("purpose", sa.Text(), server_default=sa.text("'audit'"), nullable=False),
        schema="audit",
    )
    op.add_column(
        "tasks",
        sa.Column("active_leases", sa.Integer(), server_default=sa.text("0"), nullable=False),
        schema="audit",
    )
    op.add_column(
        "tasks",
        sa.Column("reviews_done", sa.Integer(), server_default=sa.text("0"), nullable=False),
        schema="audit",
    )
    op.add_column(
        "tasks",
        sa.Column("gold_answer", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema="audit",
    )
    op.add_column(
        "tasks",
        sa.Column("reference", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema="audit",
    )
    op.create_index("tasks_status", "tasks", ["status"], unique=False, schema="audit")
    op.add_column(
        "verdicts",
        sa.Column("purpose", sa.Text(), server_default=sa.text("'audit'"), nullable=False),
        schema="audit",
    )
    op.add_column(
        "verdicts",
        sa.Column("final", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        schema="audit",
    )
    op.add_column(
        "verdicts",
        sa.Column("blind", sa.Boolean(), server_default=sa.text("false"), nullable=False),
        schema="audit",
    )
    op.add_column(
        "verdicts", sa.Column("policy_version", sa.Integer(), nullable=True), schema="audit"
    )
    op.add_column("verdicts", sa.Column("moderator_id", sa.Text(), nullable=True), schema="audit")
    op.add_column("verdicts", sa.Column("moderator_team", sa.Text(), nullable=True), schema="audit")
    op.add_column("verdicts", sa.Column("queue", sa.Text(), nullable=True), schema="audit")
    op.add_column("verdicts", sa.Column("market", sa.Text(), nullable=True), schema="audit")
    op.add_column("verdicts", sa.Column("policy_id", sa.Text(), nullable=True), schema="audit")
    op.add_column("verdicts", sa.Column("scorecard_id", sa.Text(), nullable=True), schema="audit")
    op.add_column(
        "verdicts", sa.Column("scorecard_version", sa.Integer(), nullable=True), schema="audit"
    )
    op.add_column(
        "verdicts",
        sa.Column("scorecard_answers", postgresql.JSONB(astext_type=sa.Text()), nullable=True),
        schema="audit",
    )
    op.add_column("verdicts", sa.Column("qa_score", sa.Float(), nullable=True), schema="audit")
    op.add_column(
        "verdicts", sa.Column("gold_correct", sa.Boolean(), nullable=True), schema="audit"
    )
    op.add_column(
        "verdicts", sa.Column("calibration_agreed", sa.Boolean(), nullable=True), schema="audit"
    )
    op.add_column(
        "verdicts", sa.Column("reference_match", sa.Boolean(), nullable=True), schema="audit"
    )
    op.drop_constraint(
        op.f("verdicts_one_per_auditor_round"), "verdicts", schema="audit", type_="unique"
    )
    op.create_index(
        "verdicts_one_per_auditor_round",
        "verdicts",
        ["task_id", "auditor_id", "round"],
        unique=True,
        schema="audit",
        postgresql_where=sa.text("supersedes IS NULL"),
    )
    op.create_index(
        "verdicts_auditor", "verdicts", ["auditor_id", "submitted_at"], unique=False, schema="audit"
    )
    op.create_index(
        "verdicts_moderator",
        "verdicts",
        ["moderator_id", "submitted_at"],
        unique=False,
        schema="audit",
    )
    op.create_index(
        "verdicts_submitted",
        "verdicts",
        ["submitted_at", "verdict_id"],
        unique=False,
        schema="audit",
    )
    op.create_index("verdicts_task", "verdicts", ["task_id"], unique=False, schema="audit")

    _move_leases_and_fill_verdicts()
    op.drop_column("tasks", "lease_expires_at", schema="audit")
    op.drop_column("tasks", "leased_by", schema="audit")
    op.drop_index("tasks_claimable", table_name="tasks", schema="audit")
    op.create_index(
        "tasks_claimable",
        "tasks",
        [sa.literal_column("priority DESC"), "due_at"],
        unique=False,
        schema="audit",
        postgresql_where=sa.text("status IN ('pending', 'expired')"),
    )


def downgrade() -> None:
    op.drop_index("verdicts_task", table_name="verdicts", schema="audit")
    op.drop_index("verdicts_submitted", table_name="verdicts", schema="audit")
    op.drop_index("verdicts_moderator", table_name="verdicts", schema="audit")
    op.drop_index("verdicts_auditor", table_name="verdicts", schema="audit")
    op.drop_index(
        "verdicts_one_per_auditor_round",
        table_name="verdicts",
        schema="audit",
        postgresql_where=sa.text("supersedes IS NULL"),
    )
    op.create_unique_constraint(
        op.f("verdicts_one_per_auditor_round"),
        "verdicts",
        ["task_id", "auditor_id", "round"],
        schema="audit",
        postgresql_nulls_not_distinct=False,
    )
    op.drop_column("verdicts", "reference_match", schema="audit")
    op.drop_column("verdicts", "calibration_agreed", schema="audit")
    op.drop_column("verdicts", "gold_correct", schema="audit")
    op.drop_column("verdicts", "qa_score", schema="audit")
    op.drop_column("verdicts", "scorecard_answers", schema="audit")
    op.drop_column("verdicts", "scorecard_version", schema="audit")
    op.drop_column("verdicts", "scorecard_id", schema="audit")
    op.drop_column("verdicts", "policy_id", schema="audit")
    op.drop_column("verdicts", "market", schema="audit")
    op.drop_column("verdicts", "queue", schema="audit")
    op.drop_column("verdicts", "moderator_team", schema="audit")
    op.drop_column("verdicts", "moderator_id", schema="audit")
    op.drop_column("verdicts", "policy_version", schema="audit")
    op.drop_column("verdicts", "blind", schema="audit")
    op.drop_column("verdicts", "final", schema="audit")
    op.drop_column("verdicts", "purpose", schema="audit")
    op.add_column(
        "tasks",
        sa.Column("leased_by", sa.TEXT(), autoincrement=False, nullable=True),
        schema="audit",
    )
    op.add_column(
        "tasks",
        sa.Column(
            "lease_expires_at",
            postgresql.TIMESTAMP(timezone=True),
            autoincrement=False,
            nullable=True,
        ),
        schema="audit",
    )
    op.drop_index("tasks_status", table_name="tasks", schema="audit")
    op.drop_index("tasks_claimable", table_name="tasks", schema="audit")
    op.create_index(
        "tasks_claimable",
        "tasks",
        [sa.literal_column("priority DESC"), "due_at"],
        unique=False,
        schema="audit",
        postgresql_where=sa.text("status IN ('pending', 'leased')"),
    )
    op.execute(
        "UPDATE audit.tasks t SET leased_by = l.auditor_id, lease_expires_at = l.expires_at FROM audit.leases l WHERE l.task_id = t.task_id AND l.status = 'active'"
    )
    op.execute(
        "UPDATE audit.tasks SET status = 'pending' WHERE status IN ('expired', 'adjudicating', 'cancelled')"
    )
    op.drop_column("tasks", "reference", schema="audit")
    op.drop_column("tasks", "gold_answer", schema="audit")
    op.drop_column("tasks", "reviews_done", schema="audit")
    op.drop_column("tasks", "active_leases", schema="audit")
    op.drop_column("tasks", "purpose", schema="audit")
    op.drop_index("scorecards_queue", table_name="scorecards", schema="audit")
    op.drop_table("scorecards", schema="audit")
    op.drop_table("policies", schema="audit")
    op.drop_index("leases_auditor", table_name="leases", schema="audit")
    op.drop_index(
        "leases_active_expiry",
        table_name="leases",
        schema="audit",
        postgresql_where=sa.text("status = 'active'"),
    )
    op.drop_table("leases", schema="audit")
    op.drop_index("disputes_status_due", table_name="disputes", schema="audit")
    op.drop_table("disputes", schema="audit")
    op.drop_table("auditors", schema="audit")
    op.execute("DROP TRIGGER audit_log_append_only ON audit.audit_log")
    op.execute("DROP FUNCTION audit.refuse_audit_log_change()")
    op.drop_index("audit_log_subject", table_name="audit_log", schema="audit")
    op.drop_index("audit_log_at", table_name="audit_log", schema="audit")
    op.drop_index("audit_log_actor", table_name="audit_log", schema="audit")
    op.drop_table("audit_log", schema="audit")
