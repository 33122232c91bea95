"""The policy taxonomy: policies with severity, versions with effective dates, allowed actions."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from shared.events import Action, DecisionGround, Label, Severity

DEFAULT_TAXONOMY_FILE = (
    Path(__file__).resolve().parents[1] / "deploy" / "demo" / "policy-taxonomy.yaml"
)


class PolicyVersion(BaseModel):
    model_config = ConfigDict(frozen=True)

    version: int = Field(ge=1)
    effective_from: dt.date
    actions: list[Action] = Field(min_length=1)


class Policy(BaseModel):
    model_config = ConfigDict(frozen=True)

    id: Label
    name: str = Field(min_length=1, max_length=200)
    severity: Severity
    dsa_category: str | None = Field(default=None, pattern=r"^STATEMENT_CATEGORY_[A-Z_]+$")
    decision_ground: DecisionGround | None = None
    versions: list[PolicyVersion] = Field(min_length=1)

    @model_validator(mode="after")
    def _versions_unique(self) -> Policy:
        numbers = [v.version for v in self.versions]
        if len(numbers) != len(set(numbers)):
            raise ValueError(f"policy {self.id}: version numbers repeat")
        return self

    def version(self, number: int) -> PolicyVersion | None:
        """The version with that number, if the policy has it."""
        return next((v for v in self.versions if v.version == number), None)

    def current(self, on: dt.date) -> PolicyVersion:
        """The version in force on a day (the first version before any took effect)."""
        in_force = [v for v in self.versions if v.effective_from <= on]
        return max(in_force, key=lambda v: v.effective_from) if in_force else self.versions[0]


class Taxonomy(BaseModel):
    model_config = ConfigDict(frozen=True)

    policies: list[Policy] = Field(min_length=1)

    @model_validator(mode="after")
    def _ids_unique(self) -> Taxonomy:
        ids = [p.id for p in self.policies]
        if len(ids) != len(set(ids)):
            raise ValueError("policy ids repeat")
        return self

    def policy(self, policy_id: str) -> Policy | None:
        """The policy with that id, if known."""
        return next((p for p in self.policies if p.id == policy_id), None)

    def severity(self, policy_id: str) -> Severity | None:
        """The severity of a policy, if known."""
        policy = self.policy(policy_id)
        return policy.severity if policy else None


def load_taxonomy(path: Path = DEFAULT_TAXONOMY_FILE) -> Taxonomy:
    """Read and validate a taxonomy file (YAML or JSON)."""
    return Taxonomy.model_validate(yaml.safe_load(path.read_text()))
