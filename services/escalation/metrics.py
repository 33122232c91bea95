"""The escalation service's Prometheus metrics."""

from __future__ import annotations

from prometheus_client import Counter

CASES_CHANGED = Counter(
    "modqa_escalation_case_changes_total", "Case openings and updates", ["kind", "change"]
)
CORRECTIONS_ISSUED = Counter(
    "modqa_escalation_corrections_issued_total", "Corrections queued for moderation systems"
)
