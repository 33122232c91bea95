"""Which events open cases about which subjects, and how repeated triggers group."""

from __future__ import annotations

import datetime as dt

from services.escalation.domain.cases import add_evidence, fresh, open_case
from services.escalation.domain.rules import DEFAULT_SLA, RuleSet, parse_rules
from services.escalation.domain.triggers import (
    DisputeState,
    GapCounts,
    JudgedAudit,
    ModeratorWindow,
    accuracy_trigger,
    critical_miss_triggers,
    drift_triggers,
    gap_figures,
    overdue_dispute_trigger,
    policy_gap_trigger,
)
from services.escalation.rule_handlers import default_rules
from shared.events import (
    CasePriority,
    CaseStatus,
    DisputeStatus,
    DriftSignal,
    EscalationKind,
)
from tests.support.builders import NOW, a_decision, a_verdict

MISS = {
    "outcome": "incorrect",
    "expected_action": "remove",
    "expected_policy_id": "child_safety",
    "error_type": "under_enforcement",
    "severity": "critical",
}
RULES = default_rules()


def test_a_critical_miss_opens_a_p0_case_due_in_fifteen_minutes() -> None:
    verdict = a_verdict(a_decision(action="approve", policy_id="child_safety"), **MISS)
    [trigger] = critical_miss_triggers(verdict, RULES)
    assert (trigger.kind, trigger.severity) == (EscalationKind.CRITICAL_MISS, CasePriority.P0)
    assert trigger.subject == "decision:dec-1"
    case = open_case(trigger, sla=RULES.sla, now=NOW)
    assert case.status is CaseStatus.OPEN
    assert case.due_at == NOW + dt.timedelta(minutes=15)
    assert case.evidence == [verdict.verdict_id]
    assert (case.moderator_id, case.market, case.change, case.revision) == (
        "mod-1",
        "KR",
        "opened",
        1,
    )
    assert open_case(trigger, sla=RULES.sla, now=NOW).escalation_id == case.escalation_id


def test_non_critical_not_final_or_gold_verdicts_are_not_critical_misses() -> None:
    assert critical_miss_triggers(a_verdict(**{**MISS, "severity": "major"}), RULES) == []
    assert critical_miss_triggers(a_verdict(**MISS, final=False), RULES) == []
    assert critical_miss_triggers(a_verdict(**MISS, purpose="gold", final=True), RULES) == []
    assert critical_miss_triggers(a_verdict(**{**MISS, "error_type": "wrong_action"}), RULES) == []
    assert critical_miss_triggers(a_verdict(), RULES) == []


def test_a_rule_can_name_its_critical_policies_instead_of_trusting_the_verdict() -> None:
    rules = parse_rules(
        "rules: [{id: cm, kind: critical_miss, severity: p1, policies: [self_harm]}]"
    )
    assert critical_miss_triggers(a_verdict(**MISS), rules) == []
    [trigger] = critical_miss_triggers(
        a_verdict(**{**MISS, "severity": "major", "expected_policy_id": "self_harm"}), rules
    )
    assert trigger.severity is CasePriority.P1


def test_repeated_triggers_grow_the_case_once_per_new_evidence() -> None:
    verdict = a_verdict(**MISS)
    [trigger] = critical_miss_triggers(verdict, RULES)
    case = open_case(trigger, sla=RULES.sla, now=NOW)
    assert add_evidence(case, trigger, now=NOW) is None
    [other] = critical_miss_triggers(a_verdict(**MISS, verdict_id="verdict-2"), RULES)
    grown = add_evidence(case, other, now=NOW)
    assert grown is not None
    assert (grown.trigger_count, grown.revision, grown.evidence, grown.change) == (
        2,
        2,
        [verdict.verdict_id, "verdict-2"],
        "evidence_added",
    )


def test_evidence_a_closed_case_handled_does_not_open_a_new_one() -> None:
    [trigger] = critical_miss_triggers(a_verdict(**MISS), RULES)
    assert fresh(trigger, frozenset({"verdict-dec-1"})) is None
    assert fresh(trigger, frozenset({"other"})) == trigger


def window(outcomes: str) -> ModeratorWindow:
    return ModeratorWindow(
        "mod-7",
        "team-b",
        tuple(JudgedAudit(f"v{i}", c == "c") for i, c in enumerate(outcomes)),
    )


def test_accuracy_over_the_last_n_audits_below_the_bar_opens_a_coaching_case() -> None:
    [rule] = RULES.moderator_performance()
    assert rule.last_n == 20 and rule.min_accuracy == 0.85
    assert accuracy_trigger(rule, window("c" * 19)) is None, "fewer than N audits judge nothing"
    assert accuracy_trigger(rule, window("c" * 17 + "x" * 3)) is None, "85% is not below 85%"
    trigger = accuracy_trigger(rule, window("x" * 4 + "c" * 16 + "x" * 10))
    assert trigger is not None
    assert (trigger.kind, trigger.subject) == (
        EscalationKind.MODERATOR_PERFORMANCE,
        "moderator:mod-7",
    )
    assert trigger.evidence == ("v0", "v1", "v2", "v3"), "only the last N count"
    assert trigger.owner == "lead:team-b"
    [figure] = trigger.figures
    assert (figure.name, figure.value, figure.numerator, figure.denominator) == (
        "accuracy",
        0.8,
        16,
        20,
    )


def counts(**kw: int) -> GapCounts:
    return GapCounts("KR", "hate_speech", NOW - dt.timedelta(days=7), NOW, **kw)


def test_policy_gap_shares_above_their_bar_with_enough_sample_open_a_policy_case() -> None:
    [rule] = RULES.policy_gap()
    assert gap_figures(rule, counts(verdicts=19, unsure=19)) == (), "below min_sample"
    assert gap_figures(rule, counts(verdicts=100, unsure=20)) == (), "20% is not above 20%"
    figures = gap_figures(
        rule,
        counts(
            verdicts=100,
            unsure=21,
            calibrations=20,
            calibration_disagreed=7,
            disputes_resolved=20,
            disputes_overturned=5,
        ),
    )
    assert [(f.name, f.numerator, f.denominator) for f in figures] == [
        ("unsure_share", 21, 100),
        ("calibration_disagreement_share", 7, 20),
    ]
    trigger = policy_gap_trigger(rule, counts(verdicts=100, unsure=21), figures, ("v1", "v2"))
    assert trigger is not None
    assert (trigger.subject, trigger.owner) == ("market-policy:KR/hate_speech", "policy-team")
    assert policy_gap_trigger(rule, counts(), figures, ()) is None, "a case needs evidence"


def drift(**kw: object) -> DriftSignal:
    fields: dict[str, object] = {
        "signal_id": "drift-1",
        "scope": "moderator",
        "moderator_id": "mod-9",
        "moderator_team": "team-c",
        "baseline_error_rate": 0.05,
        "recent_error_rate": 0.2,
        "statistic": 6.0,
        "threshold": 5.0,
        "audits": 100,
        "evidence": ["v-1", "v-2"],
        "detected_at": NOW,
    }
    fields.update(kw)
    return DriftSignal.model_validate(fields)


def test_drift_signals_open_coaching_or_policy_cases_by_their_scope() -> None:
    [coaching] = drift_triggers(drift(), RULES)
    assert (coaching.kind, coaching.subject) == (
        EscalationKind.MODERATOR_PERFORMANCE,
        "moderator:mod-9",
    )
    assert coaching.evidence == ("drift-1", "v-1", "v-2") and coaching.owner == "lead:team-c"
    [policy] = drift_triggers(
        drift(scope="market_policy", moderator_id=None, market="DE", policy_id="spam"), RULES
    )
    assert (policy.kind, policy.subject) == (EscalationKind.POLICY_GAP, "market-policy:DE/spam")
    deaf = RuleSet(
        sla=DEFAULT_SLA,
        rules=[
            r.model_copy(update={"on_drift_signal": False}) if hasattr(r, "on_drift_signal") else r
            for r in RULES.rules
        ],
    )
    assert drift_triggers(drift(), deaf) == []


def test_a_dispute_open_past_its_due_time_opens_a_case_for_the_smes() -> None:
    dispute = DisputeState("disp-1", "v-1", "dec-1", DisputeStatus.OPEN, NOW, "KR", "spam", "mod-1")
    rule = RULES.dispute()
    assert overdue_dispute_trigger(rule, dispute, now=NOW - dt.timedelta(seconds=1)) is None
    trigger = overdue_dispute_trigger(rule, dispute, now=NOW)
    assert trigger is not None
    assert (trigger.kind, trigger.subject, trigger.owner) == (
        EscalationKind.DISPUTE,
        "dispute:disp-1",
        "sme",
    )
    upheld = DisputeState("disp-1", "v-1", "dec-1", DisputeStatus.UPHELD, NOW, "KR", "spam", "m")
    assert overdue_dispute_trigger(rule, upheld, now=NOW) is None
