"""Builders of valid events for tests, with overridable fields."""

from __future__ import annotations

import datetime as dt
from typing import Any

from shared.events import Decision, Task, TaskReason, Verdict
from shared.ids import task_id

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.UTC)


def a_decision(**overrides: Any) -> Decision:
    fields: dict[str, Any] = {
        "decision_id": "dec-1",
        "content_id": "content-1",
        "content_type": "video",
        "content_ref": "https://content.example/video/1",
        "queue": "video",
        "market": "KR",
        "language": "ko",
        "moderator_id": "mod-1",
        "moderator_kind": "human",
        "moderator_team": "team-a",
        "policy_id": "spam",
        "policy_version": 1,
        "action": "remove",
        "source": "report",
        "decided_at": NOW,
    }
    fields.update(overrides)
    return Decision.model_validate(fields)


def a_task(decision: Decision | None = None, **overrides: Any) -> Task:
    decision = decision or a_decision()
    fields: dict[str, Any] = {
        "task_id": task_id(decision.decision_id, "audit"),
        "decision": decision,
        "plan_id": "default",
        "plan_version": 1,
        "stratum": "all",
        "inclusion_probability": 0.1,
        "reasons": [TaskReason.UNIFORM],
        "due_at": NOW + dt.timedelta(days=1),
        "created_at": NOW,
    }
    fields.update(overrides)
    return Task.model_validate(fields)


def a_verdict(decision: Decision | None = None, **overrides: Any) -> Verdict:
    decision = decision or a_decision()
    fields: dict[str, Any] = {
        "verdict_id": f"verdict-{decision.decision_id}",
        "task_id": task_id(decision.decision_id, "audit"),
        "decision_id": decision.decision_id,
        "auditor_id": "auditor-1",
        "outcome": "correct",
        "submitted_at": NOW,
        "decision": decision,
    }
    fields.update(overrides)
    return Verdict.model_validate(fields)
