"""Rule evaluation, pure: which events and windowed figures call for a case, about what subject.

A trigger names the case kind and its subject (`decision:<id>`, `moderator:<id>`,
`market-policy:<market>/<policy>`, `dispute:<id>`), the evidence ids behind it, and the rule
that fired. Repeated triggers about one subject grow the open case instead of opening another.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from services.escalation.domain.rules import (
    DisputeRule,
    ModeratorPerformanceRule,
    PolicyGapRule,
    RuleSet,
    Target,
)
from shared.events import (
    CaseFigure,
    CasePriority,
    DisputeStatus,
    DriftScope,
    DriftSignal,
    ErrorType,
    EscalationKind,
    Outcome,
    Severity,
    Verdict,
    VerdictPurpose,
)

MAX_EVIDENCE_PER_TRIGGER = 50


@dataclass(frozen=True)
class Scope:
    """Who or what a case is about, as far as the triggering events say."""

    moderator_id: str | None = None
    moderator_team: str | None = None
    market: str | None = None
    policy_id: str | None = None

    def fill(self, template: str | None) -> str | None:
        """An owner template such as `lead:{moderator_team}` with this scope's values."""
        if template is None:
            return None
        values = {
            "moderator_id": self.moderator_id or "unknown",
            "moderator_team": self.moderator_team or "unknown",
            "market": self.market or "unknown",
            "policy_id": self.policy_id or "unknown",
        }
        return template.format_map(values)


@dataclass(frozen=True)
class CaseTrigger:
    """A reason to open (or add evidence to) a case about a subject."""

    kind: EscalationKind
    subject: str
    severity: CasePriority
    evidence: tuple[str, ...]
    rule_id: str
    scope: Scope = field(default_factory=Scope)
    owner: str | None = None
    figures: tuple[CaseFigure, ...] = ()
    target: Target | None = None


def moderator_subject(moderator_id: str) -> str:
    """The subject of a case about a moderator."""
    return f"moderator:{moderator_id}"


def market_policy_subject(market: str, policy_id: str) -> str:
    """The subject of a case about a policy in a market."""
    return f"market-policy:{market}/{policy_id}"


def counts_for_quality(verdict: Verdict) -> bool:
    """A final verdict about a real moderation decision (gold answers are not decisions)."""
    return verdict.final and verdict.purpose is not VerdictPurpose.GOLD


def is_critical_miss(verdict: Verdict, policies: list[str] | None = None) -> bool:
    """A final verdict saying a violation of a critical policy was let through."""
    if not (
        counts_for_quality(verdict)
        and verdict.outcome is Outcome.INCORRECT
        and verdict.error_type is ErrorType.UNDER_ENFORCEMENT
    ):
        return False
    if policies:
        policy = verdict.expected_policy_id or (
            verdict.decision.policy_id if verdict.decision else None
        )
        return policy in policies
    return verdict.severity is Severity.CRITICAL


def verdict_scope(verdict: Verdict) -> Scope:
    """The moderator, team, market and policy of the audited decision."""
    decision = verdict.decision
    if decision is None:
        return Scope()
    return Scope(
        moderator_id=decision.moderator_id,
        moderator_team=decision.moderator_team,
        market=decision.market,
        policy_id=decision.policy_id,
    )


def critical_miss_triggers(verdict: Verdict, rules: RuleSet) -> list[CaseTrigger]:
    """One p0 (by default) case per missed critical violation, about that decision."""
    triggers = []
    for rule in rules.critical_miss():
        if is_critical_miss(verdict, rule.policies):
            scope = verdict_scope(verdict)
            triggers.append(
                CaseTrigger(
                    kind=EscalationKind.CRITICAL_MISS,
                    subject=f"decision:{verdict.decision_id}",
                    severity=rule.severity,
                    evidence=(verdict.verdict_id,),
                    rule_id=rule.id,
                    scope=scope,
                    owner=scope.fill(rule.owner),
                    target=rule.target,
                )
            )
    return triggers


@dataclass(frozen=True)
class JudgedAudit:
    """One judged (correct or incorrect) final verdict on a moderator's decision."""

    verdict_id: str
    correct: bool


@dataclass(frozen=True)
class ModeratorWindow:
    """A moderator's most recent judged audits, newest first."""

    moderator_id: str
    moderator_team: str | None
    audits: tuple[JudgedAudit, ...]


def accuracy_trigger(rule: ModeratorPerformanceRule, window: ModeratorWindow) -> CaseTrigger | None:
    """A coaching case when accuracy over the last N judged audits is below the bar."""
    last = window.audits[: rule.last_n]
    if len(last) < rule.last_n:
        return None
    correct = sum(1 for audit in last if audit.correct)
    accuracy = correct / len(last)
    if accuracy >= rule.min_accuracy:
        return None
    scope = Scope(moderator_id=window.moderator_id, moderator_team=window.moderator_team)
    wrong = tuple(audit.verdict_id for audit in last if not audit.correct)
    return CaseTrigger(
        kind=EscalationKind.MODERATOR_PERFORMANCE,
        subject=moderator_subject(window.moderator_id),
        severity=rule.severity,
        evidence=wrong[:MAX_EVIDENCE_PER_TRIGGER],
        rule_id=rule.id,
        scope=scope,
        owner=scope.fill(rule.owner),
        figures=(
            CaseFigure(
                name="accuracy",
                value=round(accuracy, 6),
                threshold=rule.min_accuracy,
                numerator=correct,
                denominator=len(last),
            ),
        ),
        target=rule.target,
    )


@dataclass(frozen=True)
class GapCounts:
    """Counts for one market and policy within a window."""

    market: str
    policy_id: str
    since: dt.datetime
    until: dt.datetime
    verdicts: int = 0
    unsure: int = 0
    calibrations: int = 0
    calibration_disagreed: int = 0
    disputes_resolved: int = 0
    disputes_overturned: int = 0


def gap_figures(rule: PolicyGapRule, counts: GapCounts) -> tuple[CaseFigure, ...]:
    """The shares above their bar (each judged only on at least `min_sample` events)."""
    measured = (
        ("unsure_share", rule.max_unsure_share, counts.unsure, counts.verdicts),
        (
            "calibration_disagreement_share",
            rule.max_calibration_disagreement_share,
            counts.calibration_disagreed,
            counts.calibrations,
        ),
        (
            "overturned_dispute_share",
            rule.max_overturned_dispute_share,
            counts.disputes_overturned,
            counts.disputes_resolved,
        ),
    )
    figures = []
    for name, bar, numerator, denominator in measured:
        if bar is None or denominator < rule.min_sample:
            continue
        share = numerator / denominator
        if share > bar:
            figures.append(
                CaseFigure(
                    name=name,
                    value=round(share, 6),
                    threshold=bar,
                    numerator=numerator,
                    denominator=denominator,
                    window_start=counts.since,
                    window_end=counts.until,
                )
            )
    return tuple(figures)


def policy_gap_trigger(
    rule: PolicyGapRule,
    counts: GapCounts,
    figures: tuple[CaseFigure, ...],
    evidence: tuple[str, ...],
) -> CaseTrigger | None:
    """A policy case for the market and policy whose figures are above their bars (a case
    always carries evidence, so without any there is no trigger)."""
    if not figures or not evidence:
        return None
    scope = Scope(market=counts.market, policy_id=counts.policy_id)
    return CaseTrigger(
        kind=EscalationKind.POLICY_GAP,
        subject=market_policy_subject(counts.market, counts.policy_id),
        severity=rule.severity,
        evidence=evidence[:MAX_EVIDENCE_PER_TRIGGER],
        rule_id=rule.id,
        scope=scope,
        owner=scope.fill(rule.owner),
        figures=figures,
        target=rule.target,
    )


def drift_triggers(signal: DriftSignal, rules: RuleSet) -> list[CaseTrigger]:
    """A moderator's drift opens a coaching case, a market x policy's drift a policy case (the
    first enabled rule of that kind listening to drift speaks for all: one case per subject)."""
    figure = CaseFigure(
        name="drift_statistic",
        value=signal.statistic,
        threshold=signal.threshold,
        window_end=signal.detected_at,
    )
    rate = CaseFigure(
        name="recent_error_rate",
        value=signal.recent_error_rate,
        threshold=signal.baseline_error_rate,
    )
    evidence = (signal.signal_id, *signal.evidence)[:MAX_EVIDENCE_PER_TRIGGER]
    if signal.scope is DriftScope.MODERATOR and signal.moderator_id is not None:
        perf = next((r for r in rules.moderator_performance() if r.on_drift_signal), None)
        if perf is None:
            return []
        scope = Scope(moderator_id=signal.moderator_id, moderator_team=signal.moderator_team)
        return [
            CaseTrigger(
                kind=EscalationKind.MODERATOR_PERFORMANCE,
                subject=moderator_subject(signal.moderator_id),
                severity=perf.severity,
                evidence=evidence,
                rule_id=perf.id,
                scope=scope,
                owner=scope.fill(perf.owner),
                figures=(figure, rate),
                target=perf.target,
            )
        ]
    if signal.market is None or signal.policy_id is None:
        return []
    gap = next((r for r in rules.policy_gap() if r.on_drift_signal), None)
    if gap is None:
        return []
    scope = Scope(market=signal.market, policy_id=signal.policy_id)
    return [
        CaseTrigger(
            kind=EscalationKind.POLICY_GAP,
            subject=market_policy_subject(signal.market, signal.policy_id),
            severity=gap.severity,
            evidence=evidence,
            rule_id=gap.id,
            scope=scope,
            owner=scope.fill(gap.owner),
            figures=(figure, rate),
            target=gap.target,
        )
    ]


@dataclass(frozen=True)
class DisputeState:
    """What escalation knows of a dispute."""

    dispute_id: str
    verdict_id: str
    decision_id: str
    status: DisputeStatus
    due_at: dt.datetime
    market: str
    policy_id: str
    moderator_id: str


def overdue_dispute_trigger(
    rule: DisputeRule | None, dispute: DisputeState, *, now: dt.datetime
) -> CaseTrigger | None:
    """A case for an SME when a dispute is still open past its arbitration due time."""
    if rule is None or dispute.status is not DisputeStatus.OPEN or dispute.due_at > now:
        return None
    scope = Scope(
        moderator_id=dispute.moderator_id, market=dispute.market, policy_id=dispute.policy_id
    )
    return CaseTrigger(
        kind=EscalationKind.DISPUTE,
        subject=f"dispute:{dispute.dispute_id}",
        severity=rule.severity,
        evidence=(dispute.dispute_id, dispute.verdict_id),
        rule_id=rule.id,
        scope=scope,
        owner=scope.fill(rule.owner),
    )
