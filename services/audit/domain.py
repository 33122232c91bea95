"""Audit rules, pure: what a verdict means, whether it is valid, and what event it becomes."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from shared.events import Action, Decision, ErrorType, Outcome, Severity, Verdict
from shared.taxonomy import Taxonomy


@dataclass(frozen=True)
class Submission:
    """What an auditor answered about one decision."""

    outcome: Outcome
    expected_action: Action | None = None
    expected_policy_id: str | None = None
    error_type: ErrorType | None = None
    severity: Severity | None = None
    notes: str = ""


class InvalidVerdict(ValueError):
    """The submission contradicts itself or the policy taxonomy; the message says how."""


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


def check_against_taxonomy(
    taxonomy: Taxonomy, decision: Decision, policy_id: str, action: Action, *, on: dt.date
) -> None:
    """Raise InvalidVerdict unless the policy is known and allows the action in its version."""
    policy = taxonomy.policy(policy_id)
    if policy is None:
        raise InvalidVerdict(f"expected_policy_id: unknown policy '{policy_id}'")
    version = (
        policy.version(decision.policy_version)
        if policy_id == decision.policy_id
        else policy.current(on)
    )
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


def resolve(
    submission: Submission, decision: Decision, taxonomy: Taxonomy, *, on: dt.date
) -> Submission:
    """The complete submission: defaults filled, error type and severity derived, checked."""
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


def to_event(
    *,
    verdict_id: str,
    task_id: str,
    decision: Decision,
    auditor_id: str,
    answer: Submission,
    round_: int,
    submitted_at: dt.datetime,
    supersedes: str | None = None,
    final: bool = True,
) -> Verdict:
    """The verdict event of a resolved submission."""
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
        round=round_,
        supersedes=supersedes,
        submitted_at=submitted_at,
        decision=decision,
        final=final,
    )
