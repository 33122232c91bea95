"""Sampling plans as data: the document a lead writes (JSON or YAML), validated field by field.

A plan combines a base rate, per-stratum rates, risk rules that raise the rate, a floor, a
minimum of tasks per moderator per day, daily budgets per auditor pool, Neyman allocation and
a calibration share. The document is stored as it was validated; `Revision` pairs a stored
version with what the sampler derived for it (pool scales, allocated rates) and when it
takes effect.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from shared.events import (
    ContentType,
    Identifier,
    Label,
    ModeratorKind,
    Severity,
    UtcDatetime,
)


class Dimension(StrEnum):
    """A decision field a plan can stratify, match or allocate on."""

    QUEUE = "queue"
    MARKET = "market"
    LANGUAGE = "language"
    POLICY_ID = "policy_id"
    CONTENT_TYPE = "content_type"
    MODERATOR_KIND = "moderator_kind"
    MODERATOR_TEAM = "moderator_team"


_LABEL = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")
_VALUE_RULES: dict[Dimension, tuple[re.Pattern[str] | frozenset[str], str]] = {
    Dimension.QUEUE: (_LABEL, "a lower-case label"),
    Dimension.MARKET: (re.compile(r"[A-Z]{2}"), "an ISO 3166-1 alpha-2 code such as KR"),
    Dimension.LANGUAGE: (re.compile(r"[a-z]{2,3}"), "an ISO 639 code such as ko"),
    Dimension.POLICY_ID: (_LABEL, "a lower-case label"),
    Dimension.CONTENT_TYPE: (frozenset(ContentType), "one of " + ", ".join(ContentType)),
    Dimension.MODERATOR_KIND: (frozenset(ModeratorKind), "human or machine"),
    Dimension.MODERATOR_TEAM: (_LABEL, "a lower-case label"),
}


def _as_list(value: object) -> object:
    return [value] if isinstance(value, str) else value


def _check_match(match: dict[Dimension, list[str]]) -> dict[Dimension, list[str]]:
    for dimension, values in match.items():
        rule, what = _VALUE_RULES[dimension]
        for value in values:
            ok = value in rule if isinstance(rule, frozenset) else rule.fullmatch(value)
            if not ok:
                raise ValueError(f"{dimension.value}: {value!r} is not {what}")
    return match


Rate = Annotated[float, Field(ge=0.0, le=1.0)]
PositiveRate = Annotated[float, Field(gt=0.0, le=1.0)]
Values = Annotated[list[str], BeforeValidator(_as_list), Field(min_length=1)]
Match = Annotated[dict[Dimension, Values], AfterValidator(_check_match)]
"""Decision fields and the values they must take, e.g. `{market: [KR], queue: video}`."""


class _Part(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class StratumRate(_Part):
    """The rate of the decisions matching every listed field (the first matching entry wins)."""

    match: Annotated[Match, Field(min_length=1)]
    rate: Rate


class LowConfidence(_Part):
    """Machine decisions with a confidence below `below` are sampled at least at `rate`."""

    below: float = Field(gt=0.0, le=1.0)
    rate: Rate


class Tenure(_Part):
    """Decisions by moderators in their first `days` days are sampled at least at `rate`."""

    days: int = Field(ge=1, le=3650)
    rate: Rate


class PolicyChanges(_Part):
    """Decisions under a policy version that took effect in the last `days` days."""

    days: int = Field(ge=1, le=3650)
    rate: Rate


class TargetedReview(_Part):
    """A moderator under targeted review until `until`, sampled at least at `rate`."""

    moderator_id: Identifier
    until: UtcDatetime
    rate: PositiveRate


class Risk(_Part):
    """Rules that raise a decision's rate; the highest applicable rate counts."""

    severity: dict[Severity, Rate] = Field(
        default_factory=dict, description="policy severity (from the taxonomy) to rate"
    )
    low_confidence: LowConfidence | None = None
    new_moderators: Tenure | None = None
    policy_changes: PolicyChanges | None = None
    targeted: list[TargetedReview] = Field(default_factory=list, max_length=10_000)


class Pool(_Part):
    """An auditor pool: the decisions it audits and how many tasks a day it can take."""

    name: Label
    match: Match = Field(default_factory=dict, description="empty: every decision")
    daily_budget: int | None = Field(default=None, ge=1, le=10_000_000)


class Quota(_Part):
    """At least this many tasks per moderator per day (top-ups carry no design probability)."""

    min_per_moderator_per_day: int = Field(ge=1, le=1000)
    moderator_kinds: list[ModeratorKind] = Field(
        default_factory=lambda: [ModeratorKind.HUMAN], min_length=1
    )


class Allocation(_Part):
    """Neyman allocation of `daily_tasks` over the plan's strata by recent error rates."""

    method: Literal["neyman"] = "neyman"
    daily_tasks: int = Field(ge=1, le=100_000_000)
    days: int = Field(default=28, ge=1, le=365, description="error-rate window")
    prior_error_rate: float = Field(default=0.05, gt=0.0, lt=1.0)
    min_audits: int = Field(
        default=30, ge=0, le=100_000, description="pseudo-audits of the prior in each stratum"
    )


class Calibration(_Part):
    """A share of tasks that need `reviews` independent reviews."""

    share: Rate
    reviews: int = Field(default=3, ge=2, le=10)


class PlanDocument(_Part):
    """A sampling plan as a lead writes it; every field is optional except what it needs."""

    plan_id: Label | None = Field(default=None, description="if given, must match the URL")
    description: str = Field(default="", max_length=2000)
    salt: str | None = Field(
        default=None,
        min_length=1,
        max_length=128,
        description="selection hash salt; keep it across versions (default: the plan id)",
    )
    base_rate: Rate = 0.05
    floor: float = Field(
        default=0.001, gt=0.0, le=1.0, description="no decision is ever sampled below this"
    )
    strata: list[Dimension] = Field(default_factory=list, max_length=len(Dimension))
    rates: list[StratumRate] = Field(default_factory=list, max_length=10_000)
    risk: Risk = Field(default_factory=Risk)
    pools: list[Pool] = Field(default_factory=list, max_length=1000)
    quota: Quota | None = None
    allocation: Allocation | None = None
    calibration: Calibration | None = None
    blind_share: Rate = 0.0
    due_within_hours: float = Field(default=24.0, gt=0.0, le=24 * 30)

    @model_validator(mode="after")
    def _consistent(self) -> PlanDocument:
        if len(set(self.strata)) != len(self.strata):
            raise ValueError("strata: a dimension is listed twice")
        names = [pool.name for pool in self.pools]
        if len(set(names)) != len(names):
            raise ValueError("pools: two pools have the same name")
        return self


class InvalidPlan(ValueError):
    """A plan document that does not validate; `errors` name each offending field."""

    def __init__(self, errors: list[tuple[str, str]]) -> None:
        self.errors = errors
        super().__init__("; ".join(f"{where}: {what}" for where, what in errors))


def validate_plan(raw: Mapping[str, Any] | object, *, plan_id: str) -> PlanDocument:
    """The validated document, or InvalidPlan naming every field that is wrong."""
    if not isinstance(raw, Mapping):
        raise InvalidPlan([("(document)", "a plan is a JSON or YAML object")])
    try:
        document = PlanDocument.model_validate(dict(raw))
    except ValidationError as error:
        raise InvalidPlan(
            [
                (
                    ".".join(str(part) for part in item["loc"] if part != "[key]") or "(document)",
                    item["msg"],
                )
                for item in error.errors()
            ]
        ) from error
    if document.plan_id is not None and document.plan_id != plan_id:
        raise InvalidPlan([("plan_id", f"the document says {document.plan_id!r}, not {plan_id!r}")])
    return document


def default_plan(*, rate: float, salt: str) -> PlanDocument:
    """The plan in force before any plan is applied: a uniform rate (MODQA_SAMPLER_BASE_RATE)."""
    return PlanDocument(
        plan_id="default",
        description="uniform sampling from the service settings (no plan applied yet)",
        salt=salt,
        base_rate=rate,
        floor=min(0.001, rate) if rate > 0 else 1e-12,
    )


@dataclass(frozen=True)
class Allocated:
    """The outcome of a Neyman allocation: a rate per stratum and what it was based on."""

    rates: Mapping[str, float]
    error_rates: Mapping[str, float]
    computed_at: dt.datetime
    source: str
    """`metrics` when the error rates came from the metrics service, `prior` otherwise."""


@dataclass(frozen=True)
class Revision:
    """A stored plan version as it applies from `effective_from`, with its derived rates."""

    seq: int
    plan_id: str
    version: int
    effective_from: dt.datetime
    plan: PlanDocument
    scales: Mapping[str, float] = field(default_factory=dict)
    """Pool name to the factor budgets apply to design probabilities (1.0 when absent)."""
    allocation: Allocated | None = None

    @property
    def salt(self) -> str:
        return self.plan.salt or self.plan_id
