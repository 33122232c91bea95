"""The escalation service's tables (PostgreSQL schema `escalation`)."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Boolean,
    CheckConstraint,
    Column,
    DateTime,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    Table,
    Text,
    UniqueConstraint,
    text,
)
from sqlalchemy.dialects.postgresql import ARRAY, JSONB

from shared.db.outbox import outbox_table

metadata = MetaData(schema="escalation")

OPEN_STATES = "('open', 'acknowledged', 'investigating')"

cases = Table(
    "cases",
    metadata,
    Column("escalation_id", Text, primary_key=True),
    Column("kind", Text, nullable=False),
    Column("subject", Text, nullable=False),
    Column("severity", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("evidence", ARRAY(Text), nullable=False, server_default=text("'{}'")),
    Column("owner", Text, nullable=True),
    Column("due_at", DateTime(timezone=True), nullable=True),
    Column("root_cause", Text, nullable=True),
    Column("resolution", Text, nullable=True),
    Column("trigger_count", Integer, nullable=False, server_default=text("1")),
    Column("revision", Integer, nullable=False, server_default=text("1")),
    Column("opened_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("change", Text, nullable=True),
    Column("actor", Text, nullable=True),
    Column("rule_id", Text, nullable=True),
    Column("root_cause_note", Text, nullable=True),
    Column("sla_breaches", Integer, nullable=False, server_default=text("0")),
    Column("moderator_id", Text, nullable=True),
    Column("moderator_team", Text, nullable=True),
    Column("market", Text, nullable=True),
    Column("policy_id", Text, nullable=True),
    Column("figures", JSONB, nullable=False, server_default=text("'[]'::jsonb")),
    Column("acknowledged_at", DateTime(timezone=True), nullable=True),
    Column("closed_at", DateTime(timezone=True), nullable=True),
    Index(
        "cases_one_open_per_subject",
        "kind",
        "subject",
        unique=True,
        postgresql_where=text(f"status IN {OPEN_STATES}"),
    ),
    Index("cases_due", "due_at", postgresql_where=text(f"status IN {OPEN_STATES}")),
    Index("cases_by_opening", "opened_at", "escalation_id"),
    Index("cases_by_subject", "kind", "subject", "closed_at"),
)

case_history = Table(
    "case_history",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("escalation_id", Text, nullable=False),
    Column("revision", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("actor", Text, nullable=False),
    Column("change", Text, nullable=False),
    Column("from_status", Text, nullable=True),
    Column("to_status", Text, nullable=False),
    Column("note", Text, nullable=True),
    Column("details", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    UniqueConstraint("escalation_id", "revision", name="case_history_one_row_per_revision"),
)
"""Append-only: a trigger in the migration refuses UPDATE and DELETE."""

corrections = Table(
    "corrections",
    metadata,
    Column("correction_id", Text, primary_key=True),
    Column("decision_id", Text, nullable=False),
    Column("content_id", Text, nullable=False),
    Column("verdict_id", Text, nullable=False),
    Column("corrected_action", Text, nullable=True),
    Column("corrected_policy_id", Text, nullable=True),
    Column("issued_at", DateTime(timezone=True), nullable=False),
    Column("retracts", Text, nullable=True),
    Column("kind", Text, nullable=False, server_default=text("'issued'")),
    Index("corrections_by_decision", "decision_id"),
)
"""Every correction, replacement and retraction ever emitted."""

decision_corrections = Table(
    "decision_corrections",
    metadata,
    Column("decision_id", Text, primary_key=True),
    Column("content_id", Text, nullable=False),
    Column("verdict_id", Text, nullable=False),
    Column("in_force", Text, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
"""Per decision: the final verdict that counts and the correction in force (if any)."""

verdicts = Table(
    "verdicts",
    metadata,
    Column("verdict_id", Text, primary_key=True),
    Column("decision_id", Text, nullable=False),
    Column("purpose", Text, nullable=False),
    Column("outcome", Text, nullable=False),
    Column("supersedes", Text, nullable=True),
    Column("superseded_by", Text, nullable=True),
    Column("moderator_id", Text, nullable=True),
    Column("moderator_team", Text, nullable=True),
    Column("market", Text, nullable=True),
    Column("policy_id", Text, nullable=True),
    Column("calibration_agreed", Boolean, nullable=True),
    Column("submitted_at", DateTime(timezone=True), nullable=False),
    Index(
        "verdicts_counting_by_moderator",
        "moderator_id",
        "submitted_at",
        postgresql_where=text("superseded_by IS NULL"),
    ),
    Index("verdicts_by_market_policy", "market", "policy_id", "submitted_at"),
    Index("verdicts_by_supersedes", "supersedes"),
)
"""Every final verdict seen once (the consumer's idempotency gate), for the windows."""

gap_counters = Table(
    "gap_counters",
    metadata,
    Column("market", Text, primary_key=True),
    Column("policy_id", Text, primary_key=True),
    Column("bucket_start", DateTime(timezone=True), primary_key=True),
    Column("verdicts", Integer, nullable=False, server_default=text("0")),
    Column("unsure", Integer, nullable=False, server_default=text("0")),
    Column("calibrations", Integer, nullable=False, server_default=text("0")),
    Column("calibration_disagreed", Integer, nullable=False, server_default=text("0")),
    Column("disputes_resolved", Integer, nullable=False, server_default=text("0")),
    Column("disputes_overturned", Integer, nullable=False, server_default=text("0")),
)
"""Hourly counts per market and policy (by event time) that the policy-gap windows sum."""

disputes = Table(
    "disputes",
    metadata,
    Column("dispute_id", Text, primary_key=True),
    Column("verdict_id", Text, nullable=False),
    Column("decision_id", Text, nullable=False),
    Column("status", Text, nullable=False),
    Column("due_at", DateTime(timezone=True), nullable=False),
    Column("market", Text, nullable=False),
    Column("policy_id", Text, nullable=False),
    Column("moderator_id", Text, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Column("resolved_at", DateTime(timezone=True), nullable=True),
    Column("overdue_case_id", Text, nullable=True),
    Index("disputes_open_due", "due_at", postgresql_where=text("status = 'open'")),
    Index("disputes_by_market_policy", "market", "policy_id", "resolved_at"),
)

signals = Table(
    "signals",
    metadata,
    Column("signal_id", Text, primary_key=True),
    Column("scope", Text, nullable=False),
    Column("moderator_id", Text, nullable=True),
    Column("market", Text, nullable=True),
    Column("policy_id", Text, nullable=True),
    Column("detected_at", DateTime(timezone=True), nullable=False),
)
"""Drift signals seen once."""

targeting_rules = Table(
    "targeting_rules",
    metadata,
    Column("rule_id", Text, primary_key=True),
    Column("case_id", Text, nullable=False),
    Column("event", JSONB, nullable=False),
    Column("active", Boolean, nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("lifetime_seconds", Float, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
    Index("targeting_active", "expires_at", postgresql_where=text("active")),
)
"""The latest state of each targeting rule escalation published."""

rule_sets = Table(
    "rule_sets",
    metadata,
    Column("version", Integer, primary_key=True),
    Column("source", Text, nullable=False),
    Column("document", JSONB, nullable=False),
    Column("note", Text, nullable=True),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    CheckConstraint("version >= 1", name="rule_sets_version_positive"),
)
"""Versions of the rules as uploaded (source text) and validated (normalised document)."""

rule_applications = Table(
    "rule_applications",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("version", Integer, nullable=False),
    Column("applied_by", Text, nullable=False),
    Column("applied_at", DateTime(timezone=True), nullable=False),
)
"""Which version was applied when and by whom; the latest row is in force (none: built-in)."""

webhook_subscriptions = Table(
    "webhook_subscriptions",
    metadata,
    Column("subscription_id", Text, primary_key=True),
    Column("url", Text, nullable=False),
    Column("events", ARRAY(Text), nullable=False),
    Column("secret", Text, nullable=False),
    Column("active", Boolean, nullable=False, server_default=text("true")),
    Column("description", Text, nullable=True),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("delivery_id", BigInteger, primary_key=True, autoincrement=True),
    Column("subscription_id", Text, nullable=False),
    Column("event_type", Text, nullable=False),
    Column("event_key", Text, nullable=False),
    Column("body", LargeBinary, nullable=False),
    Column("status", Text, nullable=False),
    Column("attempts", Integer, nullable=False, server_default=text("0")),
    Column("next_attempt_at", DateTime(timezone=True), nullable=True),
    Column("last_status_code", Integer, nullable=True),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("finished_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("subscription_id", "event_key", name="webhook_deliveries_once_per_event"),
    Index(
        "webhook_deliveries_due",
        "next_attempt_at",
        "delivery_id",
        postgresql_where=text("status = 'pending'"),
    ),
)
"""The delivery queue: written with the change it reports, drained by its own loop."""

webhook_attempts = Table(
    "webhook_attempts",
    metadata,
    Column("id", BigInteger, primary_key=True, autoincrement=True),
    Column("delivery_id", BigInteger, nullable=False),
    Column("attempt", Integer, nullable=False),
    Column("at", DateTime(timezone=True), nullable=False),
    Column("status_code", Integer, nullable=True),
    Column("error", Text, nullable=True),
    Column("duration_ms", Float, nullable=False),
    Index("webhook_attempts_by_delivery", "delivery_id", "attempt"),
)

outbox = outbox_table(metadata)
