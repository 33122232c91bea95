"""The sampler's tables (PostgreSQL schema `sampler`): plans, their revisions in force,
targeting rules as received, and the recent-traffic summary."""

from __future__ import annotations

from sqlalchemy import (
    BigInteger,
    Column,
    Date,
    DateTime,
    ForeignKeyConstraint,
    Index,
    Integer,
    MetaData,
    Table,
    Text,
    text,
)
from sqlalchemy.dialects.postgresql import JSONB

metadata = MetaData(schema="sampler")

plan_versions = Table(
    "plan_versions",
    metadata,
    Column("plan_id", Text, primary_key=True),
    Column("version", Integer, primary_key=True),
    Column("document", JSONB, nullable=False),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
)

revisions = Table(
    "revisions",
    metadata,
    Column("seq", BigInteger, primary_key=True, autoincrement=True),
    Column("plan_id", Text, nullable=False),
    Column("version", Integer, nullable=False),
    Column("effective_from", DateTime(timezone=True), nullable=False),
    Column("reason", Text, nullable=False),
    Column("scales", JSONB, nullable=False, server_default=text("'{}'::jsonb")),
    Column("allocation", JSONB, nullable=True),
    Column("created_by", Text, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    ForeignKeyConstraint(
        ["plan_id", "version"], ["sampler.plan_versions.plan_id", "sampler.plan_versions.version"]
    ),
    Index("revisions_in_force", "effective_from", "seq"),
    Index("revisions_created", "created_at"),
)

targeting_rules = Table(
    "targeting_rules",
    metadata,
    Column("rule_id", Text, primary_key=True),
    Column("updated_at", DateTime(timezone=True), primary_key=True),
    Column("received_at", DateTime(timezone=True), nullable=False),
    Column("effective_from", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("rule", JSONB, nullable=False),
    Index("targeting_received", "received_at"),
)

traffic_days = Table(
    "traffic_days",
    metadata,
    Column("day", Date, primary_key=True),
    Column("summary", JSONB, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)
