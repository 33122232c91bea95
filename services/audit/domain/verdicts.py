"""Verdicts, pure: what a verdict means and whether it is valid (the event: `stamps`).

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
