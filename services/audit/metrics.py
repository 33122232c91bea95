"""The audit service's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter

TASKS_STORED = Counter("modqa_audit_tasks_stored_total", "New tasks stored from audit.tasks")
TASKS_CLAIMED = Counter("modqa_audit_tasks_claimed_total", "Tasks leased to auditors")
VERDICTS_RECORDED = Counter("modqa_audit_verdicts_recorded_total", "Verdicts recorded", ["outcome"])
