"""cases lifecycle rules webhooks

Case lifecycle columns and an append-only history, the verdict ledger, windowed policy-gap
counters, disputes, drift signals, targeting rules, versioned rule sets, webhook subscriptions
with their delivery queue, and corrections that can be replaced or retracted.

Revision ID: 0002
Revises: 0001
Create Date: 2026-11-23 12:24:02.248363
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
        "case_history",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("escalation_id", sa.Text(), nullable=False),
        sa.Column("revision", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("actor", sa.Text(), nullable=False),
        sa.Column("change", sa.Text(), nullable=False),
        sa.Column("from_status", sa.Text(), nullable=True),
        sa.Column("to_status", sa.Text(), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column(
            "details",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'{}'::jsonb"),
            nullable=False,
        ),
        sa.PrimaryKeyConstraint("id"),
        sa.UniqueConstraint("escalation_id", "revision", name="case_history_one_row_per_revision"),
        schema="escalation",
    )
    op.create_table(
        "decision_corrections",
        sa.Column("decision_id", sa.Text(), nullable=False),
        sa.Column("content_id", sa.Text(), nullable=False),
        sa.Column("verdict_id", sa.Text(), nullable=False),
        sa.Column("in_force", sa.Text(), nullable=True),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("decision_id"),
        schema="escalation",
    )
    op.create_table(
        "disputes",
        sa.Column("dispute_id", sa.Text(), nullable=False),
        sa.Column("verdict_id", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Text(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("due_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("market", sa.Text(), nullable=False),
        sa.Column("policy_id", sa.Text(), nullable=False),
        sa.Column("moderator_id", sa.Text(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("resolved_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("overdue_case_id", sa.Text(), nullable=True),
        sa.PrimaryKeyConstraint("dispute_id"),
        schema="escalation",
    )
    op.create_index(
        "disputes_by_market_policy",
        "disputes",
        ["market", "policy_id", "resolved_at"],
        unique=False,
        schema="escalation",
    )
    op.create_index(
        "disputes_open_due",
        "disputes",
        ["due_at"],
        unique=False,
        schema="escalation",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.create_table(
        "gap_counters",
        sa.Column("market", sa.Text(), nullable=False),
        sa.Column("policy_id", sa.Text(), nullable=False),
        sa.Column("bucket_start", sa.DateTime(timezone=True), nullable=False),
        sa.Column("verdicts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("unsure", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("calibrations", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column(
            "calibration_disagreed", sa.Integer(), server_default=sa.text("0"), nullable=False
        ),
        sa.Column("disputes_resolved", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("disputes_overturned", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.PrimaryKeyConstraint("market", "policy_id", "bucket_start"),
        schema="escalation",
    )
    op.create_table(
        "rule_applications",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("applied_by", sa.Text(), nullable=False),
        sa.Column("applied_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema="escalation",
    )
    op.create_table(
        "rule_sets",
        sa.Column("version", sa.Integer(), nullable=False),
        sa.Column("source", sa.Text(), nullable=False),
        sa.Column("document", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("note", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.CheckConstraint("version >= 1", name="rule_sets_version_positive"),
        sa.PrimaryKeyConstraint("version"),
        schema="escalation",
    )
    op.create_table(
        "signals",
        sa.Column("signal_id", sa.Text(), nullable=False),
        sa.Column("scope", sa.Text(), nullable=False),
        sa.Column("moderator_id", sa.Text(), nullable=True),
        sa.Column("market", sa.Text(), nullable=True),
        sa.Column("policy_id", sa.Text(), nullable=True),
        sa.Column("detected_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("signal_id"),
        schema="escalation",
    )
    op.create_table(
        "targeting_rules",
        sa.Column("rule_id", sa.Text(), nullable=False),
        sa.Column("case_id", sa.Text(), nullable=False),
        sa.Column("event", postgresql.JSONB(astext_type=sa.Text()), nullable=False),
        sa.Column("active", sa.Boolean(), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("lifetime_seconds", sa.Float(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("rule_id"),
        schema="escalation",
    )
    op.create_index(
        "targeting_active",
        "targeting_rules",
        ["expires_at"],
        unique=False,
        schema="escalation",
        postgresql_where=sa.text("active"),
    )
    op.create_table(
        "verdicts",
        sa.Column("verdict_id", sa.Text(), nullable=False),
        sa.Column("decision_id", sa.Text(), nullable=False),
        sa.Column("purpose", sa.Text(), nullable=False),
        sa.Column("outcome", sa.Text(), nullable=False),
        sa.Column("supersedes", sa.Text(), nullable=True),
        sa.Column("superseded_by", sa.Text(), nullable=True),
        sa.Column("moderator_id", sa.Text(), nullable=True),
        sa.Column("moderator_team", sa.Text(), nullable=True),
        sa.Column("market", sa.Text(), nullable=True),
        sa.Column("policy_id", sa.Text(), nullable=True),
        sa.Column("calibration_agreed", sa.Boolean(), nullable=True),
        sa.Column("submitted_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("verdict_id"),
        schema="escalation",
    )
    op.create_index(
        "verdicts_by_market_policy",
        "verdicts",
        ["market", "policy_id", "submitted_at"],
        unique=False,
        schema="escalation",
    )
    op.create_index(
        "verdicts_by_supersedes", "verdicts", ["supersedes"], unique=False, schema="escalation"
    )
    op.create_index(
        "verdicts_counting_by_moderator",
        "verdicts",
        ["moderator_id", "submitted_at"],
        unique=False,
        schema="escalation",
        postgresql_where=sa.text("superseded_by IS NULL"),
    )
    op.create_table(
        "webhook_attempts",
        sa.Column("id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("delivery_id", sa.BigInteger(), nullable=False),
        sa.Column("attempt", sa.Integer(), nullable=False),
        sa.Column("at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=True),
        sa.Column("error", sa.Text(), nullable=True),
        sa.Column("duration_ms", sa.Float(), nullable=False),
        sa.PrimaryKeyConstraint("id"),
        schema="escalation",
    )
    op.create_index(
        "webhook_attempts_by_delivery",
        "webhook_attempts",
        ["delivery_id", "attempt"],
        unique=False,
        schema="escalation",
    )
    op.create_table(
        "webhook_deliveries",
        sa.Column("delivery_id", sa.BigInteger(), autoincrement=True, nullable=False),
        sa.Column("subscription_id", sa.Text(), nullable=False),
        sa.Column("event_type", sa.Text(), nullable=False),
        sa.Column("event_key", sa.Text(), nullable=False),
        sa.Column("body", sa.LargeBinary(), nullable=False),
        sa.Column("status", sa.Text(), nullable=False),
        sa.Column("attempts", sa.Integer(), server_default=sa.text("0"), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("last_status_code", sa.Integer(), nullable=True),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("finished_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("delivery_id"),
        sa.UniqueConstraint(
            "subscription_id", "event_key", name="webhook_deliveries_once_per_event"
        ),
        schema="escalation",
    )
    op.create_index(
        "webhook_deliveries_due",
        "webhook_deliveries",
        ["next_attempt_at", "delivery_id"],
        unique=False,
        schema="escalation",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.create_table(
        "webhook_subscriptions",
        sa.Column("subscription_id", sa.Text(), nullable=False),
        sa.Column("url", sa.Text(), nullable=False),
        sa.Column("events", postgresql.ARRAY(sa.Text()), nullable=False),
        sa.Column("secret", sa.Text(), nullable=False),
        sa.Column("active", sa.Boolean(), server_default=sa.text("true"), nullable=False),
        sa.Column("description", sa.Text(), nullable=True),
        sa.Column("created_by", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("subscription_id"),
        schema="escalation",
    )
    op.add_column("cases", sa.Column("change", sa.Text(), nullable=True), schema="escalation")
    op.add_column("cases", sa.Column("actor", sa.Text(), nullable=True), schema="escalation")
    op.add_column("cases", sa.Column("rule_id", sa.Text(), nullable=True), schema="escalation")
    op.add_column(
        "cases", sa.Column("root_cause_note", sa.Text(), nullable=True), schema="escalation"
    )
    op.add_column(
        "cases",
        sa.Column("sla_breaches", sa.Integer(), server_default=sa.text("0"), nullable=False),
        schema="escalation",
    )
    op.add_column("cases", sa.Column("moderator_id", sa.Text(), nullable=True), schema="escalation")
    op.add_column(
        "cases", sa.Column("moderator_team", sa.Text(), nullable=True), schema="escalation"
    )
    op.add_column("cases", sa.Column("market", sa.Text(), nullable=True), schema="escalation")
    op.add_column("cases", sa.Column("policy_id", sa.Text(), nullable=True), schema="escalation")
    op.add_column(
        "cases",
        sa.Column(
            "figures",
            postgresql.JSONB(astext_type=sa.Text()),
            server_default=sa.text("'[]'::jsonb"),
            nullable=False,
        ),
        schema="escalation",
    )
    op.add_column(
        "cases",
        sa.Column("acknowledged_at", sa.DateTime(timezone=True), nullable=True),
        schema="escalation",
    )
    op.add_column(
        "cases",
        sa.Column("closed_at", sa.DateTime(timezone=True), nullable=True),
        schema="escalation",
    )
    op.create_index(
        "cases_by_opening",
        "cases",
        ["opened_at", "escalation_id"],
        unique=False,
        schema="escalation",
    )
    op.create_index(
        "cases_by_subject",
        "cases",
        ["kind", "subject", "closed_at"],
        unique=False,
        schema="escalation",
    )
    op.create_index(
        "cases_due",
        "cases",
        ["due_at"],
        unique=False,
        schema="escalation",
        postgresql_where=sa.text("status IN ('open', 'acknowledged', 'investigating')"),
    )
    op.add_column(
        "corrections", sa.Column("retracts", sa.Text(), nullable=True), schema="escalation"
    )
    op.add_column(
        "corrections",
        sa.Column("kind", sa.Text(), server_default=sa.text("'issued'"), nullable=False),
        schema="escalation",
    )
    op.drop_constraint(
        op.f("corrections_decision_id_key"), "corrections", schema="escalation", type_="unique"
    )
    op.create_index(
        "corrections_by_decision", "corrections", ["decision_id"], unique=False, schema="escalation"
    )
    # corrections issued before this revision stay in force for their decisions
    op.execute(
        "INSERT INTO escalation.decision_corrections "
        "(decision_id, content_id, verdict_id, in_force, updated_at) "
        "SELECT decision_id, content_id, verdict_id, correction_id, issued_at "
        "FROM escalation.corrections ON CONFLICT DO NOTHING"
    )
    op.execute(
        "UPDATE escalation.cases SET change = 'opened', actor = 'system' WHERE change IS NULL"
    )
    op.execute(
        "INSERT INTO escalation.case_history "
        "(escalation_id, revision, at, actor, change, from_status, to_status) "
        "SELECT escalation_id, revision, updated_at, 'system', 'opened', NULL, status "
        "FROM escalation.cases ON CONFLICT DO NOTHING"
    )
    op.execute(
        """
        CREATE FUNCTION escalation.refuse_history_rewrite() RETURNS trigger
        LANGUAGE plpgsql AS $$
        BEGIN
            RAISE EXCEPTION 'escalation.case_history is append-only (% refused)', TG_OP;
        END
        $$
        """
    )
    op.execute(
        "CREATE TRIGGER case_history_append_only BEFORE UPDATE OR DELETE ON "
        "escalation.case_history FOR EACH ROW EXECUTE FUNCTION escalation.refuse_history_rewrite()"
    )


def downgrade() -> None:
    op.execute("DROP TRIGGER case_history_append_only ON escalation.case_history")
    op.execute("DROP FUNCTION escalation.refuse_history_rewrite()")
    op.drop_index("corrections_by_decision", table_name="corrections", schema="escalation")
    op.create_unique_constraint(
        op.f("corrections_decision_id_key"),
        "corrections",
        ["decision_id"],
        schema="escalation",
        postgresql_nulls_not_distinct=False,
    )
    op.drop_column("corrections", "kind", schema="escalation")
    op.drop_column("corrections", "retracts", schema="escalation")
    op.drop_index(
        "cases_due",
        table_name="cases",
        schema="escalation",
        postgresql_where=sa.text("status IN ('open', 'acknowledged', 'investigating')"),
    )
    op.drop_index("cases_by_subject", table_name="cases", schema="escalation")
    op.drop_index("cases_by_opening", table_name="cases", schema="escalation")
    op.drop_column("cases", "closed_at", schema="escalation")
    op.drop_column("cases", "acknowledged_at", schema="escalation")
    op.drop_column("cases", "figures", schema="escalation")
    op.drop_column("cases", "policy_id", schema="escalation")
    op.drop_column("cases", "market", schema="escalation")
    op.drop_column("cases", "moderator_team", schema="escalation")
    op.drop_column("cases", "moderator_id", schema="escalation")
    op.drop_column("cases", "sla_breaches", schema="escalation")
    op.drop_column("cases", "root_cause_note", schema="escalation")
    op.drop_column("cases", "rule_id", schema="escalation")
    op.drop_column("cases", "actor", schema="escalation")
    op.drop_column("cases", "change", schema="escalation")
    op.drop_table("webhook_subscriptions", schema="escalation")
    op.drop_index(
        "webhook_deliveries_due",
        table_name="webhook_deliveries",
        schema="escalation",
        postgresql_where=sa.text("status = 'pending'"),
    )
    op.drop_table("webhook_deliveries", schema="escalation")
    op.drop_index(
        "webhook_attempts_by_delivery", table_name="webhook_attempts", schema="escalation"
    )
    op.drop_table("webhook_attempts", schema="escalation")
    op.drop_index(
        "verdicts_counting_by_moderator",
        table_name="verdicts",
        schema="escalation",
        postgresql_where=sa.text("superseded_by IS NULL"),
    )
    op.drop_index("verdicts_by_supersedes", table_name="verdicts", schema="escalation")
    op.drop_index("verdicts_by_market_policy", table_name="verdicts", schema="escalation")
    op.drop_table("verdicts", schema="escalation")
    op.drop_index(
        "targeting_active",
        table_name="targeting_rules",
        schema="escalation",
        postgresql_where=sa.text("active"),
    )
    op.drop_table("targeting_rules", schema="escalation")
    op.drop_table("signals", schema="escalation")
    op.drop_table("rule_sets", schema="escalation")
    op.drop_table("rule_applications", schema="escalation")
    op.drop_table("gap_counters", schema="escalation")
    op.drop_index(
        "disputes_open_due",
        table_name="disputes",
        schema="escalation",
        postgresql_where=sa.text("status = 'open'"),
    )
    op.drop_index("disputes_by_market_policy", table_name="disputes", schema="escalation")
    op.drop_table("disputes", schema="escalation")
    op.drop_table("decision_corrections", schema="escalation")
    op.drop_table("case_history", schema="escalation")
