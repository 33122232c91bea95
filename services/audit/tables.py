"""The audit service's tables (PostgreSQL schema `audit`)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from shared.db.outbox import outbox_table

metadata = MetaData(schema="audit")

tasks = Table(
    "tasks",
    metadata,
    Column("task_id", Text, primary_key=True),
    Column("decision_id", Text, nullable=False),
    Column("decision", JSONB, nullable=False),
    Column("moderator_id", Text, nullable=False),
    Column("queue", Text, nullable=False),
    Column("market", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("policy_id", Text, nullable=False),
    Column("pool", Text, nullable=False),
    Column("plan_id", Text, nullable=False),
    Column("plan_version", Integer, nullable=False),
    Column("stratum", Text, nullable=False),
    Column("inclusion_probability", Float, nullable=True),
    Column("reasons", ARRAY(Text), nullable=False),
    Column("required_reviews", Integer, nullable=False),
    Column("priority", Integer, nullable=False),
    Column("blind", Boolean, nullable=False, server_default=text("false")),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # pending | leased | expired | adjudicating | completed | cancelled (see domain.TaskStatus)
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("purpose", Text, nullable=False, server_default=text("'audit'")),
    Column("active_leases", Integer, nullable=False, server_default=text("0")),
    Column("reviews_done", Integer, nullable=False, server_default=text("0")),
    Column("gold_answer", JSONB, nullable=True),
    Column("reference", JSONB, nullable=True),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    # the W3C trace context of the task's record: verdicts on the task continue its trace
    Column("traceparent", Text, nullable=True),
    Column("stored_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index(
        "tasks_claimable",
        text("priority DESC"),
        "due_at",
        postgresql_where=text("status IN ('pending', 'expired')"),
    ),
    Index("tasks_status", "status"),
)

leases = Table(
    "leases",
    metadata,
    Column("task_id", Text, nullable=False),
    Column("auditor_id", Text, nullable=False),
    # active | released | expired | completed
    Column("status", Text, nullable=False, server_default=text("'active'")),
    Column("leased_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("ended_at", DateTime(timezone=True), nullable=True),
    Column("extensions", Integer, nullable=False, server_default=text("0")),
    Column("scorecard_id", Text, nullable=True),
    Column("scorecard_version", Integer, nullable=True),
    # one lease per auditor and task, ever: nobody gets the same task twice
    PrimaryKeyConstraint("task_id", "auditor_id", name="leases_pkey"),
    Index("leases_active_expiry", "expires_at", postgresql_where=text("status = 'active'")),
    Index("leases_auditor", "auditor_id", "status"),
)

verdicts = Table(
    "verdicts",
    metadata,
    Column("verdict_id", Text, primary_key=True),
    Column("task_id", Text, nullable=False),
    Column("decision_id", Text, nullable=False),
    Column("auditor_id", Text, nullable=False),
    Column("round", Integer, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("expected_action", Text, nullable=True),
    Column("expected_policy_id", Text, nullable=True),
    Column("error_type", Text, nullable=True),
    Column("severity", Text, nullable=True),
    Column("notes", Text, nullable=False, server_default=text("''")),
    Column("supersedes", Text, nullable=True),
    Column("idempotency_key", Text, nullable=True),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("event", JSONB, nullable=False),
    Column("purpose", Text, nullable=False, server_default=text("'audit'")),
    Column("final", Boolean, nullable=False, server_default=text("true")),
    Column("blind", Boolean, nullable=False, server_default=text("false")),
    Column("policy_version", Integer, nullable=True),
    Column("moderator_id", Text, nullable=True),
    Column("moderator_team", Text, nullable=True),
    Column("queue", Text, nullable=True),
    Column("market", Text, nullable=True),
    Column("policy_id", Text, nullable=True),
    Column("scorecard_id", Text, nullable=True),
    Column("scorecard_version", Integer, nullable=True),
    Column("scorecard_answers", JSONB, nullable=True),
    Column("qa_score", Float, nullable=True),
    Column("gold_correct", Boolean, nullable=True),
    Column("calibration_agreed", Boolean, nullable=True),
    # did this review match the reference label (gold answer, calibration consensus or SME)?
    Column("reference_match", Boolean, nullable=True),
    UniqueConstraint("auditor_id", "idempotency_key", name="verdicts_idempotency"),
    Index(
        "verdicts_one_per_auditor_round",
        "task_id",
        "auditor_id",
        "round",
        unique=True,
        postgresql_where=text("supersedes IS NULL"),
    ),
    Index("verdicts_submitted", "submitted_at", "verdict_id"),
    Index("verdicts_auditor", "auditor_id", "submitted_at"),
    Index("verdicts_moderator", "moderator_id", "submitted_at"),
    Index("verdicts_task", "task_id"),
)

auditors = Table(
    "auditors",
    metadata,
    Column("auditor_id", Text, primary_key=True),
    Column("name", Text, nullable=False),
    Column("languages", ARRAY(Text), nullable=False),
    Column("markets", ARRAY(Text), nullable=False),
    Column("policy_areas", ARRAY(Text), nullable=False),
    Column("roles", ARRAY(Text), nullable=False),
    Column("teams", ARRAY(Text), nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", Text, nullable=False),
)

policies = Table(
    "policies",
    metadata,
    Column("policy_id", Text, primary_key=True),
    Column("document", JSONB, nullable=False),
    Column("revision", Integer, nullable=False, server_default=text("1")),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("updated_by", Text, nullable=False),
)

scorecards = Table(
    "scorecards",
    metadata,
    Column("scorecard_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("queue", Text, nullable=False),
    Column("name", Text, nullable=False),
    Column("criteria", JSONB, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", Text, nullable=False),
    PrimaryKeyConstraint("scorecard_id", "version", name="scorecards_pkey"),
    Index("scorecards_queue", "queue", "version"),
)

disputes = Table(
    "disputes",
    metadata,
    Column("dispute_id", Text, primary_key=True),
    Column("verdict_id", Text, nullable=False, unique=True),
    Column("task_id", Text, nullable=False),
    Column("decision_id", Text, nullable=False),
    Column("raised_by", Text, nullable=False),
    Column("raised_via", Text, nullable=False),
    Column("reason", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("resolved_by", Text, nullable=True),
    Column("resolution_note", Text, nullable=True),
    Column("amended_verdict_id", Text, nullable=True),
    Column("market", Text, nullable=False),
    Column("policy_id", Text, nullable=False),
    Column("moderator_id", Text, nullable=False),
    Column("moderator_team", Text, nullable=False),
    Column("auditor_id", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("disputes_status_due", "status", "due_at"),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("action", Text, nullable=False),
    Column("subject_type", Text, nullable=False),
    Column("subject_id", Text, nullable=False),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Index("audit_log_at", "at"),
    Index("audit_log_subject", "subject_id"),
    Index("audit_log_actor", "actor", "at"),
)

outbox = outbox_table(metadata)
