"""Verdict events, pure: how each verdict is stamped (which one counts, its round, its
scoring) and the event a resolved judgement becomes."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from services.audit.domain.verdicts import InvalidVerdict, Submission
from shared.events import Decision, Verdict, VerdictPurpose


def mean_score(scores: Sequence[float | None]) -> float | None:
    """The mean QA score of a round (None unless every review was scored)."""
    if not scores or any(s is None for s in scores):
        return None
    present = [s for s in scores if s is not None]
    return round(sum(present) / len(present), 2)


@dataclass(frozen=True)
class Stamp:
    """What a verdict event records besides the judgement: its place and scoring."""

    purpose: VerdictPurpose = VerdictPurpose.AUDIT
    final: bool = True
    round: int = 1
    blind: bool = False
    policy_version: int | None = None
    supersedes: str | None = None
    calibration_agreed: bool | None = None
    gold_correct: bool | None = None
    scorecard_id: str | None = None
    scorecard_version: int | None = None
    qa_score: float | None = None


def to_event(
    *,
    verdict_id: str,
    task_id: str,
    decision: Decision,
    auditor_id: str,
    answer: Submission,
    submitted_at: dt.datetime,
    stamp: Stamp,
) -> Verdict:
    """The verdict event of a resolved submission."""
    if answer.outcome is None:
        raise InvalidVerdict("outcome: a verdict needs a resolved outcome")
    return Verdict(
        verdict_id=verdict_id,
        task_id=task_id,
        decision_id=decision.decision_id,
        auditor_id=auditor_id,
        outcome=answer.outcome,
        expected_action=answer.expected_action,
        expected_policy_id=answer.expected_policy_id,
        error_type=answer.error_type,
        severity=answer.severity,
        notes=answer.notes,
        round=stamp.round,
        supersedes=stamp.supersedes,
        submitted_at=submitted_at,
        decision=decision,
        final=stamp.final,
        purpose=stamp.purpose,
        blind=stamp.blind,
        policy_version=stamp.policy_version,
        calibration_agreed=stamp.calibration_agreed,
        gold_correct=stamp.gold_correct,
        scorecard_id=stamp.scorecard_id,
        scorecard_version=stamp.scorecard_version,
        qa_score=stamp.qa_score,
    )


def review_stamp(
    *,
    purpose: VerdictPurpose,
    reviews_before: int,
    blind: bool,
    policy_version: int | None,
    gold_correct: bool | None = None,
) -> Stamp:
    """How an auditor's review is stamped: primary reviews count, the others do not (yet)."""
    if purpose is VerdictPurpose.CALIBRATION:
        return Stamp(
            purpose=purpose,
            final=False,
            round=reviews_before + 1,
            blind=blind,
            policy_version=policy_version,
        )
    if purpose is VerdictPurpose.GOLD:
        return Stamp(
            purpose=purpose,
            final=False,
            blind=blind,
            policy_version=policy_version,
            gold_correct=gold_correct,
        )
    return Stamp(blind=blind, policy_version=policy_version)


def closing_stamp(*, reviews: Sequence[Verdict], agreed: bool, blind: bool) -> Stamp:
    """The stamp of the verdict that closes a calibration round of `len(reviews)` reviews."""
    versions = {(r.scorecard_id, r.scorecard_version) for r in reviews}
    scorecard_id, scorecard_version = versions.pop() if len(versions) == 1 else (None, None)
    return Stamp(
        purpose=VerdictPurpose.CALIBRATION,
        final=True,
        round=len(reviews) + 1,
        blind=blind,
        policy_version=reviews[0].policy_version if reviews else None,
        calibration_agreed=agreed,
        scorecard_id=scorecard_id,
        scorecard_version=scorecard_version,
        qa_score=mean_score([r.qa_score for r in reviews]) if scorecard_id else None,
    )


def amendment_stamp(original: Verdict, *, policy_version: int | None) -> Stamp:
    """An arbitration's amended verdict: final, in the original's place, superseding it."""
    return Stamp(
        purpose=original.purpose,
        final=True,
        round=original.round,
        blind=original.blind,
        policy_version=policy_version,
        supersedes=original.verdict_id,
        calibration_agreed=original.calibration_agreed,
        scorecard_id=original.scorecard_id,
        scorecard_version=original.scorecard_version,
    )
