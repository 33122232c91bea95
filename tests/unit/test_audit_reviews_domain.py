"""Blind labels, agreement between judgements, task life cycle, stamps of verdict events."""

from __future__ import annotations

import pytest

from services.audit.domain.stamps import closing_stamp, review_stamp
from services.audit.domain.verdicts import (
    InvalidVerdict,
    Submission,
    TaskStatus,
    judge,
    pool_status,
    purpose_of,
    reference_label,
    resolve_blind,
    round_agrees,
    same_judgement,
)
from shared.events import Action, ErrorType, Outcome, Severity, TaskReason, VerdictPurpose
from shared.taxonomy import load_taxonomy
from tests.support.builders import NOW, a_decision, a_verdict

TAXONOMY = load_taxonomy()
ON = NOW.date()


def label(action: Action, policy: str | None = None) -> Submission:
    return Submission(outcome=None, expected_action=action, expected_policy_id=policy)


@pytest.mark.parametrize(
    ("taken", "labelled", "outcome", "error"),
    [
        (
            ("approve", "spam"),
            (Action.REMOVE, "spam"),
            Outcome.INCORRECT,
            ErrorType.UNDER_ENFORCEMENT,
        ),
        (("remove", "spam"), (Action.APPROVE, None), Outcome.INCORRECT, ErrorType.OVER_ENFORCEMENT),
        (
            ("remove", "spam"),
            (Action.REMOVE, "hate_speech"),
            Outcome.INCORRECT,
            ErrorType.WRONG_POLICY,
        ),
        (("remove", "spam"), (Action.DEMOTE, "spam"), Outcome.INCORRECT, ErrorType.WRONG_ACTION),
        (("remove", "spam"), (Action.REMOVE, "spam"), Outcome.CORRECT, None),
        (("approve", "spam"), (Action.APPROVE, None), Outcome.CORRECT, None),
    ],
)
def test_a_blind_label_is_compared_with_the_decision(
    taken: tuple[str, str],
    labelled: tuple[Action, str | None],
    outcome: Outcome,
    error: ErrorType | None,
) -> None:
    decision = a_decision(action=taken[0], policy_id=taken[1])
    answer = resolve_blind(label(*labelled), decision, TAXONOMY, on=ON)
    assert (answer.outcome, answer.error_type) == (outcome, error)


def test_a_blind_miss_of_a_critical_policy_is_critical() -> None:
    decision = a_decision(action="approve", policy_id="spam")
    answer = resolve_blind(label(Action.REMOVE, "child_safety"), decision, TAXONOMY, on=ON)
    assert (answer.error_type, answer.severity) == (ErrorType.UNDER_ENFORCEMENT, Severity.CRITICAL)


@pytest.mark.parametrize(
    ("submission", "message"),
    [
        (Submission(outcome=Outcome.CORRECT), "derives the outcome"),
        (
            Submission(
                outcome=None, expected_action=Action.REMOVE, error_type=ErrorType.WRONG_ACTION
            ),
            "derives the outcome",
        ),
        (Submission(outcome=None), "expected_action: required"),
        (label(Action.REMOVE), "expected_policy_id: required"),
        (label(Action.REMOVE, "nope"), "unknown policy"),
    ],
)
def test_a_blind_review_needs_a_label_and_nothing_it_cannot_know(
    submission: Submission, message: str
) -> None:
    with pytest.raises(InvalidVerdict, match=message):
        resolve_blind(submission, a_decision(), TAXONOMY, on=ON)


def test_unsure_is_allowed_on_a_blind_review() -> None:
    answer = resolve_blind(Submission(outcome=Outcome.UNSURE), a_decision(), TAXONOMY, on=ON)
    assert answer.outcome is Outcome.UNSURE


def test_judge_names_the_policy_version_judged() -> None:
    decision = a_decision(action="approve", policy_id="hate_speech", policy_version=1)
    same_policy = judge(
        Submission(outcome=Outcome.INCORRECT, expected_action=Action.REMOVE),
        decision,
        TAXONOMY,
        blind=False,
        on=ON,
    )
    assert same_policy.policy_version == 1
    in_force_later = judge(
        label(Action.REMOVE, "child_safety"), decision, TAXONOMY, blind=True, on=ON
    )
    assert in_force_later.policy_version == 2, "child_safety v2 took effect on 2026-09-01"


def test_a_non_blind_review_needs_an_outcome() -> None:
    with pytest.raises(InvalidVerdict, match="outcome: required"):
        judge(label(Action.REMOVE, "spam"), a_decision(), TAXONOMY, blind=False, on=ON)


def answer(outcome: Outcome, action: Action | None = None, policy: str | None = None) -> Submission:
    return Submission(outcome=outcome, expected_action=action, expected_policy_id=policy)


@pytest.mark.parametrize(
    ("a", "b", "same"),
    [
        (answer(Outcome.CORRECT, Action.REMOVE, "spam"), answer(Outcome.CORRECT), True),
        (
            answer(Outcome.INCORRECT, Action.REMOVE, "spam"),
            answer(Outcome.INCORRECT, Action.REMOVE, "spam"),
            True,
        ),
        (
            answer(Outcome.INCORRECT, Action.REMOVE, "spam"),
            answer(Outcome.INCORRECT, Action.REMOVE, "scams_fraud"),
            False,
        ),
        (
            answer(Outcome.INCORRECT, Action.APPROVE, "spam"),
            answer(Outcome.INCORRECT, Action.APPROVE, "other"),
            True,
        ),
        (
            answer(Outcome.INCORRECT, Action.REMOVE, "spam"),
            answer(Outcome.INCORRECT, Action.DEMOTE, "spam"),
            False,
        ),
        (answer(Outcome.CORRECT), answer(Outcome.INCORRECT, Action.APPROVE), False),
        (answer(Outcome.UNSURE), answer(Outcome.UNSURE), True),
    ],
)
def test_two_judgements_agree_on_the_outcome_and_the_fix(
    a: Submission, b: Submission, same: bool
) -> None:
    assert same_judgement(a, b) is same
    assert same_judgement(b, a) is same


def test_a_round_agrees_only_without_doubt_or_dissent() -> None:
    yes = answer(Outcome.CORRECT)
    assert round_agrees([yes, yes, yes])
    assert not round_agrees([yes, yes, answer(Outcome.INCORRECT, Action.APPROVE)])
    assert not round_agrees([answer(Outcome.UNSURE), answer(Outcome.UNSURE)])
    assert not round_agrees([])


def test_a_gold_label_becomes_the_judgement_it_implies() -> None:
    decision = a_decision(action="approve", policy_id="spam")
    reference = reference_label(
        decision, TAXONOMY, expected_action=Action.REMOVE, expected_policy_id="spam", on=ON
    )
    assert reference.outcome is Outcome.INCORRECT
    assert same_judgement(answer(Outcome.INCORRECT, Action.REMOVE, "spam"), reference)
    assert not same_judgement(answer(Outcome.CORRECT), reference)


@pytest.mark.parametrize(
    ("required", "active", "done", "lapsed", "status"),
    [
        (1, 0, 0, False, TaskStatus.PENDING),
        (1, 1, 0, False, TaskStatus.LEASED),
        (3, 1, 1, False, TaskStatus.PENDING),
        (3, 2, 1, False, TaskStatus.LEASED),
        (3, 0, 1, True, TaskStatus.EXPIRED),
    ],
)
def test_a_task_is_leased_once_every_wanted_review_is_taken(
    required: int, active: int, done: int, lapsed: bool, status: TaskStatus
) -> None:
    assert pool_status(required=required, active=active, done=done, lapsed=lapsed) is status


def test_calibration_tasks_are_those_sampled_for_it_or_needing_several_reviews() -> None:
    assert purpose_of([TaskReason.UNIFORM], 1) is VerdictPurpose.AUDIT
    assert purpose_of([TaskReason.CALIBRATION], 1) is VerdictPurpose.CALIBRATION
    assert purpose_of([TaskReason.RISK], 3) is VerdictPurpose.CALIBRATION


def test_stamps_follow_the_contract_on_which_verdict_counts() -> None:
    primary = review_stamp(
        purpose=VerdictPurpose.AUDIT, reviews_before=0, blind=False, policy_version=1
    )
    assert (primary.final, primary.round) == (True, 1)
    second_review = review_stamp(
        purpose=VerdictPurpose.CALIBRATION, reviews_before=1, blind=True, policy_version=1
    )
    assert (second_review.final, second_review.round, second_review.blind) == (False, 2, True)
    gold = review_stamp(
        purpose=VerdictPurpose.GOLD,
        reviews_before=4,
        blind=False,
        policy_version=1,
        gold_correct=True,
    )
    assert (gold.final, gold.round, gold.gold_correct) == (False, 1, True)
    reviews = [
        a_verdict(verdict_id=f"v{i}", scorecard_id="video-qa", scorecard_version=2, qa_score=s)
        for i, s in enumerate((100.0, 50.0, 75.0))
    ]
    closing = closing_stamp(reviews=reviews, agreed=True, blind=False)
    assert (closing.final, closing.round, closing.calibration_agreed) == (True, 4, True)
    assert (closing.scorecard_id, closing.scorecard_version, closing.qa_score) == (
        "video-qa",
        2,
        75.0,
    )
