"""The demo's simulated auditors give answers the audit service accepts, blind or not, and
their answers agree with the ground truth."""

from __future__ import annotations

from services.audit.domain.verdicts import Submission, judge
from shared.events import Action, Outcome
from shared.taxonomy import load_taxonomy
from tests.support.builders import NOW
from tools.demo.auditors import answer
from tools.demo.generator import DecisionStream

TAXONOMY = load_taxonomy()
STREAM = DecisionStream(TAXONOMY, seed=11)
SCORECARD = {
    "criteria": [
        {"id": "right_action", "critical": True},
        {"id": "notes", "critical": False},
    ]
}


def submission(body: dict[str, object]) -> Submission:
    fields = {k: v for k, v in body.items() if k != "scorecard"}
    return Submission(
        outcome=Outcome(fields["outcome"]) if "outcome" in fields else None,
        expected_action=Action(fields["expected_action"]) if "expected_action" in fields else None,
        expected_policy_id=fields.get("expected_policy_id"),  # type: ignore[arg-type]
    )


def test_answers_are_valid_verdicts_and_blind_labels_reach_the_same_outcome() -> None:
    wrong_seen = 0
    for i in range(400):
        decision = STREAM.decision(i, NOW)
        view = {"decision": decision.model_dump(mode="json"), "scorecard": SCORECARD}
        plain = answer(STREAM, {**view, "blind": False})
        blind = answer(STREAM, {**view, "blind": True})
        open_verdict = judge(submission(plain), decision, TAXONOMY, blind=False, on=NOW.date())
        blind_verdict = judge(submission(blind), decision, TAXONOMY, blind=True, on=NOW.date())
        assert open_verdict.answer.outcome is blind_verdict.answer.outcome, decision.decision_id
        wrong = open_verdict.answer.outcome is Outcome.INCORRECT
        wrong_seen += wrong
        assert plain["scorecard"] == {"right_action": "fail" if wrong else "pass", "notes": "pass"}
    assert wrong_seen > 0


def test_a_task_the_simulator_does_not_know_gets_unsure() -> None:
    unknown = {"decision": {"decision_id": "gold-item"}, "blind": False}
    assert answer(STREAM, unknown)["outcome"] == "unsure"
