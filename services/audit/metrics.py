"""The audit service's Prometheus metrics (`modqa_audit_<thing>_<unit>`)."""

from __future__ import annotations

from prometheus_client import Counter, Gauge

TASKS_STORED = Counter("modqa_audit_tasks_stored_total", "New tasks stored from audit.tasks")
TASKS_CLAIMED = Counter("modqa_audit_tasks_claimed_total", "Tasks leased to auditors")
VERDICTS_RECORDED = Counter("modqa_audit_verdicts_recorded_total", "Verdicts recorded", ["outcome"])
LEASES_ENDED = Counter(
    "modqa_audit_leases_ended_total", "Leases ended without a verdict", ["reason"]
)
DISPUTES = Counter("modqa_audit_dispute_changes_total", "Dispute state changes", ["status"])
QUEUE = Gauge("modqa_audit_queue_tasks", "Open tasks per status", ["status"])
OPEN_DISPUTES = Gauge("modqa_audit_open_disputes", "Disputes waiting for an SME", ["overdue"])

# zeros from the start, so dashboards and alerts see every series before the first event
for _reason in ("expired", "released"):
    LEASES_ENDED.labels(_reason)
for _status in ("open", "upheld", "overturned"):
    DISPUTES.labels(_status)
for _outcome in ("correct", "incorrect", "unsure"):
    VERDICTS_RECORDED.labels(_outcome)
