"""Exactly one correction per wrong decision; what amendments do to it."""

from __future__ import annotations

from typing import Any

from services.escalation.domain.corrections import (
    CorrectionKind,
    DecisionCorrection,
    on_final_verdict,
)
from shared.events import Verdict
from tests.support.builders import NOW, a_verdict

WRONG = {"outcome": "incorrect", "expected_action": "remove", "expected_policy_id": "spam"}


def verdict(verdict_id: str, supersedes: str | None = None, **kw: Any) -> Verdict:
    return a_verdict(verdict_id=verdict_id, supersedes=supersedes, **kw)


def step(v: Verdict, state: DecisionCorrection | None) -> tuple[DecisionCorrection | None, Any]:
    result = on_final_verdict(v, state, now=NOW)
    if result is None:
        return state, None
    if result.emitted is None:
        return result.state, None
    return result.state, (result.kind, result.emitted)


def test_a_wrong_decision_gets_one_correction_with_the_expected_action() -> None:
    state, (kind, correction) = step(verdict("v1", **WRONG), None)
    assert kind is CorrectionKind.ISSUED
    assert (correction.decision_id, correction.content_id, correction.verdict_id) == (
        "dec-1",
        "content-1",
        "v1",
    )
    assert (
        correction.corrected_action.value,
        correction.corrected_policy_id,
        correction.retracts,
    ) == (
        "remove",
        "spam",
        None,
    )
    assert state is not None and state.in_force == correction


def test_right_unsure_not_final_gold_or_snapshotless_verdicts_issue_nothing() -> None:
    assert step(verdict("v1"), None)[1] is None
    assert step(verdict("v1", outcome="unsure"), None)[1] is None
    assert on_final_verdict(verdict("v1", final=False, **WRONG), None, now=NOW) is None
    assert on_final_verdict(verdict("v1", purpose="gold", **WRONG), None, now=NOW) is None
    snapshotless = verdict("v1", **WRONG).model_copy(update={"decision": None})
    assert on_final_verdict(snapshotless, None, now=NOW) is None


def test_a_second_opinion_that_amends_nothing_changes_nothing() -> None:
    state, _ = step(verdict("v1", **WRONG), None)
    assert (
        on_final_verdict(verdict("v2", **{**WRONG, "expected_action": "label"}), state, now=NOW)
        is None
    )
    assert on_final_verdict(verdict("v3", supersedes="v-unrelated"), state, now=NOW) is None


def test_an_amendment_that_makes_the_decision_right_retracts_the_correction() -> None:
    state, (_, issued) = step(verdict("v1", **WRONG), None)
    state, (kind, retraction) = step(verdict("v2", supersedes="v1"), state)
    assert kind is CorrectionKind.RETRACTED
    assert retraction.retracts == issued.correction_id
    assert (retraction.corrected_action, retraction.corrected_policy_id) == (None, None)
    assert state is not None and state.in_force is None and state.verdict_id == "v2"
    # and a later amendment finding it wrong again issues a fresh correction
    state, (kind, again) = step(verdict("v3", supersedes="v2", **WRONG), state)
    assert kind is CorrectionKind.ISSUED and again.retracts is None
    assert again.correction_id != issued.correction_id


def test_an_amendment_that_changes_the_expected_action_replaces_the_correction() -> None:
    state, (_, issued) = step(verdict("v1", **WRONG), None)
    state, (kind, replacement) = step(
        verdict("v2", supersedes="v1", **{**WRONG, "expected_action": "terminate_account"}), state
    )
    assert kind is CorrectionKind.REPLACED
    assert replacement.retracts == issued.correction_id
    assert replacement.corrected_action.value == "terminate_account"
    assert state is not None and state.in_force == replacement


def test_an_amendment_agreeing_with_the_correction_changes_nothing_upstream() -> None:
    state, _ = step(verdict("v1", **WRONG), None)
    state, emitted = step(verdict("v2", supersedes="v1", **WRONG), state)
    assert emitted is None
    assert state is not None and state.verdict_id == "v2" and state.in_force is not None


def test_an_amendment_finding_a_right_decision_wrong_issues_the_first_correction() -> None:
    state, _ = step(verdict("v1"), None)
    state, (kind, issued) = step(verdict("v2", supersedes="v1", **WRONG), state)
    assert kind is CorrectionKind.ISSUED and issued.verdict_id == "v2"


def test_correction_ids_are_deterministic_so_replays_cannot_duplicate() -> None:
    _, (_, first) = step(verdict("v1", **WRONG), None)
    _, (_, second) = step(verdict("v1", **WRONG), None)
    assert first == second
