"""Verdicts before they are sent: the choices the policy taxonomy allows and the checks the audit
service would make, so an auditor is told at once (and offered only valid choices).

Pure: no I/O. The service stays the judge; this only spares a round trip and a retyped verdict.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from modqa_client.models import Policy, PolicyEntry, PolicyVersion

OUTCOMES = ("correct", "incorrect", "unsure")
APPROVE = "approve"
CRITERION_ANSWERS = ("pass", "fail", "na")


class InvalidChoice(ValueError):
    """A choice the taxonomy (or the task) does not allow; the message says which are allowed."""


@dataclass(frozen=True)
class Taxonomy:
    """The policies as the audit service publishes them."""

    policies: tuple[Policy, ...]

    @classmethod
    def of(cls, entries: list[PolicyEntry]) -> Taxonomy:
        return cls(tuple(sorted((e.policy for e in entries), key=lambda p: p.id)))

    def policy(self, policy_id: str) -> Policy:
        """The policy with that id; InvalidChoice naming the known ones otherwise."""
        for policy in self.policies:
            if policy.id == policy_id:
                return policy
        known = ", ".join(p.id for p in self.policies)
        raise InvalidChoice(f"unknown policy '{policy_id}' (known: {known})")

    def version_judged(
        self, policy_id: str, decision: dict[str, Any], on: dt.date
    ) -> PolicyVersion:
        """The decision's own version of its policy, or the version in force for another one."""
        policy = self.policy(policy_id)
        if policy_id == decision.get("policy_id") and decision.get("policy_version"):
            version = policy.version(int(decision["policy_version"]))
            if version is not None:
                return version
        return policy.current(on)

    def actions(self, policy_id: str, decision: dict[str, Any], on: dt.date) -> list[str]:
        """The actions the judged version of a policy allows."""
        return list(self.version_judged(policy_id, decision, on).actions)


def check_action(
    taxonomy: Taxonomy, policy_id: str, action: str, decision: dict[str, Any], on: dt.date
) -> None:
    """InvalidChoice unless the policy's judged version allows the action."""
    allowed = taxonomy.actions(policy_id, decision, on)
    if action not in allowed:
        raise InvalidChoice(
            f"'{action}' is not an action of policy '{policy_id}' (allowed: {', '.join(allowed)})"
        )


def review_label(
    taxonomy: Taxonomy,
    decision: dict[str, Any],
    *,
    outcome: str,
    expected_action: str | None = None,
    expected_policy_id: str | None = None,
    severity: str | None = None,
    notes: str = "",
    on: dt.date,
) -> dict[str, Any]:
    """A non-blind verdict: correct, unsure, or incorrect with what should have been done."""
    if outcome not in OUTCOMES:
        raise InvalidChoice(f"outcome: '{outcome}' is not one of {', '.join(OUTCOMES)}")
    label: dict[str, Any] = {"outcome": outcome, "notes": notes}
    if outcome == "unsure":
        return label
    if outcome == "correct":
        if expected_action or expected_policy_id:
            raise InvalidChoice("a correct decision needs no expected action or policy")
        return label
    if not expected_action:
        raise InvalidChoice("an incorrect decision needs the expected action (what should be done)")
    policy_id = expected_policy_id or str(decision.get("policy_id"))
    check_action(taxonomy, policy_id, expected_action, decision, on)
    if expected_action == decision.get("action") and (
        expected_action == APPROVE or policy_id == decision.get("policy_id")
    ):
        raise InvalidChoice(
            "that is what the moderator did: the decision is correct, or choose another "
            "action or policy"
        )
    label.update(expected_action=expected_action, expected_policy_id=policy_id)
    if severity:
        label["severity"] = severity
    return label


def reference_label(
    outcome: str, action: str | None, policy: str | None, notes: str
) -> dict[str, str]:
    """The label an SME gives (adjudicating a round, overturning a verdict): only the fields
    given."""
    given = {
        "outcome": outcome,
        "expected_action": action,
        "expected_policy_id": policy,
        "notes": notes,
    }
    return {k: v for k, v in given.items() if v}


def blind_label(
    taxonomy: Taxonomy,
    decision: dict[str, Any],
    *,
    expected_action: str | None = None,
    expected_policy_id: str | None = None,
    unsure: bool = False,
    notes: str = "",
    on: dt.date,
) -> dict[str, Any]:
    """A blind review labels the content (the outcome is derived by the service): approve, or
    the policy it violates and the action it deserves; or unsure."""
    if unsure:
        return {"outcome": "unsure", "notes": notes}
    if not expected_action:
        raise InvalidChoice("a blind review needs the action the content deserves (or unsure)")
    if expected_action == APPROVE:
        label: dict[str, Any] = {"expected_action": APPROVE, "notes": notes}
        if expected_policy_id:
            taxonomy.policy(expected_policy_id)
            label["expected_policy_id"] = expected_policy_id
        return label
    if not expected_policy_id:
        raise InvalidChoice("name the policy the content violates (or approve it)")
    check_action(taxonomy, expected_policy_id, expected_action, decision, on)
    return {
        "expected_action": expected_action,
        "expected_policy_id": expected_policy_id,
        "notes": notes,
    }


def scorecard_answers(criteria: list[str], given: dict[str, str]) -> dict[str, str]:
    """Every criterion answered pass, fail or na, and no answer to an unknown criterion."""
    unknown = sorted(set(given) - set(criteria))
    if unknown:
        raise InvalidChoice(
            f"scorecard: unknown criteria {', '.join(unknown)} (this one has {', '.join(criteria)})"
        )
    missing = [c for c in criteria if c not in given]
    if missing:
        raise InvalidChoice(f"scorecard: answer {', '.join(missing)} (pass, fail or na)")
    wrong = {c: a for c, a in given.items() if a not in CRITERION_ANSWERS}
    if wrong:
        raise InvalidChoice(
            "scorecard: answers are pass, fail or na ("
            + ", ".join(f"{c}={a}" for c, a in wrong.items())
            + ")"
        )
    return dict(given)
