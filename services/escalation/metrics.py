"""The escalation service's Prometheus metrics (`modqa_escalation_*`)."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from prometheus_client import Counter, Gauge, Histogram

from shared.db.outbox import OutboxMessage
from shared.events import EscalationKind

CASE_SECONDS = (60, 300, 900, 1800, 3600, 4 * 3600, 8 * 3600, 86400, 3 * 86400, 7 * 86400)

CASES_CHANGED = Counter(
    "modqa_escalation_case_changes_total", "Case openings and changes", ["kind", "change"]
)
OPEN_CASES = Gauge(
    "modqa_escalation_open_cases",
    "Cases open, acknowledged or investigating",
    ["kind", "severity"],
)
SLA_BREACHES = Counter(
    "modqa_escalation_sla_breaches_total",
    "Cases that missed their due time (acknowledge or resolve)",
    ["kind", "phase"],
)
TIME_TO_ACKNOWLEDGE = Histogram(
    "modqa_escalation_time_to_acknowledge_seconds",
    "From a case opening to a person acknowledging it",
    ["kind", "severity"],
    buckets=CASE_SECONDS,
)
TIME_TO_RESOLVE = Histogram(
    "modqa_escalation_time_to_resolve_seconds",
    "From a case opening to it being resolved or dismissed",
    ["kind", "outcome"],
    buckets=CASE_SECONDS,
)
CORRECTIONS_ISSUED = Counter(
    "modqa_escalation_corrections_issued_total",
    "Corrections queued for moderation systems (issued, replaced, retracted)",
    ["kind"],
)
CORRECTION_LATENCY = Histogram(
    "modqa_escalation_correction_latency_seconds",
    "From the verdict's submission to its correction being published on Kafka",
    buckets=(0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300, 900, 3600),
)
WEBHOOK_ATTEMPTS = Counter(
    "modqa_escalation_webhook_attempts_total",
    "Webhook delivery attempts by result (delivered, failed, parked)",
    ["result"],
)
WEBHOOK_DELIVERIES = Gauge(
    "modqa_escalation_webhook_deliveries",
    "Webhook deliveries waiting (pending) or given up (parked)",
    ["status"],
)
UNACKNOWLEDGED_AGE = Gauge(
    "modqa_escalation_unacknowledged_oldest_seconds",
    "Age of the oldest case nobody has acknowledged yet (0 when none waits)",
    ["severity"],
)
SEVERITIES = ("p0", "p1", "p2", "p3")
RULES_VERSION = Gauge(
    "modqa_escalation_rules_version", "The rule set version in force (0: built-in defaults)"
)

VERDICT_SUBMITTED_HEADER = "modqa.verdict_submitted_at"
"""Carried on each correction record: when the verdict behind it was submitted."""


def set_open_cases(counts: Sequence[tuple[str, str, int]]) -> None:
    """Replace the open-case gauge with fresh counts."""
    OPEN_CASES.clear()
    for kind, severity, count in counts:
        OPEN_CASES.labels(kind, severity).set(count)


def export_zeros() -> None:
    """Create the labelled series at zero so dashboards and alerts see them before any event."""
    for kind in EscalationKind:
        for phase in ("acknowledge", "resolve"):
            SLA_BREACHES.labels(kind.value, phase)
    for correction in ("issued", "replaced", "retracted"):
        CORRECTIONS_ISSUED.labels(correction)
    for result in ("delivered", "failed", "parked"):
        WEBHOOK_ATTEMPTS.labels(result)
    for status in ("pending", "parked"):
        WEBHOOK_DELIVERIES.labels(status)
    set_unacknowledged_ages({})


def set_unacknowledged_ages(ages: dict[str, float]) -> None:
    """Every severity gets a value, 0 when nothing waits, so alerts see the series."""
    for severity in SEVERITIES:
        UNACKNOWLEDGED_AGE.labels(severity).set(max(0.0, ages.get(severity, 0.0)))


def observe_published(
    messages: Sequence[OutboxMessage], *, corrections_topic: str, now: dt.datetime
) -> None:
    """Time each published correction from its verdict's submission."""
    for message in messages:
        if message.topic != corrections_topic:
            continue
        submitted = dict(message.headers).get(VERDICT_SUBMITTED_HEADER)
        if submitted:
            seconds = (now - dt.datetime.fromisoformat(submitted)).total_seconds()
            CORRECTION_LATENCY.observe(max(0.0, seconds))
