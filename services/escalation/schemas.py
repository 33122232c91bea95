"""HTTP request and response models of the escalation service."""

from __future__ import annotations

import datetime as dt
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from services.escalation.domain.cases import CaseAction, RootCause
from shared.events import Escalation, TargetingRule


class CasePage(BaseModel):
    items: list[Escalation]
    next_cursor: str | None


class HistoryEntryOut(BaseModel):
    revision: int
    at: dt.datetime
    actor: str
    change: str
    from_status: str | None
    to_status: str
    note: str | None
    details: dict[str, Any]


class CaseDetailOut(BaseModel):
    case: Escalation
    history: list[HistoryEntryOut]
    targeting: list[TargetingRule]


class CaseActionIn(BaseModel):
    """One action on a case. `resolve` needs `resolution` and a `root_cause` (given now or set
    before); `dismiss` needs `resolution` (why no action is needed); `assign` needs `owner`."""

    model_config = ConfigDict(extra="forbid")

    action: CaseAction
    owner: str | None = Field(default=None, min_length=1, max_length=128)
    note: str | None = Field(default=None, max_length=4000)
    root_cause: RootCause | None = None
    root_cause_note: str | None = Field(default=None, max_length=4000)
    resolution: str | None = Field(default=None, max_length=4000)
    expected_revision: int | None = Field(
        default=None, ge=1, description="refuse (409) if the case changed since this revision"
    )


class RuleSetOut(BaseModel):
    version: int
    in_force: bool
    source: str
    document: dict[str, Any]
    note: str | None
    created_by: str
    created_at: dt.datetime


class RuleSetSummary(BaseModel):
    version: int
    in_force: bool
    note: str | None
    created_by: str
    created_at: dt.datetime


class ApplicationOut(BaseModel):
    version: int
    applied_by: str
    applied_at: dt.datetime


class RuleSetList(BaseModel):
    in_force: int
    versions: list[RuleSetSummary]
    applications: list[ApplicationOut]


class RuleProblems(BaseModel):
    valid: bool
    problems: list[str]


class SubscriptionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str = Field(min_length=1, max_length=2048)
    events: list[str] = Field(
        min_length=1,
        max_length=50,
        description="event types or patterns: escalation.opened, escalation.*, correction.*, *",
    )
    secret: str | None = Field(
        default=None, min_length=16, max_length=256, description="made for you when left out"
    )
    description: str | None = Field(default=None, max_length=500)


class SubscriptionPatch(BaseModel):
    model_config = ConfigDict(extra="forbid")

    url: str | None = Field(default=None, min_length=1, max_length=2048)
    events: list[str] | None = Field(default=None, min_length=1, max_length=50)
    secret: str | None = Field(default=None, min_length=16, max_length=256)
    active: bool | None = None
    description: str | None = Field(default=None, max_length=500)


class SubscriptionOut(BaseModel):
    subscription_id: str
    url: str
    events: list[str]
    active: bool
    description: str | None
    created_by: str
    created_at: dt.datetime
    updated_at: dt.datetime


class SubscriptionCreated(SubscriptionOut):
    secret: str = Field(description="shown once: keep it to verify the signatures")


class DeliveryOut(BaseModel):
    delivery_id: int
    subscription_id: str
    event_type: str
    event_key: str
    status: str
    attempts: int
    next_attempt_at: dt.datetime | None
    last_status_code: int | None
    last_error: str | None
    created_at: dt.datetime
    finished_at: dt.datetime | None


class AttemptOut(BaseModel):
    attempt: int
    at: dt.datetime
    status_code: int | None
    error: str | None
    duration_ms: float


class DeliveryDetailOut(BaseModel):
    delivery: DeliveryOut
    attempts: list[AttemptOut]


class DeliveryPage(BaseModel):
    items: list[DeliveryOut]
    next_cursor: str | None
