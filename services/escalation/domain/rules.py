"""Escalation rules as versioned data: the schema a rule set must follow, and its validation.

A rule set is a YAML (or JSON) document with the due times per severity (`sla`) and a list of
rules, each with an `id` and a `kind`. It is parsed here into frozen models or refused with
one readable line per problem (`rules[2] (id 'coaching').min_accuracy: ...`).
"""

from __future__ import annotations

import datetime as dt
import re
import string
from typing import Annotated, Any, Literal

import yaml
from pydantic import (
    AfterValidator,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    ValidationError,
    model_validator,
)

from shared.events import CasePriority, Label

_DURATION = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days", "w": "weeks"}
OWNER_FIELDS = frozenset({"moderator_id", "moderator_team", "market", "policy_id"})


def _duration_from_text(value: object) -> object:
    """`15m`, `4h`, `7d`, `2w`, `30s` become timedeltas; numbers (seconds) and ISO 8601 pass."""
    if isinstance(value, str):
        match = _DURATION.match(value)
        if match:
            return dt.timedelta(**{_UNITS[match.group(2)]: int(match.group(1))})
    return value


def _positive(value: dt.timedelta) -> dt.timedelta:
    if value <= dt.timedelta(0):
        raise ValueError("must be a positive duration such as 15m, 4h or 7d")
    return value


Duration = Annotated[dt.timedelta, BeforeValidator(_duration_from_text), AfterValidator(_positive)]
"""A positive duration written as `15m`, `4h`, `7d`, `2w`, seconds, or ISO 8601 (`PT15M`)."""

Share = Annotated[float, Field(ge=0.0, le=1.0)]


def _owner_template(value: str | None) -> str | None:
    if value is None:
        return None
    for _, field, _, _ in string.Formatter().parse(value):
        if field is not None and field not in OWNER_FIELDS:
            names = ", ".join("{" + name + "}" for name in sorted(OWNER_FIELDS))
            raise ValueError(f"unknown placeholder {{{field}}}; use {names}")
    return value


OwnerTemplate = Annotated[str | None, Field(max_length=128), AfterValidator(_owner_template)]
"""Who a new case is assigned to, e.g. `lead:{moderator_team}`; null leaves it unassigned."""


class _Strict(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Sla(_Strict):
    """How soon a case of one severity must be acknowledged and resolved (from opening)."""

    acknowledge: Duration
    resolve: Duration

    @model_validator(mode="after")
    def _acknowledge_first(self) -> Sla:
        if self.acknowledge > self.resolve:
            raise ValueError("acknowledge must not be later than resolve")
        return self


DEFAULT_SLA: dict[CasePriority, Sla] = {
    CasePriority.P0: Sla(acknowledge=dt.timedelta(minutes=15), resolve=dt.timedelta(hours=4)),
    CasePriority.P1: Sla(acknowledge=dt.timedelta(hours=1), resolve=dt.timedelta(days=1)),
    CasePriority.P2: Sla(acknowledge=dt.timedelta(hours=8), resolve=dt.timedelta(days=3)),
    CasePriority.P3: Sla(acknowledge=dt.timedelta(days=2), resolve=dt.timedelta(days=14)),
}


class Target(_Strict):
    """Raise the sampler's rate for the case's subject to `rate`, renewed while the case is open."""

    rate: Annotated[float, Field(gt=0.0, le=1.0)]
    expires_after: Duration = dt.timedelta(days=3)


class _Rule(_Strict):
    id: Label
    enabled: bool = True
    description: str = Field(default="", max_length=500)


class CriticalMissRule(_Rule):
    """An under-enforcement final verdict on a critical policy opens a case at once."""

    kind: Literal["critical_miss"]
    severity: CasePriority = CasePriority.P0
    policies: list[Label] = Field(
        default_factory=list,
        description="policy ids that count as critical; empty: the verdict's severity decides",
    )
    owner: OwnerTemplate = None
    target: Target | None = None


class ModeratorPerformanceRule(_Rule):
    """A moderator below `min_accuracy` over their last `last_n` judged audits (or a drift signal
    about them) gets a coaching case for their team lead."""

    kind: Literal["moderator_performance"]
    last_n: int = Field(default=20, ge=1, le=1000)
    min_accuracy: Share = 0.85
    on_drift_signal: bool = True
    severity: CasePriority = CasePriority.P2
    owner: OwnerTemplate = "lead:{moderator_team}"
    target: Target | None = None


class PolicyGapRule(_Rule):
    """In one market and policy, a share above its bar within `window` opens a policy case."""

    kind: Literal["policy_gap"]
    window: Duration = dt.timedelta(days=7)
    min_sample: int = Field(default=20, ge=1, description="smallest denominator judged")
    max_unsure_share: Share | None = None
    max_calibration_disagreement_share: Share | None = None
    max_overturned_dispute_share: Share | None = None
    on_drift_signal: bool = True
    severity: CasePriority = CasePriority.P2
    owner: OwnerTemplate = "policy-team"
    target: Target | None = None

    @model_validator(mode="after")
    def _some_threshold(self) -> PolicyGapRule:
        if (
            self.max_unsure_share is None
            and self.max_calibration_disagreement_share is None
            and self.max_overturned_dispute_share is None
            and not self.on_drift_signal
        ):
            raise ValueError(
                "set at least one of max_unsure_share, max_calibration_disagreement_share, "
                "max_overturned_dispute_share or on_drift_signal"
            )
        return self


class DisputeRule(_Rule):
    """A dispute still open at its `due_at` opens a case for the SMEs."""

    kind: Literal["dispute"]
    severity: CasePriority = CasePriority.P2
    owner: OwnerTemplate = "sme"


class SlaBreachRule(_Rule):
    """A case past its due time is raised `raise_by` severities (at most p0) and notified again."""

    kind: Literal["sla_breach"]
    raise_by: int = Field(default=1, ge=0, le=3)


Rule = Annotated[
    CriticalMissRule | ModeratorPerformanceRule | PolicyGapRule | DisputeRule | SlaBreachRule,
    Field(discriminator="kind"),
]
SINGLETON_KINDS = ("dispute", "sla_breach")


class RuleSet(_Strict):
    """A complete, valid rule set: due times per severity and the rules."""

    sla: dict[CasePriority, Sla] = Field(default_factory=lambda: dict(DEFAULT_SLA))
    rules: list[Rule] = Field(min_length=1)

    @model_validator(mode="after")
    def _consistent(self) -> RuleSet:
        missing = [p.value for p in CasePriority if p not in self.sla]
        if missing:
            raise ValueError(f"sla: give acknowledge and resolve for {', '.join(missing)}")
        ids = [rule.id for rule in self.rules]
        repeated = sorted({i for i in ids if ids.count(i) > 1})
        if repeated:
            raise ValueError(f"rules: ids must be unique; repeated: {', '.join(repeated)}")
        for kind in SINGLETON_KINDS:
            if sum(1 for rule in self.rules if rule.kind == kind) > 1:
                raise ValueError(f"rules: at most one rule of kind {kind}")
        return self

    def active(self) -> list[Rule]:
        """The enabled rules."""
        return [rule for rule in self.rules if rule.enabled]

    def critical_miss(self) -> list[CriticalMissRule]:
        """The enabled critical-miss rules."""
        return [r for r in self.active() if isinstance(r, CriticalMissRule)]

    def moderator_performance(self) -> list[ModeratorPerformanceRule]:
        """The enabled moderator-performance rules."""
        return [r for r in self.active() if isinstance(r, ModeratorPerformanceRule)]

    def policy_gap(self) -> list[PolicyGapRule]:
        """The enabled policy-gap rules."""
        return [r for r in self.active() if isinstance(r, PolicyGapRule)]

    def dispute(self) -> DisputeRule | None:
        """The enabled dispute rule, if any."""
        return next((r for r in self.active() if isinstance(r, DisputeRule)), None)

    def sla_breach(self) -> SlaBreachRule | None:
        """The enabled SLA-breach rule, if any."""
        return next((r for r in self.active() if isinstance(r, SlaBreachRule)), None)

    def rule(self, rule_id: str | None) -> Rule | None:
        """The rule with that id, enabled or not."""
        return next((r for r in self.rules if r.id == rule_id), None)

    def target_for(self, rule_id: str | None) -> Target | None:
        """The targeting of the rule that opened a case, if it has one."""
        rule = self.rule(rule_id)
        target = getattr(rule, "target", None)
        return target if isinstance(target, Target) else None

    def as_document(self) -> dict[str, Any]:
        """The normalised JSON form stored next to the source text."""
        return self.model_dump(mode="json")


class InvalidRules(ValueError):
    """A rule set that cannot be used; `problems` has one readable line per problem."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems


def parse_rules(text: str) -> RuleSet:
    """Parse and validate a rule set written in YAML or JSON; raise InvalidRules if it is wrong."""
    try:
        data = yaml.safe_load(text)
    except yaml.YAMLError as error:
        raise InvalidRules([f"not valid YAML or JSON: {error}".replace("\n", " ")]) from error
    if not isinstance(data, dict):
        raise InvalidRules(["the document must be a mapping with `rules` and optionally `sla`"])
    return rules_from_document(data)


def rules_from_document(data: dict[str, Any]) -> RuleSet:
    """Validate an already-parsed rule set document."""
    try:
        return RuleSet.model_validate(data)
    except ValidationError as error:
        raise InvalidRules([_describe(item, data) for item in error.errors()]) from error


def _describe(item: Any, data: dict[str, Any]) -> str:
    loc = list(item["loc"])
    parts: list[str] = []
    rules = data.get("rules")
    for i, part in enumerate(loc):
        if isinstance(part, int):
            label = f"[{part}]"
            if i == 1 and loc[0] == "rules" and isinstance(rules, list) and part < len(rules):
                rule_id = rules[part].get("id") if isinstance(rules[part], dict) else None
                if rule_id is not None:
                    label += f" (id {rule_id!r})"
            parts.append(label)
        elif i == 2 and loc[0] == "rules":
            continue  # the discriminator tag pydantic inserts; the id already names the rule
        else:
            parts.append(("." if parts else "") + str(part))
    where = "".join(parts) or "(document)"
    message = str(item["msg"]).removeprefix("Value error, ")
    return f"{where}: {message}"
