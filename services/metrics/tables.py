"""The metrics service's tables (PostgreSQL schema `metrics`)."""

from __future__ import annotations

from sqlalchemy import (
    Boolean,
    Column,
    Date,
    DateTime,
    Float,
    Index,
    Integer,
    MetaData,
    PrimaryKeyConstraint,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY

from shared.db.outbox import outbox_table

metadata = MetaData(schema="metrics")

tasks = Table(
    "tasks",
    metadata,
    Column("task_id", Text, primary_key=True),
    Column("decision_id", Text, nullable=False),
    Column("inclusion_probability", Float, nullable=True),
    Column("reasons", ARRAY(Text), nullable=False),
    Column("stratum", Text, nullable=False),
    Column("plan_id", Text, nullable=False),
    Column("plan_version", Integer, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

verdicts = Table(
    "verdicts",
    metadata,
    Column("verdict_id", Text, primary_key=True),
    Column("task_id", Text, nullable=False),
    Column("decision_id", Text, nullable=False),
    Column("auditor_id", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("error_type", Text, nullable=True),
    Column("severity", Text, nullable=True),
    Column("round", Integer, nullable=False),
    Column("supersedes", Text, nullable=True),
    Column("final", Boolean, nullable=False),
    Column("superseded", Boolean, nullable=False, server_default=text("false")),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Column("queue", Text, nullable=False),
    Column("market", Text, nullable=False),
    Column("language", Text, nullable=False),
    Column("policy_id", Text, nullable=False),
    Column("moderator_id", Text, nullable=False),
    Column("moderator_kind", Text, nullable=False),
    Column("moderator_team", Text, nullable=False),
    Column("content_type", Text, nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=False),
    Column("purpose", Text, nullable=False, server_default=text("'audit'")),
    Column("blind", Boolean, nullable=False, server_default=text("false")),
    Column("policy_version", Integer, nullable=True),
    Column("decision_policy_version", Integer, nullable=False, server_default=text("1")),
    Column("action", Text, nullable=False, server_default=text("'approve'")),
    Column("expected_action", Text, nullable=True),
    Column("expected_policy_id", Text, nullable=True),
    Column("calibration_agreed", Boolean, nullable=True),
    Column("gold_correct", Boolean, nullable=True),
    Column("category", Text, nullable=True),
    Column("automated_decision", Text, nullable=True),
    Column("decided_on", Date, nullable=False, server_default=text("CURRENT_DATE")),
    Index(
        "verdicts_counted",
        "decided_on",
        "market",
        postgresql_where=text("final AND NOT superseded"),
    ),
    Index("verdicts_supersedes", "supersedes"),
    Index("verdicts_task", "task_id"),
    Index("verdicts_purpose", "purpose", "decided_on"),
)

drift_detectors = Table(
    "drift_detectors",
    metadata,
    Column("scope", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("statistic", Float, nullable=False),
    Column("audits", Integer, nullable=False),
    Column("errors", Integer, nullable=False),
    Column("since_reset", Integer, nullable=False),
    Column("errors_since_reset", Integer, nullable=False),
    Column("recent_verdicts", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("moderator_team", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    PrimaryKeyConstraint("scope", "subject"),
)

drift_signals = Table(
    "drift_signals",
    metadata,
    Column("signal_id", Text, primary_key=True),
    Column("scope", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("baseline_error_rate", Float, nullable=False),
    Column("recent_error_rate", Float, nullable=False),
    Column("statistic", Float, nullable=False),
    Column("threshold", Float, nullable=False),
    Column("audits", Integer, nullable=False),
    Column("detected_at", DateTime(timezone=True), nullable=False),
)

cases = Table(
    "cases",
    metadata,
    Column("escalation_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

outbox = outbox_table(metadata)
