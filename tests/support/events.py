"""Scenario builders for metrics tests: tasks and the verdicts that judge them."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared.events import Decision, Task, Verdict
from tests.support.builders import NOW, a_decision, a_task, a_verdict

WRONG = {
    "outcome": "incorrect",
    "expected_action": "approve",
    "expected_policy_id": "spam",
    "error_type": "over_enforcement",
    "severity": "minor",
}
MISSED = {
    "outcome": "incorrect",
    "expected_action": "remove",
    "expected_policy_id": "spam",
    "error_type": "under_enforcement",
    "severity": "minor",
}


def audited(
    i: int,
    *,
    wrong: bool = False,
    probability: float | None = 0.1,
    decided_at: dt.datetime = NOW,
    verdict: dict[str, Any] | None = None,
    **decision: Any,
) -> tuple[Task, Verdict]:
    """Decision i, its task (with that inclusion probability) and a final primary verdict."""
    d: Decision = a_decision(
        decision_id=f"d-{i}", content_id=f"c-{i}", decided_at=decided_at, **decision
    )
    reasons = ["quota"] if probability is None else ["uniform"]
    task = a_task(d, inclusion_probability=probability, reasons=reasons)
    fields = {**(WRONG if wrong else {}), **(verdict or {})}
    return task, a_verdict(d, verdict_id=f"v-{i}", task_id=task.task_id, **fields)
