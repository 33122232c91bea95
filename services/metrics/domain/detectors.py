"""Which subjects a verdict feeds to drift detectors, and the signal a crossing makes, pure."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from services.metrics.domain.drift import CusumDesign, CusumState
from shared.events import DriftScope, DriftSignal, Outcome, Verdict, VerdictPurpose
from shared.ids import derived_id

MAX_EVIDENCE = 20


@dataclass(frozen=True)
class Subject:
    scope: DriftScope
    key: str
    moderator_id: str | None = None
    moderator_team: str | None = None
    market: str | None = None
    policy_id: str | None = None


def feeds_drift(verdict: Verdict) -> bool:
    """Final judgements of real decisions (not gold, not amendments, not unsure) feed drift."""
    return (
        verdict.final
        and verdict.supersedes is None
        and verdict.purpose is not VerdictPurpose.GOLD
        and verdict.outcome in (Outcome.CORRECT, Outcome.INCORRECT)
        and verdict.decision is not None
    )


def subjects_of(verdict: Verdict) -> list[Subject]:
    """The moderator and the market x policy a verdict is evidence about."""
    d = verdict.decision
    assert d is not None
    return [
        Subject(
            DriftScope.MODERATOR,
            d.moderator_id,
            moderator_id=d.moderator_id,
            moderator_team=d.moderator_team,
        ),
        Subject(
            DriftScope.MARKET_POLICY,
            f"{d.market}/{d.policy_id}",
            market=d.market,
            policy_id=d.policy_id,
        ),
    ]


def signal_for(
    subject: Subject,
    design: CusumDesign,
    before: CusumState,
    error: bool,
    statistic: float,
    evidence: list[str],
    now: dt.datetime,
) -> DriftSignal:
    """The drift signal for a detector that just crossed its threshold."""
    since = before.since_reset + 1
    errors = before.errors_since_reset + int(error)
    return DriftSignal(
        signal_id=derived_id("drift", subject.scope.value, subject.key, str(before.audits + 1)),
        scope=subject.scope,
        moderator_id=subject.moderator_id,
        moderator_team=subject.moderator_team,
        market=subject.market,
        policy_id=subject.policy_id,
        baseline_error_rate=design.p0,
        recent_error_rate=errors / since,
        statistic=round(statistic, 4),
        threshold=design.h,
        audits=before.audits + 1,
        evidence=evidence[-MAX_EVIDENCE:],
        detected_at=now,
    )
