"""Escalation rules, pure: which verdicts open cases, which wrong decisions need corrections."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared.events import (
    CasePriority,
    CaseStatus,
    Correction,
    ErrorType,
    Escalation,
    EscalationKind,
    Outcome,
    Severity,
    Verdict,
)
from shared.ids import correction_id, derived_id

ACKNOWLEDGE_WITHIN: dict[CasePriority, dt.timedelta] = {
    CasePriority.P0: dt.timedelta(minutes=15),
    CasePriority.P1: dt.timedelta(hours=1),
    CasePriority.P2: dt.timedelta(hours=8),
    CasePriority.P3: dt.timedelta(days=2),
}


@dataclass(frozen=True)
class CaseTrigger:
    """A reason to open (or add evidence to) a case about a subject."""

    kind: EscalationKind
    subject: str
    severity: CasePriority
    evidence: str


def is_critical_miss(verdict: Verdict) -> bool:
    """A final verdict saying a violation of a critical policy was let through."""
    return (
        verdict.final
        and verdict.outcome is Outcome.INCORRECT
        and verdict.error_type is ErrorType.UNDER_ENFORCEMENT
        and verdict.severity is Severity.CRITICAL
    )


def triggers_for(verdict: Verdict) -> list[CaseTrigger]:
    """The cases a verdict calls for."""
    if is_critical_miss(verdict):
        return [
            CaseTrigger(
                kind=EscalationKind.CRITICAL_MISS,
                subject=f"decision:{verdict.decision_id}",
                severity=CasePriority.P0,
                evidence=verdict.verdict_id,
            )
        ]
    return []


def open_case(trigger: CaseTrigger, *, now: dt.datetime) -> Escalation:
    """A new case for a trigger, due for acknowledgement by its severity's deadline."""
    return Escalation(
        escalation_id=derived_id("case", trigger.kind.value, trigger.subject, trigger.evidence),
        kind=trigger.kind,
        severity=trigger.severity,
        status=CaseStatus.OPEN,
        subject=trigger.subject,
        evidence=[trigger.evidence],
        due_at=now + ACKNOWLEDGE_WITHIN[trigger.severity],
        trigger_count=1,
        revision=1,
        updated_at=now,
    )


def add_evidence(case: Escalation, trigger: CaseTrigger, *, now: dt.datetime) -> Escalation | None:
    """The case with one more trigger's evidence, or None when it already holds it."""
    if trigger.evidence in case.evidence:
        return None
    return case.model_copy(
        update={
            "evidence": [*case.evidence, trigger.evidence],
            "trigger_count": case.trigger_count + 1,
            "revision": case.revision + 1,
            "updated_at": now,
        }
    )


def correction_for(verdict: Verdict, *, now: dt.datetime) -> Correction | None:
    """The correction a final verdict finding the decision wrong calls for."""
    if not verdict.final or verdict.outcome is not Outcome.INCORRECT or verdict.decision is None:
        return None
    return Correction(
        correction_id=correction_id(verdict.decision_id, verdict.verdict_id),
        content_id=verdict.decision.content_id,
        decision_id=verdict.decision_id,
        corrected_action=verdict.expected_action,
        corrected_policy_id=verdict.expected_policy_id,
        verdict_id=verdict.verdict_id,
        issued_at=now,
    )
