"""The audit service's tables (PostgreSQL schema `audit`)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
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
    Column("status", Text, nullable=False, server_default=text("'pending'")),
    Column("leased_by", Text, nullable=True),
    Column("lease_expires_at", DateTime(timezone=True), nullable=True),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("stored_at", DateTime(timezone=True), nullable=False, server_default=text("now()")),
    Index(
        "tasks_claimable",
        text("priority DESC"),
        "due_at",
        postgresql_where=text("status IN ('pending', 'leased')"),
    ),
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
    UniqueConstraint("task_id", "auditor_id", "round", name="verdicts_one_per_auditor_round"),
    UniqueConstraint("auditor_id", "idempotency_key", name="verdicts_idempotency"),
)

outbox = outbox_table(metadata)
