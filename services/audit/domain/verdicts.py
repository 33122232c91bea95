"""Verdicts, pure: what a verdict means, whether it is valid, and what event it becomes.

Also the task life cycle (how many reviews a task needs and what state it is in) and the
comparison of two judgements (calibration agreement, gold accuracy, overturns).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass, replace
from enum import StrEnum

from shared.events import (
    Action,
    Decision,
    ErrorType,
    Outcome,
    Severity,
    TaskReason,
    Verdict,
    VerdictPurpose,
)
from shared.taxonomy import Policy, PolicyVersion, Taxonomy


class TaskStatus(StrEnum):
    """Where a task is in its life: in the pool, with auditors, waiting for an SME, or done."""

    PENDING = "pending"
    LEASED = "leased"
    EXPIRED = "expired"
    """A lease lapsed and the task went back to the pool (claimable, like pending)."""
    ADJUDICATING = "adjudicating"
    """A calibration round closed with disagreement and waits for an SME's label."""
    COMPLETED = "completed"
    CANCELLED = "cancelled"


CLAIMABLE = (TaskStatus.PENDING, TaskStatus.EXPIRED)


class LeaseStatus(StrEnum):
    ACTIVE = "active"
    RELEASED = "released"
    EXPIRED = "expired"
    COMPLETED = "completed"


@dataclass(frozen=True)
class Submission:
    """What an auditor answered about one decision (`outcome` is None on a blind label)."""

    outcome: Outcome | None
    expected_action: Action | None = None
    expected_policy_id: str | None = None
    error_type: ErrorType | None = None
    severity: Severity | None = None
    notes: str = ""


@dataclass(frozen=True)
class Judgement:
    """A complete, validated answer and the policy version it was judged against."""

    answer: Submission
    policy_version: int | None


class InvalidVerdict(ValueError):
    """The submission contradicts itself or the policy taxonomy; the message says how."""


def purpose_of(reasons: Sequence[TaskReason], required_reviews: int) -> VerdictPurpose:
    """A sampled task needing several reviews (or sampled for calibration) is a calibration task."""
    if TaskReason.CALIBRATION in reasons or required_reviews > 1:
        return VerdictPurpose.CALIBRATION
    return VerdictPurpose.AUDIT


def pool_status(*, required: int, active: int, done: int, lapsed: bool = False) -> TaskStatus:
    """The status of an open task: leased when every wanted review is taken, else claimable."""
    if active + done >= required:
        return TaskStatus.LEASED
    return TaskStatus.EXPIRED if lapsed else TaskStatus.PENDING


def derive_error_type(
    decision: Decision, expected_action: Action, expected_policy_id: str
) -> ErrorType | None:
    """How a decision differs from what the auditor expected (None when it does not)."""
    took_action = decision.action is not Action.APPROVE
    should_act = expected_action is not Action.APPROVE
    if took_action and not should_act:
        return ErrorType.OVER_ENFORCEMENT
    if should_act and not took_action:
        return ErrorType.UNDER_ENFORCEMENT
    if expected_policy_id != decision.policy_id and should_act:
        return ErrorType.WRONG_POLICY
    if expected_action is not decision.action:
        return ErrorType.WRONG_ACTION
    return None


def _version_judged(
    policy: Policy, decision: Decision, policy_id: str, on: dt.date
) -> PolicyVersion | None:
    """The decision's own version of its policy; the version in force for any other policy."""
    if policy_id == decision.policy_id:
        return policy.version(decision.policy_version)
    return policy.current(on)


def check_against_taxonomy(
    taxonomy: Taxonomy, decision: Decision, policy_id: str, action: Action, *, on: dt.date
) -> PolicyVersion:
    """The policy version judged; InvalidVerdict unless the policy exists and allows the action."""
    policy = taxonomy.policy(policy_id)
    if policy is None:
        raise InvalidVerdict(f"expected_policy_id: unknown policy '{policy_id}'")
    version = _version_judged(policy, decision, policy_id, on)
    if version is None:
        raise InvalidVerdict(
            f"policy '{policy_id}' has no version {decision.policy_version} in the taxonomy"
        )
    if action not in version.actions:
        allowed = ", ".join(a.value for a in version.actions)
        raise InvalidVerdict(
            f"expected_action: '{action.value}' is not an action of policy '{policy_id}' "
            f"v{version.version} (allowed: {allowed})"
        )
    return version


def resolve(
    submission: Submission, decision: Decision, taxonomy: Taxonomy, *, on: dt.date
) -> Submission:
    """The complete submission: defaults filled, error type and severity derived, checked."""
    if submission.outcome is None:
        raise InvalidVerdict("outcome: required (correct, incorrect or unsure)")
    if submission.outcome is Outcome.UNSURE:
        return Submission(outcome=Outcome.UNSURE, notes=submission.notes)
    policy_id = submission.expected_policy_id or decision.policy_id
    if submission.outcome is Outcome.CORRECT:
        if submission.error_type is not None:
            raise InvalidVerdict("error_type: a correct decision has no error type")
        action = submission.expected_action or decision.action
        check_against_taxonomy(taxonomy, decision, policy_id, action, on=on)
        if derive_error_type(decision, action, policy_id) is not None:
            raise InvalidVerdict(
                "outcome: 'correct' but the expected action or policy differs from the decision"
            )
        return Submission(
            outcome=Outcome.CORRECT,
            expected_action=action,
            expected_policy_id=policy_id,
            notes=submission.notes,
        )
    if submission.expected_action is None:
        raise InvalidVerdict("expected_action: required when the outcome is 'incorrect'")
    action = submission.expected_action
    check_against_taxonomy(taxonomy, decision, policy_id, action, on=on)
    derived = derive_error_type(decision, action, policy_id)
    if derived is None:
        raise InvalidVerdict(
            "outcome: 'incorrect' but the expected action and policy equal the decision's"
        )
    error_type = submission.error_type or derived
    return Submission(
        outcome=Outcome.INCORRECT,
        expected_action=action,
        expected_policy_id=policy_id,
        error_type=error_type,
        severity=submission.severity or _severity(taxonomy, decision, policy_id, error_type),
        notes=submission.notes,
    )


def resolve_blind(
    submission: Submission, decision: Decision, taxonomy: Taxonomy, *, on: dt.date
) -> Submission:
    """A blind label (policy and action, chosen without seeing the decision) made a verdict:
    the outcome and error type come from comparing the label with the decision."""
    if submission.outcome is Outcome.UNSURE:
        return Submission(outcome=Outcome.UNSURE, notes=submission.notes)
    if submission.outcome is not None or submission.error_type is not None:
        raise InvalidVerdict(
            "outcome: a blind review derives the outcome and error type; send expected_action "
            "and expected_policy_id (the label), or outcome 'unsure'"
        )
    action = submission.expected_action
    if action is None:
        raise InvalidVerdict("expected_action: required on a blind review (label the content)")
    policy_id = submission.expected_policy_id
    if policy_id is None:
        if action is not Action.APPROVE:
            raise InvalidVerdict(
                "expected_policy_id: required on a blind review unless the action is 'approve'"
            )
        policy_id = decision.policy_id
    check_against_taxonomy(taxonomy, decision, policy_id, action, on=on)
    derived = derive_error_type(decision, action, policy_id)
    if derived is None:
        return Submission(
            outcome=Outcome.CORRECT,
            expected_action=action,
            expected_policy_id=policy_id,
            notes=submission.notes,
        )
    return Submission(
        outcome=Outcome.INCORRECT,
        expected_action=action,
        expected_policy_id=policy_id,
        error_type=derived,
        severity=submission.severity or _severity(taxonomy, decision, policy_id, derived),
        notes=submission.notes,
    )


def judge(
    submission: Submission, decision: Decision, taxonomy: Taxonomy, *, blind: bool, on: dt.date
) -> Judgement:
    """Resolve a submission (blind or not) and name the policy version it was judged against."""
    resolver = resolve_blind if blind else resolve
    answer = resolver(submission, decision, taxonomy, on=on)
    version = decision.policy_version
    if answer.expected_policy_id is not None:
        policy = taxonomy.policy(answer.expected_policy_id)
        judged = (
            _version_judged(policy, decision, answer.expected_policy_id, on) if policy else None
        )
        version = judged.version if judged else version
    return Judgement(answer=answer, policy_version=version)


def _severity(
    taxonomy: Taxonomy, decision: Decision, expected_policy_id: str, error_type: ErrorType
) -> Severity:
    """A miss is as severe as the policy that was violated; an over-reach as the one applied."""
    violated = (
        expected_policy_id
        if error_type in (ErrorType.UNDER_ENFORCEMENT, ErrorType.WRONG_POLICY)
        else decision.policy_id
    )
    return taxonomy.severity(violated) or Severity.MINOR


def same_judgement(a: Submission, b: Submission) -> bool:
    """Two resolved answers agree: same outcome and, for a wrong decision, the same fix
    (action, and policy unless the content should stay up)."""
    if a.outcome is not b.outcome:
        return False
    if a.outcome is not Outcome.INCORRECT:
        return True
    if a.expected_action is not b.expected_action:
        return False
    return a.expected_action is Action.APPROVE or a.expected_policy_id == b.expected_policy_id


def answer_of(verdict: Verdict) -> Submission:
    """The judgement a verdict event carries."""
    return Submission(
        outcome=verdict.outcome,
        expected_action=verdict.expected_action,
        expected_policy_id=verdict.expected_policy_id,
        error_type=verdict.error_type,
        severity=verdict.severity,
        notes=verdict.notes,
    )


def round_agrees(answers: Sequence[Submission]) -> bool:
    """A calibration round agrees when every review matches the first and nobody was unsure."""
    if not answers or any(a.outcome is Outcome.UNSURE for a in answers):
        return False
    return all(same_judgement(answers[0], other) for other in answers[1:])


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


def with_notes(answer: Submission, notes: str) -> Submission:
    """The same answer with other notes."""
    return replace(answer, notes=notes)


def reference_label(
    decision: Decision,
    taxonomy: Taxonomy,
    *,
    expected_action: Action,
    expected_policy_id: str | None,
    on: dt.date,
) -> Submission:
    """A known-correct label (a gold answer) as the judgement it implies for the decision."""
    return resolve_blind(
        Submission(
            outcome=None, expected_action=expected_action, expected_policy_id=expected_policy_id
        ),
        decision,
        taxonomy,
        on=on,
    )
