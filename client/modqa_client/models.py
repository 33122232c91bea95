"""What the services answer, as typed models of the client's own (it never imports `shared`).

Fields the client does not know yet are kept (`extra="allow"`), so a newer service never
breaks an older client and `--json` shows everything the service said.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field


class Model(BaseModel):
    model_config = ConfigDict(extra="allow")


# --- audit: tasks, verdicts, the taxonomy -------------------------------------------------


class Criterion(Model):
    id: str
    text: str
    weight: float = 1.0
    critical: bool = False


class Scorecard(Model):
    scorecard_id: str
    version: int
    queue: str
    name: str
    criteria: list[Criterion]


class Task(Model):
    """A task leased to the caller: the decision (blind tasks hide what the moderator did)."""

    task_id: str
    decision: dict[str, Any]
    blind: bool
    required_reviews: int = 1
    priority: int = 50
    due_at: dt.datetime
    lease_expires_at: dt.datetime
    scorecard: Scorecard | None = None


class TaskSummary(Model):
    """A task as leads and SMEs see it."""

    task_id: str
    decision: dict[str, Any]
    purpose: str
    status: str
    reasons: list[str] = Field(default_factory=list)
    required_reviews: int = 1
    reviews_done: int = 0
    blind: bool = False
    priority: int = 50
    due_at: dt.datetime
    reference: dict[str, Any] | None = None


class Lease(Model):
    task_id: str
    lease_expires_at: dt.datetime


class Verdict(Model):
    verdict_id: str
    task_id: str
    auditor_id: str
    outcome: str
    expected_action: str | None = None
    expected_policy_id: str | None = None
    error_type: str | None = None
    severity: str | None = None
    notes: str = ""
    submitted_at: dt.datetime
    qa_score: float | None = None
    # leads and SMEs also see these
    decision_id: str | None = None
    round: int | None = None
    final: bool | None = None
    purpose: str | None = None
    blind: bool | None = None
    supersedes: str | None = None
    calibration_agreed: bool | None = None


class VerdictPage(Model):
    items: list[Verdict]
    next_cursor: str | None = None


class PolicyVersion(Model):
    version: int
    effective_from: dt.date
    actions: list[str]


class Policy(Model):
    id: str
    name: str
    severity: str
    versions: list[PolicyVersion]

    def version(self, number: int) -> PolicyVersion | None:
        """The version with that number, if the policy has it."""
        return next((v for v in self.versions if v.version == number), None)

    def current(self, on: dt.date) -> PolicyVersion:
        """The version in force on a day (the first one before any took effect)."""
        in_force = [v for v in self.versions if v.effective_from <= on]
        return max(in_force, key=lambda v: v.effective_from) if in_force else self.versions[0]


class PolicyEntry(Model):
    policy: Policy
    revision: int = 1


class Proportion(Model):
    successes: int
    n: int
    rate: float | None = None
    low: float | None = None
    high: float | None = None


class DayCount(Model):
    day: dt.date
    verdicts: int


class Auditor(Model):
    auditor_id: str
    name: str
    languages: list[str]
    markets: list[str] = Field(default_factory=list)
    policy_areas: list[str] = Field(default_factory=list)
    roles: list[str] = Field(default_factory=list)
    teams: list[str] = Field(default_factory=list)
    active: bool = True


class Stats(Model):
    auditor_id: str
    verdicts_total: int
    verdicts_last_24h: int
    verdicts_last_7d: int
    per_day: list[DayCount] = Field(default_factory=list)
    median_handle_seconds: float | None = None
    gold_accuracy: Proportion
    calibration_agreement: Proportion
    disputed: int = 0
    overturned: int = 0


class Dispute(Model):
    dispute_id: str
    verdict_id: str
    task_id: str
    decision_id: str
    raised_by: str
    reason: str
    status: str
    due_at: dt.datetime
    resolved_by: str | None = None
    resolution_note: str | None = None
    amended_verdict_id: str | None = None
    market: str
    policy_id: str
    moderator_id: str


class Arbitration(Model):
    dispute: Dispute
    amended_verdict: Verdict | None = None


# --- escalation: cases ----------------------------------------------------------------------


class Case(Model):
    escalation_id: str
    kind: str
    severity: str
    status: str
    subject: str
    evidence: list[str] = Field(default_factory=list)
    owner: str | None = None
    due_at: dt.datetime | None = None
    root_cause: str | None = None
    root_cause_note: str | None = None
    resolution: str | None = None
    trigger_count: int = 1
    revision: int = 1
    updated_at: dt.datetime
    opened_at: dt.datetime | None = None
    market: str | None = None
    policy_id: str | None = None
    moderator_id: str | None = None


class CasePage(Model):
    items: list[Case]
    next_cursor: str | None = None


class HistoryEntry(Model):
    revision: int
    at: dt.datetime
    actor: str
    change: str
    from_status: str | None = None
    to_status: str
    note: str | None = None


class CaseDetail(Model):
    case: Case
    history: list[HistoryEntry] = Field(default_factory=list)


# --- sampler: decisions and sampling plans ----------------------------------------------------


class Refusal(Model):
    index: int
    decision_id: str | None = None
    error: str


class IngestResult(Model):
    accepted: int
    rejected: list[Refusal] = Field(default_factory=list)


class Plan(Model):
    """A plan revision: which plan version is (or would be) in force, with its document."""

    plan_id: str
    version: int
    rate: float
    seq: int = 0
    effective_from: dt.datetime | None = None
    scales: dict[str, float] = Field(default_factory=dict)
    document: dict[str, Any] = Field(default_factory=dict)


class PlanSummary(Model):
    plan_id: str
    latest_version: int
    updated_at: dt.datetime


class PlanVersionSummary(Model):
    version: int
    created_by: str
    created_at: dt.datetime


class PlanVersion(Model):
    plan_id: str
    version: int
    created_by: str
    created_at: dt.datetime
    document: dict[str, Any]


class StoredPlan(Model):
    plan_id: str
    version: int
    created: bool


class StratumForecast(Model):
    stratum: str
    decisions_per_day: float
    error_rate: float
    error_rate_source: str = ""
    current_tasks_per_day: float
    proposed_tasks_per_day: float
    current_half_width: float | None = None
    proposed_half_width: float | None = None


class PoolForecast(Model):
    pool: str
    daily_budget: int | None = None
    current_tasks_per_day: float
    proposed_tasks_per_day: float


class DryRun(Model):
    """Expected tasks per day and 95% interval half-widths, the plan in force against a proposal."""

    current: Plan
    proposed: Plan
    days: int
    horizon_days: int
    decisions_per_day: float
    traffic_sample: int = 0
    current_tasks_per_day: float
    proposed_tasks_per_day: float
    strata: list[StratumForecast] = Field(default_factory=list)
    pools: list[PoolForecast] = Field(default_factory=list)


# --- metrics: agreement -----------------------------------------------------------------------


class Figure(Model):
    """A rate with its 95% interval and the sample it rests on."""

    rate: float | None = None
    low: float | None = None
    high: float | None = None
    n: int = 0
    firm: bool = True


class Kappa(Model):
    value: float | None = None
    items: int = 0


class PairAgreement(Model):
    auditors: tuple[str, str]
    cohen_kappa: Kappa


class RoundAgreement(Model):
    reviewers: int
    fleiss_kappa: Kappa


class AuditorAgreement(Model):
    auditor_id: str
    agreement_with_reference: Figure
    gold_accuracy: Figure


class Agreement(Model):
    pairs: list[PairAgreement] = Field(default_factory=list)
    rounds: list[RoundAgreement] = Field(default_factory=list)
    auditors: list[AuditorAgreement] = Field(default_factory=list)
