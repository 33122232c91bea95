"""Corrections, pure: exactly one per decision a final verdict finds wrong, and what amendments do.

Per decision we remember the verdict that counts and the correction in force. Then:
- the first final verdict counts; if it finds the decision wrong, one correction is issued;
- another final verdict that does not amend the one that counts (a second review of the same
  decision) changes nothing: the first word stands until an arbitration amends it;
- an amendment of the verdict that counts (`supersedes` = it) becomes the one that counts, and:
  - finds the decision right (or is unsure) while a correction is in force: a retraction
    (`retracts` = that correction, no corrected action or policy: the original stands);
  - finds it wrong with another expected action or policy: a replacement (`retracts` = the
    old correction, with the new corrected action and policy), one event upstream applies
    as "withdraw that one, apply this one";
  - finds it wrong the same way: nothing (the correction in force is right);
  - finds it wrong and nothing was in force: a first correction.
A verdict already superseded when it is consumed (its amendment came first, or in the same
batch) never reaches this module: only the net result of an arbitration goes upstream.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from enum import StrEnum

from services.escalation.domain.triggers import counts_for_quality
from shared.events import Correction, Outcome, Verdict
from shared.ids import correction_id, derived_id


class CorrectionKind(StrEnum):
    ISSUED = "issued"
    REPLACED = "replaced"
    RETRACTED = "retracted"


@dataclass(frozen=True)
class DecisionCorrection:
    """What a decision has received so far."""

    decision_id: str
    content_id: str
    verdict_id: str
    """The final verdict that counts now."""
    in_force: Correction | None


@dataclass(frozen=True)
class CorrectionStep:
    """The decision's new state and the correction event to emit, if any."""

    state: DecisionCorrection
    emitted: Correction | None = None
    kind: CorrectionKind | None = None


def on_final_verdict(
    verdict: Verdict, state: DecisionCorrection | None, *, now: dt.datetime
) -> CorrectionStep | None:
    """What a final verdict does to a decision's correction; None when it changes nothing."""
    if not counts_for_quality(verdict):
        return None
    content_id = (
        verdict.decision.content_id if verdict.decision else (state.content_id if state else None)
    )
    if content_id is None:
        return None  # without the decision snapshot there is nothing upstream could act on
    if state is not None and verdict.supersedes != state.verdict_id:
        return None  # a second opinion, or an amendment of a verdict that did not count
    wrong = verdict.outcome is Outcome.INCORRECT
    in_force = state.in_force if state else None
    counted = DecisionCorrection(verdict.decision_id, content_id, verdict.verdict_id, in_force)
    if in_force is None:
        if not wrong:
            return CorrectionStep(counted)
        issued = _correction(verdict, content_id, now=now)
        return CorrectionStep(_with(counted, issued), issued, CorrectionKind.ISSUED)
    if not wrong:
        retraction = Correction(
            correction_id=derived_id("retraction", verdict.decision_id, verdict.verdict_id),
            content_id=content_id,
            decision_id=verdict.decision_id,
            corrected_action=None,
            corrected_policy_id=None,
            verdict_id=verdict.verdict_id,
            retracts=in_force.correction_id,
            issued_at=now,
        )
        return CorrectionStep(_with(counted, None), retraction, CorrectionKind.RETRACTED)
    if (verdict.expected_action, verdict.expected_policy_id) == (
        in_force.corrected_action,
        in_force.corrected_policy_id,
    ):
        return CorrectionStep(counted)
    replacement = _correction(verdict, content_id, now=now, retracts=in_force.correction_id)
    return CorrectionStep(_with(counted, replacement), replacement, CorrectionKind.REPLACED)


def _correction(
    verdict: Verdict, content_id: str, *, now: dt.datetime, retracts: str | None = None
) -> Correction:
    return Correction(
        correction_id=correction_id(verdict.decision_id, verdict.verdict_id),
        content_id=content_id,
        decision_id=verdict.decision_id,
        corrected_action=verdict.expected_action,
        corrected_policy_id=verdict.expected_policy_id,
        verdict_id=verdict.verdict_id,
        retracts=retracts,
        issued_at=now,
    )


def _with(state: DecisionCorrection, correction: Correction | None) -> DecisionCorrection:
    return DecisionCorrection(state.decision_id, state.content_id, state.verdict_id, correction)
