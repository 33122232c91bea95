"""autovacuum for queue tables

Revision ID: 0003
Revises: 0002
Create Date: 2026-11-23 12:55:00.000000

The claim query walks `tasks_claimable` in priority order and probes `leases` by primary key
only while the planner knows how many claimable tasks and leases there are; with statistics
from a nearly empty table it sorts every claimable task instead (100x slower). Tasks and leases
churn like a queue, so they are analysed and vacuumed after 1-2% of their rows change rather
than PostgreSQL's default 10-20%; the outbox likewise.
"""

from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None

QUEUE_TABLES = ("tasks", "leases", "outbox")
SETTINGS = (
    "autovacuum_vacuum_scale_factor = 0.02, autovacuum_analyze_scale_factor = 0.01, "
    "autovacuum_vacuum_threshold = 200, autovacuum_analyze_threshold = 200"
)


def upgrade() -> None:
    for table in QUEUE_TABLES:
        op.execute(f"ALTER TABLE audit.{table} SET ({SETTINGS})")


def downgrade() -> None:
    for table in QUEUE_TABLES:
        op.execute(
            f"ALTER TABLE audit.{table} RESET (autovacuum_vacuum_scale_factor, "
            "autovacuum_analyze_scale_factor, autovacuum_vacuum_threshold, "
            "autovacuum_analyze_threshold)"
        )
