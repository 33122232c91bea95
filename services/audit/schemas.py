"""HTTP request and response models of the audit service."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, Field

from shared.events import Action, ErrorType, Outcome, Severity


class ClaimedTask(BaseModel):
    """A task leased to the caller, with what the auditor needs to judge it."""

    task_id: str
    decision: dict[str, Any] = Field(
        description="the decision; blind tasks omit action and moderator"
    )
    blind: bool
    required_reviews: int
    priority: int
    due_at: dt.datetime
    lease_expires_at: dt.datetime


class VerdictIn(BaseModel):
    """An auditor's answer; for `incorrect`, `expected_action` is required."""

    outcome: Outcome
    expected_action: Action | None = None
    expected_policy_id: str | None = Field(default=None, max_length=64)
    error_type: ErrorType | None = None
    severity: Severity | None = None
    notes: str = Field(default="", max_length=4000)


class VerdictOut(BaseModel):
    verdict_id: str
    task_id: str
    decision_id: str
    auditor_id: str
    outcome: Outcome
    expected_action: Action | None
    expected_policy_id: str | None
    error_type: ErrorType | None
    severity: Severity | None
    notes: str
    round: int
    supersedes: str | None
    submitted_at: dt.datetime
