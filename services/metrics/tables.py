"""The metrics service's tables (PostgreSQL schema `metrics`)."""

from __future__ import annotations

from sqlalchemy import Boolean, Column, DateTime, Float, Index, Integer, MetaData, Table, Text, text
from sqlalchemy.dialects.postgresql import ARRAY

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
    Index("verdicts_counted", "queue", "market", postgresql_where=text("final AND NOT superseded")),
    Index("verdicts_supersedes", "supersedes"),
)
