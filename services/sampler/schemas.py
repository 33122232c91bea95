"""HTTP request and response models of the sampler."""

from __future__ import annotations

import datetime as dt
import json
from typing import Any

import yaml
from pydantic import BaseModel, Field

from shared.events import Label
from shared.http import INT4_MAX

MAX_BATCH = 1000
YAML_TYPES = ("application/yaml", "application/x-yaml", "text/yaml", "text/x-yaml")


class DecisionBatch(BaseModel):
    """Up to 1,000 decisions; each is validated on its own so one bad item refuses only itself."""

    decisions: list[dict[str, Any]] = Field(min_length=1, max_length=MAX_BATCH)


class ItemError(BaseModel):
    index: int
    decision_id: str | None
    error: str


class IngestResult(BaseModel):
    accepted: int
    rejected: list[ItemError] = Field(default_factory=list)


class FieldError(BaseModel):
    field: str
    message: str


class PlanRefused(BaseModel):
    detail: str
    errors: list[FieldError]


class StoredVersion(BaseModel):
    plan_id: str
    version: int
    created: bool = Field(description="false when the document equals the latest version")


class PlanSummary(BaseModel):
    plan_id: str
    latest_version: int
    updated_at: dt.datetime


class VersionSummary(BaseModel):
    version: int
    created_by: str
    created_at: dt.datetime


class PlanVersionView(BaseModel):
    plan_id: str
    version: int
    created_by: str
    created_at: dt.datetime
    document: dict[str, Any]


class AllocationView(BaseModel):
    rates: dict[str, float]
    error_rates: dict[str, float]
    computed_at: dt.datetime
    source: str


class PlanView(BaseModel):
    """A plan revision: which plan version, from when, with what derived rates."""

    plan_id: str
    version: int
    rate: float = Field(description="the plan's base rate")
    seq: int = Field(description="0 for the default plan from the settings")
    effective_from: dt.datetime | None
    scales: dict[str, float] = Field(default_factory=dict)
    allocation: AllocationView | None = None
    document: dict[str, Any]


class ApplyRequest(BaseModel):
    plan_id: Label
    version: int = Field(ge=1, le=INT4_MAX)


class StratumForecastView(BaseModel):
    stratum: str
    decisions_per_day: float
    error_rate: float
    error_rate_source: str
    current_tasks_per_day: float
    proposed_tasks_per_day: float
    current_half_width: float | None
    proposed_half_width: float | None


class PoolForecastView(BaseModel):
    pool: str
    daily_budget: int | None
    current_tasks_per_day: float
    proposed_tasks_per_day: float


class DryRunReport(BaseModel):
    """Expected tasks per day and 95% interval half-widths, current plan against proposed."""

    current: PlanView
    proposed: PlanView
    days: int = Field(description="days of recent traffic the estimate is based on")
    horizon_days: int = Field(description="period the half-widths are for")
    decisions_per_day: float
    traffic_sample: int
    current_tasks_per_day: float
    proposed_tasks_per_day: float
    strata: list[StratumForecastView]
    pools: list[PoolForecastView]


def read_document(raw: bytes, content_type: str | None) -> object:
    """A plan document from a request body, JSON or (by content type) YAML."""
    if content_type and content_type.split(";")[0].strip().lower() in YAML_TYPES:
        return yaml.safe_load(raw)
    return json.loads(raw)
