"""What a verdict means: error types, validation against the taxonomy, severity."""

from __future__ import annotations

import pytest

from services.audit.domain import InvalidVerdict, Submission, derive_error_type, resolve
from shared.events import Action, ErrorType, Outcome, Severity
from shared.taxonomy import load_taxonomy
from tests.support.builders import NOW, a_decision

TAXONOMY = load_taxonomy()


@pytest.mark.parametrize(
    ("action", "policy", "expected_action", "expected_policy", "error"),
    [
        ("remove", "spam", Action.APPROVE, "spam", ErrorType.OVER_ENFORCEMENT),
        ("approve", "spam", Action.REMOVE, "spam", ErrorType.UNDER_ENFORCEMENT),
        ("remove", "spam", Action.REMOVE, "hate_speech", ErrorType.WRONG_POLICY),
        ("remove", "spam", Action.DEMOTE, "spam", ErrorType.WRONG_ACTION),
        ("remove", "spam", Action.REMOVE, "spam", None),
        ("approve", "spam", Action.APPROVE, "hate_speech", None),
    ],
)
def test_error_type_is_derived_from_the_difference(
    action: str, policy: str, expected_action: Action, expected_policy: str, error: ErrorType | None
) -> None:
    decision = a_decision(action=action, policy_id=policy)
    assert derive_error_type(decision, expected_action, expected_policy) is error


def test_a_missed_child_safety_violation_is_critical_under_enforcement() -> None:
    decision = a_decision(action="approve", policy_id="child_safety")
    answer = resolve(
        Submission(outcome=Outcome.INCORRECT, expected_action=Action.REMOVE),
        decision,
        TAXONOMY,
        on=NOW.date(),
    )
    assert answer.error_type is ErrorType.UNDER_ENFORCEMENT
    assert answer.severity is Severity.CRITICAL
    assert answer.expected_policy_id == "child_safety"


def test_over_enforcement_takes_the_severity_of_the_policy_applied() -> None:
    decision = a_decision(action="remove", policy_id="spam")
    answer = resolve(
        Submission(outcome=Outcome.INCORRECT, expected_action=Action.APPROVE),
        decision,
        TAXONOMY,
        on=NOW.date(),
    )
    assert (answer.error_type, answer.severity) == (ErrorType.OVER_ENFORCEMENT, Severity.MINOR)


def test_correct_fills_in_the_decision_and_refuses_an_error_type() -> None:
    decision = a_decision(action="remove", policy_id="spam")
    answer = resolve(Submission(outcome=Outcome.CORRECT), decision, TAXONOMY, on=NOW.date())
    assert (answer.expected_action, answer.expected_policy_id) == (Action.REMOVE, "spam")
    with pytest.raises(InvalidVerdict, match="error_type"):
        resolve(
            Submission(outcome=Outcome.CORRECT, error_type=ErrorType.WRONG_ACTION),
            decision,
            TAXONOMY,
            on=NOW.date(),
        )


@pytest.mark.parametrize(
    ("submission", "message"),
    [
        (Submission(outcome=Outcome.INCORRECT), "expected_action: required"),
        (
            Submission(
                outcome=Outcome.INCORRECT,
                expected_action=Action.REMOVE,
                expected_policy_id="no_such_policy",
            ),
            "unknown policy",
        ),
        (
            Submission(outcome=Outcome.INCORRECT, expected_action=Action.TERMINATE_ACCOUNT),
            "not an action of policy 'spam'",
        ),
        (
            Submission(outcome=Outcome.INCORRECT, expected_action=Action.REMOVE),
            "equal the decision",
        ),
    ],
)
def test_invalid_submissions_are_refused_with_the_field_named(
    submission: Submission, message: str
) -> None:
    with pytest.raises(InvalidVerdict, match=message):
        resolve(submission, a_decision(action="remove", policy_id="spam"), TAXONOMY, on=NOW.date())


def test_unsure_carries_no_judgement() -> None:
    answer = resolve(
        Submission(outcome=Outcome.UNSURE, expected_action=Action.REMOVE, notes="?"),
        a_decision(),
        TAXONOMY,
        on=NOW.date(),
    )
    assert answer == Submission(outcome=Outcome.UNSURE, notes="?")
