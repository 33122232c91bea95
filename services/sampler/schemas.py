"""HTTP request and response models of the sampler."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, Field

MAX_BATCH = 1000


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


class PlanView(BaseModel):
    plan_id: str
    version: int
    rate: float
