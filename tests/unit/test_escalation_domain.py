"""Which verdicts open cases and which decisions get corrections."""

from __future__ import annotations

import datetime as dt

from services.escalation.domain import add_evidence, correction_for, open_case, triggers_for
from shared.events import CasePriority, CaseStatus, EscalationKind
from tests.support.builders import NOW, a_decision, a_verdict

MISS = {
    "outcome": "incorrect",
    "expected_action": "remove",
    "expected_policy_id": "child_safety",
    "error_type": "under_enforcement",
    "severity": "critical",
}


def test_a_critical_miss_opens_a_p0_case_due_in_fifteen_minutes() -> None:
    verdict = a_verdict(a_decision(action="approve", policy_id="child_safety"), **MISS)
    [trigger] = triggers_for(verdict)
    assert (trigger.kind, trigger.severity) == (EscalationKind.CRITICAL_MISS, CasePriority.P0)
    case = open_case(trigger, now=NOW)
    assert case.status is CaseStatus.OPEN
    assert case.due_at == NOW + dt.timedelta(minutes=15)
    assert case.evidence == [verdict.verdict_id]
    assert open_case(trigger, now=NOW).escalation_id == case.escalation_id


def test_non_critical_or_not_final_verdicts_open_nothing() -> None:
    assert triggers_for(a_verdict(**{**MISS, "severity": "major"})) == []
    assert triggers_for(a_verdict(**MISS, final=False)) == []
    assert triggers_for(a_verdict()) == []


def test_the_same_evidence_never_counts_twice() -> None:
    verdict = a_verdict(**MISS)
    [trigger] = triggers_for(verdict)
    case = open_case(trigger, now=NOW)
    assert add_evidence(case, trigger, now=NOW) is None
    other = trigger.__class__(trigger.kind, trigger.subject, trigger.severity, "verdict-2")
    grown = add_evidence(case, other, now=NOW)
    assert grown is not None
    assert (grown.trigger_count, grown.revision, grown.evidence) == (
        2,
        2,
        [verdict.verdict_id, "verdict-2"],
    )


def test_a_wrong_decision_gets_a_correction_with_the_expected_action() -> None:
    verdict = a_verdict(**MISS)
    correction = correction_for(verdict, now=NOW)
    assert correction is not None
    assert (correction.decision_id, correction.content_id) == ("dec-1", "content-1")
    assert (correction.corrected_action.value, correction.corrected_policy_id) == (
        "remove",
        "child_safety",
    )
    assert correction_for(a_verdict(), now=NOW) is None
    assert correction_for(a_verdict(**MISS, final=False), now=NOW) is None
