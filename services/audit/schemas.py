"""HTTP request and response models of the audit service."""

from __future__ import annotations

import datetime as dt
from typing import Any, Literal

from pydantic import AwareDatetime, BaseModel, Field

from services.audit.domain.disputes import Ruling
from services.audit.domain.scoring import Criterion, CriterionAnswer
from shared.events import (
    Action,
    Decision,
    DisputeStatus,
    ErrorType,
    Identifier,
    Label,
    Language,
    Market,
    Outcome,
    Severity,
    VerdictPurpose,
)
from shared.taxonomy import Policy


class ScorecardOut(BaseModel):
    """A scorecard version: the criteria an audit of its queue answers."""

    scorecard_id: str
    version: int
    queue: str
    name: str
    criteria: list[Criterion]


class ClaimedTask(BaseModel):
    """A task leased to the caller, with what the auditor needs to judge it."""

    task_id: str
    decision: dict[str, Any] = Field(
        description="the decision; blind tasks show only the content, its context and locale"
    )
    blind: bool
    required_reviews: int
    priority: int
    due_at: dt.datetime
    lease_expires_at: dt.datetime
    scorecard: ScorecardOut | None = Field(
        default=None, description="answer every criterion with the verdict (pass, fail or na)"
    )


class LeaseOut(BaseModel):
    task_id: str
    lease_expires_at: dt.datetime


class LabelIn(BaseModel):
    """A judgement. Non-blind: `outcome`, and for `incorrect` the `expected_action`. Blind: the
    label only (`expected_action`, and `expected_policy_id` unless the action is `approve`),
    or `outcome: unsure`."""

    outcome: Outcome | None = None
    expected_action: Action | None = None
    expected_policy_id: Label | None = None
    error_type: ErrorType | None = None
    severity: Severity | None = None
    notes: str = Field(default="", max_length=4000)


class VerdictIn(LabelIn):
    """An auditor's verdict; `scorecard` answers the scorecard shown with the claimed task."""

    scorecard: dict[str, CriterionAnswer] | None = None


class AuditorVerdictOut(BaseModel):
    """A verdict as auditors see it (nothing that tells a gold task from another)."""

    verdict_id: str
    task_id: str
    auditor_id: str
    outcome: Outcome
    expected_action: Action | None
    expected_policy_id: str | None
    error_type: ErrorType | None
    severity: Severity | None
    notes: str
    submitted_at: dt.datetime
    scorecard_id: str | None = None
    scorecard_version: int | None = None
    qa_score: float | None = None


class VerdictOut(AuditorVerdictOut):
    """A verdict as leads and SMEs see it."""

    decision_id: str
    round: int
    supersedes: str | None
    final: bool
    purpose: VerdictPurpose
    blind: bool
    policy_version: int | None
    calibration_agreed: bool | None
    gold_correct: bool | None
    moderator_id: str | None = None
    queue: str | None = None
    market: str | None = None
    policy_id: str | None = None


class VerdictPage(BaseModel):
    items: list[VerdictOut]
    next_cursor: str | None = Field(description="pass as `cursor` for the next page; null at end")


class TaskOut(BaseModel):
    """A task as leads and SMEs see it."""

    task_id: str
    decision: dict[str, Any]
    purpose: VerdictPurpose
    status: str
    reasons: list[str]
    plan_id: str
    stratum: str
    inclusion_probability: float | None
    required_reviews: int
    reviews_done: int
    active_leases: int
    blind: bool
    priority: int
    due_at: dt.datetime
    created_at: dt.datetime
    completed_at: dt.datetime | None
    reference: dict[str, Any] | None = Field(description="the round's reference label, if closed")
    gold_answer: dict[str, Any] | None


class TaskPatch(BaseModel):
    """What a lead may change on an open task."""

    blind: bool | None = None
    priority: int | None = Field(default=None, ge=0, le=100)
    due_at: AwareDatetime | None = None


class CancelIn(BaseModel):
    reason: str = Field(min_length=1, max_length=1000)


RegistryRole = Literal["auditor", "sme", "lead"]


def _auditor_only() -> list[RegistryRole]:
    return ["auditor"]


class AuditorIn(BaseModel):
    """A registry record: what work a person gets (the token says what they may call).
    Empty `markets` or `policy_areas` mean any; `teams` are the moderator teams a lead leads."""

    name: str = Field(min_length=1, max_length=200)
    languages: list[Language] = Field(min_length=1, max_length=30)
    markets: list[Market] = Field(default_factory=list, max_length=100)
    policy_areas: list[Label] = Field(default_factory=list, max_length=100)
    roles: list[RegistryRole] = Field(default_factory=_auditor_only, min_length=1)
    teams: list[Label] = Field(default_factory=list, max_length=100)
    active: bool = True


class AuditorOut(AuditorIn):
    auditor_id: str
    created_at: dt.datetime
    updated_at: dt.datetime
    updated_by: str


class ProportionOut(BaseModel):
    """successes of n, the rate and its 95% Wilson interval (null when n is 0)."""

    successes: int
    n: int
    rate: float | None
    low: float | None
    high: float | None


class DayCount(BaseModel):
    day: dt.date
    verdicts: int


class StatsOut(BaseModel):
    auditor_id: str
    verdicts_total: int
    verdicts_last_24h: int
    verdicts_last_7d: int
    per_day: list[DayCount]
    median_handle_seconds: float | None
    gold_accuracy: ProportionOut
    calibration_agreement: ProportionOut
    disputed: int = Field(description="final verdicts of yours that were disputed")
    overturned: int = Field(description="of which an SME overturned")


class PolicyOut(BaseModel):
    policy: Policy
    revision: int
    updated_at: dt.datetime
    updated_by: str


class GoldItemIn(BaseModel):
    """A decision with its known correct label (`expected_policy_id` unless approve)."""

    decision: Decision
    expected_action: Action
    expected_policy_id: Label | None = None
    reviews: int = Field(default=3, ge=1, le=50, description="how many auditors answer it")
    priority: int = Field(default=50, ge=0, le=100)
    blind: bool = False
    due_at: AwareDatetime | None = Field(default=None, description="default: in 7 days")


class GoldUploadIn(BaseModel):
    items: list[GoldItemIn] = Field(min_length=1, max_length=500)


class GoldUploadOut(BaseModel):
    task_ids: list[str]


class GoldItemOut(BaseModel):
    task_id: str
    decision_id: str
    answer: dict[str, Any]
    required_reviews: int
    status: str
    accuracy: ProportionOut


class AdjudicationIn(LabelIn):
    """The SME's label for a calibration round that disagreed (`outcome` required)."""


class DisputeIn(BaseModel):
    """A challenge of a verdict. The moderation tool (system role) names the moderator in
    `on_behalf_of`; a team lead disputes in their own name."""

    reason: str = Field(min_length=1, max_length=4000)
    on_behalf_of: Identifier | None = None


class DisputeOut(BaseModel):
    dispute_id: str
    verdict_id: str
    task_id: str
    decision_id: str
    raised_by: str
    reason: str
    status: DisputeStatus
    due_at: dt.datetime
    resolved_by: str | None
    resolution_note: str | None
    amended_verdict_id: str | None
    market: str
    policy_id: str
    moderator_id: str
    updated_at: dt.datetime


class ArbitrationIn(BaseModel):
    """The SME's ruling; an overturn carries the correct `label` (and may re-score)."""

    ruling: Ruling
    note: str = Field(min_length=1, max_length=4000)
    label: LabelIn | None = None
    scorecard: dict[str, CriterionAnswer] | None = None


class ArbitrationOut(BaseModel):
    dispute: DisputeOut
    amended_verdict: VerdictOut | None


class LogEntryOut(BaseModel):
    id: int
    at: dt.datetime
    actor: str
    action: str
    subject_type: str
    subject_id: str
    details: dict[str, Any]


class LogPage(BaseModel):
    items: list[LogEntryOut]
    next_after_id: int | None = Field(description="pass as `after_id` for more; null at the end")
