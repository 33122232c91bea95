"""Sampling, pure: which decisions to audit and with what inclusion probability.

Selection is a deterministic function of the decision id, the plan's salt and the plan's
probability for that decision, so replays and crashes select exactly the same decisions.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from dataclasses import dataclass

from shared.events import Decision, Task, TaskReason
from shared.ids import task_id

AUDIT_PURPOSE = "audit"
_SCALE = float(1 << 64)


@dataclass(frozen=True)
class UniformPlan:
    """A plan that audits every decision with the same probability."""

    plan_id: str
    version: int
    rate: float
    salt: str
    due_within: dt.timedelta = dt.timedelta(hours=24)


def draw(decision_id: str, salt: str) -> float:
    """A uniform number in [0, 1) fixed by the decision id and the plan salt."""
    digest = hashlib.blake2b(f"{salt}\x1f{decision_id}".encode(), digest_size=8).digest()
    return int.from_bytes(digest, "big") / _SCALE


def is_selected(decision_id: str, salt: str, probability: float) -> bool:
    """True when the decision's draw falls under the probability."""
    return draw(decision_id, salt) < probability


def sample(decision: Decision, plan: UniformPlan, *, now: dt.datetime) -> Task | None:
    """The audit task for a decision if the plan selects it, else None."""
    if not is_selected(decision.decision_id, plan.salt, plan.rate):
        return None
    return Task(
        task_id=task_id(decision.decision_id, AUDIT_PURPOSE),
        decision=decision,
        plan_id=plan.plan_id,
        plan_version=plan.version,
        stratum="all",
        inclusion_probability=plan.rate,
        reasons=[TaskReason.UNIFORM],
        pool=decision.language,
        due_at=decision.decided_at + plan.due_within,
        created_at=now,
    )
