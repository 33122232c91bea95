"""The audit service's Prometheus metrics (`modqa_audit_<thing>_<unit>`), per auditor pool.

Pools are the budgeted auditor pools of the sampling plans (a handful per deployment), so the
`pool` label stays bounded. Counters and the handle-time histogram count what this process
did; the queue gauges are read from the database by the sweeper, so every replica reports the
same backlog (aggregate them with `max`, not `sum`, across replicas).
"""

from __future__ import annotations

from prometheus_client import Counter, Gauge, Histogram

DEFAULT_POOL = "default"

TASKS_STORED = Counter("modqa_audit_tasks_stored_total", "New tasks stored from audit.tasks")
TASKS_CLAIMED = Counter("modqa_audit_tasks_claimed_total", "Tasks leased to auditors", ["pool"])
VERDICTS_RECORDED = Counter(
    "modqa_audit_verdicts_recorded_total", "Verdicts recorded", ["pool", "outcome"]
)
HANDLE_TIME = Histogram(
    "modqa_audit_handle_time_seconds",
    "Time from claiming a task to recording its verdict",
    ["pool"],
    buckets=(10, 30, 60, 120, 300, 600, 1200, 1800, 3600, 7200),
)
LEASES_ENDED = Counter(
    "modqa_audit_leases_ended_total", "Leases ended without a verdict", ["pool", "reason"]
)
DISPUTES = Counter("modqa_audit_dispute_changes_total", "Dispute state changes", ["status"])
QUEUE = Gauge("modqa_audit_queue_tasks", "Open tasks per pool and status", ["pool", "status"])
OPEN_DISPUTES = Gauge("modqa_audit_open_disputes", "Disputes waiting for an SME", ["overdue"])

# zeros from the start, so dashboards and alerts see every series before the first event
TASKS_CLAIMED.labels(DEFAULT_POOL)
HANDLE_TIME.labels(DEFAULT_POOL)
for _reason in ("expired", "released"):
    LEASES_ENDED.labels(DEFAULT_POOL, _reason)
for _status in ("open", "upheld", "overturned"):
    DISPUTES.labels(_status)
for _outcome in ("correct", "incorrect", "unsure"):
    VERDICTS_RECORDED.labels(DEFAULT_POOL, _outcome)


def verdict_recorded(*, pool: str, outcome: str, handle_s: float | None) -> None:
    VERDICTS_RECORDED.labels(pool, outcome).inc()
    if handle_s is not None:
        HANDLE_TIME.labels(pool).observe(max(handle_s, 0.0))


def queue_sizes(counts: dict[tuple[str, str], int], *, known: set[tuple[str, str]]) -> None:
    """Set the backlog gauges from a (pool, status) -> count reading; series seen before and
    absent now go to zero (an emptied pool shows 0, not its last value)."""
    for key in known - counts.keys():
        QUEUE.labels(*key).set(0)
    for key, count in counts.items():
        QUEUE.labels(*key).set(count)
    known.update(counts)
