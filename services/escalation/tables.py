"""The escalation service's tables (PostgreSQL schema `escalation`)."""

from __future__ import annotations

from sqlalchemy import Column, DateTime, Index, Integer, MetaData, Table, Text, text
from sqlalchemy.dialects.postgresql import ARRAY

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
    Index(
        "cases_one_open_per_subject",
        "kind",
        "subject",
        unique=True,
        postgresql_where=text(f"status IN {OPEN_STATES}"),
    ),
)

corrections = Table(
    "corrections",
    metadata,
    Column("correction_id", Text, primary_key=True),
    Column("decision_id", Text, nullable=False, unique=True),
    Column("content_id", Text, nullable=False),
    Column("verdict_id", Text, nullable=False),
    Column("corrected_action", Text, nullable=True),
    Column("corrected_policy_id", Text, nullable=True),
    Column("issued_at", DateTime(timezone=True), nullable=False),
)

outbox = outbox_table(metadata)
