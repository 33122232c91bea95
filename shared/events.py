"""Event contracts between the services: frozen pydantic models, one envelope, one decoder.

Every event is a flat JSON object whose `schema` field names its type and version
(`modqa.decision.v1`); that field is the envelope's discriminator. Changes within a
version are additive only; golden samples in `tests/contracts/` must keep parsing.
"""

from __future__ import annotations

import datetime as dt
from enum import StrEnum
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    TypeAdapter,
    model_validator,
)


def _to_utc(value: dt.datetime) -> dt.datetime:
    return value.astimezone(dt.UTC)


def _iso_text(value: object) -> object:
    if isinstance(value, int | float) and not isinstance(value, bool):
        raise ValueError("timestamps are ISO 8601 strings, not numbers")
    return value


UtcDatetime = Annotated[AwareDatetime, BeforeValidator(_iso_text), AfterValidator(_to_utc)]
"""A timezone-aware ISO 8601 timestamp (numbers are refused), normalised to UTC."""

Identifier = Annotated[str, Field(min_length=1, max_length=128, pattern=r"^[A-Za-z0-9._:@/+=-]+$")]
"""An opaque id from an upstream system: no spaces, no control characters."""

Label = Annotated[str, Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9_.-]*$")]
"""A lower-case slug such as a queue, team, policy or stratum name."""

Market = Annotated[str, Field(pattern=r"^[A-Z]{2}$", description="ISO 3166-1 alpha-2 country code")]
Language = Annotated[str, Field(pattern=r"^[a-z]{2,3}$", description="ISO 639 language code")]


class ContentType(StrEnum):
    """What was moderated (aligned with the DSA statement-of-reasons content types)."""

    TEXT = "text"
    IMAGE = "image"
    VIDEO = "video"
    AUDIO = "audio"
    LIVE_STREAM = "live_stream"
    SYNTHETIC_MEDIA = "synthetic_media"
    PRODUCT = "product"
    APP = "app"
    OTHER = "other"


class ModeratorKind(StrEnum):
    HUMAN = "human"
    MACHINE = "machine"


class Action(StrEnum):
    """What a moderator did with the content; `approve` means it was left up."""

    APPROVE = "approve"
    LABEL = "label"
    DEMOTE = "demote"
    AGE_RESTRICT = "age_restrict"
    REMOVE = "remove"
    SUSPEND_ACCOUNT = "suspend_account"
    TERMINATE_ACCOUNT = "terminate_account"


class Source(StrEnum):
    REPORT = "report"
    PROACTIVE = "proactive"
    APPEAL = "appeal"


class AutomatedDecision(StrEnum):
    FULLY = "fully"
    PARTIALLY = "partially"
    NOT_AUTOMATED = "not_automated"


class DecisionGround(StrEnum):
    ILLEGAL = "illegal"
    TERMS = "terms"


class TaskReason(StrEnum):
    UNIFORM = "uniform"
    RISK = "risk"
    QUOTA = "quota"
    TARGETED = "targeted"
    CALIBRATION = "calibration"
    GOLD = "gold"


class Outcome(StrEnum):
    CORRECT = "correct"
    INCORRECT = "incorrect"
    UNSURE = "unsure"


class ErrorType(StrEnum):
    OVER_ENFORCEMENT = "over_enforcement"
    UNDER_ENFORCEMENT = "under_enforcement"
    WRONG_POLICY = "wrong_policy"
    WRONG_ACTION = "wrong_action"


class Severity(StrEnum):
    CRITICAL = "critical"
    MAJOR = "major"
    MINOR = "minor"


class EscalationKind(StrEnum):
    CRITICAL_MISS = "critical_miss"
    MODERATOR_PERFORMANCE = "moderator_performance"
    POLICY_GAP = "policy_gap"
    DISPUTE = "dispute"
    SLA_BREACH = "sla_breach"


class CasePriority(StrEnum):
    P0 = "p0"
    P1 = "p1"
    P2 = "p2"
    P3 = "p3"


class CaseStatus(StrEnum):
    OPEN = "open"
    ACKNOWLEDGED = "acknowledged"
    INVESTIGATING = "investigating"
    RESOLVED = "resolved"
    DISMISSED = "dismissed"


class VerdictPurpose(StrEnum):
    AUDIT = "audit"
    CALIBRATION = "calibration"
    GOLD = "gold"


class DisputeStatus(StrEnum):
    OPEN = "open"
    UPHELD = "upheld"
    OVERTURNED = "overturned"


class DriftScope(StrEnum):
    MODERATOR = "moderator"
    MARKET_POLICY = "market_policy"


class Event(BaseModel):
    """The envelope every event shares: frozen, snake_case, UTC timestamps, a `schema` tag."""

    model_config = ConfigDict(
        frozen=True,
        extra="ignore",
        validate_by_name=True,
        validate_by_alias=True,
        serialize_by_alias=True,
    )


class Decision(Event):
    """A moderation decision taken by a person or a model, as upstream reports it."""

    schema_: Literal["modqa.decision.v1"] = Field(default="modqa.decision.v1", alias="schema")
    decision_id: Identifier
    content_id: Identifier
    content_type: ContentType
    content_ref: str = Field(
        min_length=1, max_length=2048, description="URL or locator auditors open"
    )
    queue: Label
    market: Market
    language: Language
    moderator_id: Identifier
    moderator_kind: ModeratorKind
    moderator_team: Label
    policy_id: Label
    policy_version: int = Field(ge=1)
    action: Action
    confidence: float | None = Field(default=None, ge=0.0, le=1.0, description="model score")
    source: Source
    decided_at: UtcDatetime
    moderator_started_at: dt.date | None = Field(
        default=None, description="first working day of the moderator, for tenure risk rules"
    )
    automated_detection: bool | None = None
    automated_decision: AutomatedDecision | None = None
    decision_ground: DecisionGround | None = None
    category: str | None = Field(
        default=None,
        max_length=96,
        pattern=r"^STATEMENT_CATEGORY_[A-Z_]+$",
        description="DSA category",
    )
    territorial_scope: list[Market] | None = Field(default=None, max_length=64)


class Task(Event):
    """A sampled decision to audit, with the exact probability it was selected with."""

    schema_: Literal["modqa.task.v1"] = Field(default="modqa.task.v1", alias="schema")
    task_id: Identifier
    decision: Decision
    plan_id: Label
    plan_version: int = Field(ge=1)
    stratum: str = Field(min_length=1, max_length=256)
    inclusion_probability: float | None = Field(
        gt=0.0, le=1.0, description="null for tasks without a design probability (quota top-ups)"
    )
    reasons: list[TaskReason] = Field(min_length=1)
    required_reviews: int = Field(default=1, ge=1, le=10)
    priority: int = Field(default=50, ge=0, le=100, description="higher is more urgent")
    pool: Label = Field(default="default", description="the auditor pool whose budget pays for it")
    blind: bool = False
    due_at: UtcDatetime
    created_at: UtcDatetime


class Verdict(Event):
    """An auditor's judgement of one decision; an amended verdict `supersedes` an earlier one."""

    schema_: Literal["modqa.verdict.v1"] = Field(default="modqa.verdict.v1", alias="schema")
    verdict_id: Identifier
    task_id: Identifier
    decision_id: Identifier
    auditor_id: Identifier
    outcome: Outcome
    expected_action: Action | None = None
    expected_policy_id: Label | None = None
    error_type: ErrorType | None = None
    severity: Severity | None = None
    notes: str = Field(default="", max_length=4000)
    round: int = Field(default=1, ge=1)
    supersedes: Identifier | None = None
    submitted_at: UtcDatetime
    decision: Decision | None = Field(default=None, description="snapshot of the audited decision")
    final: bool = Field(
        default=True,
        description="true for the verdict that counts for the decision: a primary review, the "
        "closing verdict of a calibration round, or an arbitration amendment; false for the "
        "individual reviews of a calibration round and for gold-task answers",
    )
    purpose: VerdictPurpose = VerdictPurpose.AUDIT
    blind: bool = Field(default=False, description="the auditor did not see the original action")
    policy_version: int | None = Field(default=None, ge=1, description="taxonomy version judged")
    calibration_agreed: bool | None = Field(
        default=None,
        description="on a calibration round's closing verdict: did the reviewers agree",
    )
    gold_correct: bool | None = Field(
        default=None, description="on a gold-task answer: did the auditor match the known answer"
    )
    scorecard_id: str | None = Field(default=None, max_length=64)
    scorecard_version: int | None = Field(default=None, ge=1)
    qa_score: float | None = Field(default=None, ge=0.0, le=100.0)


class Dispute(Event):
    """A moderator's (or team lead's) challenge of a verdict, and the SME's final word on it."""

    schema_: Literal["modqa.dispute.v1"] = Field(default="modqa.dispute.v1", alias="schema")
    dispute_id: Identifier
    verdict_id: Identifier
    task_id: Identifier
    decision_id: Identifier
    raised_by: Identifier
    reason: str = Field(min_length=1, max_length=4000)
    status: DisputeStatus
    due_at: UtcDatetime = Field(description="arbitration SLA")
    resolved_by: Identifier | None = None
    resolution_note: str | None = Field(default=None, max_length=4000)
    amended_verdict_id: Identifier | None = Field(
        default=None, description="the amended verdict an overturn emitted"
    )
    market: Market
    policy_id: Label
    moderator_id: Identifier
    updated_at: UtcDatetime


class TargetingRule(Event):
    """Raise the sampling rate for a subject until `expires_at` (set while a case is open).

    Keyed by `rule_id` on a compacted topic: the latest record of a rule is its state;
    `active=false` lifts it before it expires.
    """

    schema_: Literal["modqa.targeting.v1"] = Field(default="modqa.targeting.v1", alias="schema")
    rule_id: Identifier
    moderator_id: Identifier | None = Field(default=None, description="target one moderator")
    market: Market | None = Field(
        default=None, description="with policy_id: target a market+policy"
    )
    policy_id: Label | None = None
    rate: float = Field(gt=0.0, le=1.0, description="inclusion probability while targeted")
    reason: str = Field(min_length=1, max_length=500)
    case_id: Identifier | None = None
    active: bool = True
    expires_at: UtcDatetime
    updated_at: UtcDatetime

    @model_validator(mode="after")
    def _one_subject(self) -> TargetingRule:
        by_moderator = self.moderator_id is not None
        by_policy = self.market is not None and self.policy_id is not None
        if by_moderator == by_policy:
            raise ValueError("set either moderator_id, or both market and policy_id")
        return self


class DriftSignal(Event):
    """A change detector (CUSUM) crossed its threshold for a moderator or a market x policy."""

    schema_: Literal["modqa.drift.v1"] = Field(default="modqa.drift.v1", alias="schema")
    signal_id: Identifier
    scope: DriftScope
    moderator_id: Identifier | None = None
    moderator_team: Label | None = None
    market: Market | None = None
    policy_id: Label | None = None
    baseline_error_rate: float = Field(ge=0.0, le=1.0)
    recent_error_rate: float = Field(ge=0.0, le=1.0)
    statistic: float
    threshold: float
    audits: int = Field(ge=1, description="audits the detector has seen for this subject")
    evidence: list[Identifier] = Field(default_factory=list, description="recent verdict ids")
    detected_at: UtcDatetime


class CaseFigure(BaseModel):
    """One measured figure behind a case (a share, a rate, a detector statistic) and its bar."""

    model_config = ConfigDict(frozen=True, extra="ignore")

    name: Label = Field(description="e.g. unsure_share, accuracy, drift_statistic")
    value: float
    threshold: float
    numerator: int | None = Field(default=None, ge=0)
    denominator: int | None = Field(default=None, ge=0)
    window_start: UtcDatetime | None = None
    window_end: UtcDatetime | None = None


class Escalation(Event):
    """The state of an escalation case after one change; every change is one event."""

    schema_: Literal["modqa.escalation.v1"] = Field(default="modqa.escalation.v1", alias="schema")
    escalation_id: Identifier
    kind: EscalationKind
    severity: CasePriority
    status: CaseStatus
    subject: str = Field(min_length=1, max_length=256)
    evidence: list[Identifier] = Field(default_factory=list)
    owner: str | None = None
    due_at: UtcDatetime | None = None
    root_cause: str | None = None
    resolution: str | None = None
    trigger_count: int = Field(default=1, ge=1)
    revision: int = Field(default=1, ge=1, description="increases with every change")
    updated_at: UtcDatetime
    opened_at: UtcDatetime | None = None
    change: Label | None = Field(
        default=None,
        description="what this revision changed: opened, evidence_added, acknowledged, "
        "investigating, resolved, dismissed, assigned, root_cause_set, noted, sla_breached",
    )
    actor: str | None = Field(
        default=None, max_length=128, description="who made the change; `system` for rules"
    )
    rule_id: str | None = Field(default=None, max_length=64, description="the rule that opened it")
    root_cause_note: str | None = Field(
        default=None, max_length=4000, description="the text that goes with `root_cause`"
    )
    sla_breaches: int = Field(default=0, ge=0, description="due times missed so far")
    moderator_id: Identifier | None = None
    moderator_team: Label | None = None
    market: Market | None = None
    policy_id: Label | None = None
    figures: list[CaseFigure] = Field(
        default_factory=list, description="the measurements that triggered the case"
    )


class Correction(Event):
    """What upstream must re-action: a decision found wrong by a final verdict."""

    schema_: Literal["modqa.correction.v1"] = Field(default="modqa.correction.v1", alias="schema")
    correction_id: Identifier
    content_id: Identifier
    decision_id: Identifier
    corrected_action: Action | None
    corrected_policy_id: Label | None
    verdict_id: Identifier
    retracts: Identifier | None = Field(
        default=None, description="set when this withdraws an earlier correction"
    )
    issued_at: UtcDatetime


AnyEventType = (
    Decision | Task | Verdict | Dispute | TargetingRule | DriftSignal | Escalation | Correction
)
AnyEvent = Annotated[AnyEventType, Field(discriminator="schema_")]
EVENT_ADAPTER: TypeAdapter[AnyEventType] = TypeAdapter(AnyEvent)
"""Decodes any event by its `schema` tag; built once at import (it holds no connection)."""

EVENT_TYPES: tuple[type[Event], ...] = (
    Decision,
    Task,
    Verdict,
    Dispute,
    TargetingRule,
    DriftSignal,
    Escalation,
    Correction,
)


def encode(event: Event) -> bytes:
    """The wire form of an event: compact JSON, `schema` included, nulls kept."""
    return event.model_dump_json().encode()


def decode_any(raw: bytes | str) -> AnyEventType:
    """Parse and validate one event of any kind; raises pydantic.ValidationError."""
    return EVENT_ADAPTER.validate_json(raw)
