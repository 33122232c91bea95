"""Quality figures of one group, pure: from the sums PostgreSQL returns to estimates."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from services.metrics.domain.estimates import Estimate, WeightedSums, hajek, wilson

ERROR_TYPES = ("over_enforcement", "under_enforcement", "wrong_policy", "wrong_action")
Method = Literal["design", "simple"]
"""`design`: Hajek estimate weighted by inclusion probabilities (population figures, quota
top-ups excluded); `simple`: plain share of every audit with a Wilson interval (per moderator)."""


@dataclass(frozen=True)
class GroupFigures:
    """Every rate of one group (and period), each with its interval and sample size."""

    group: dict[str, str]
    period: dt.date | None
    method: Method
    accuracy: Estimate
    error_rate: Estimate
    error_types: dict[str, Estimate]
    judged: int
    unsure: int


def estimate(row: Mapping[str, Any], indicator: str, method: Method) -> Estimate:
    """The estimate of one indicator's rate from a sums row."""
    if method == "simple":
        return wilson(int(row[f"k_{indicator}"]), int(row["n"]))
    sums = WeightedSums(
        n=int(row["n_design"]),
        w=float(row["w"]),
        wy=float(row[f"wy_{indicator}"]),
        c=float(row["c"]),
        cy=float(row[f"cy_{indicator}"]),
    )
    return hajek(sums)


def group_figures(
    row: Mapping[str, Any], group_by: tuple[str, ...], method: Method
) -> GroupFigures:
    """All figures of one sums row."""
    error_rate = estimate(row, "error", method)
    return GroupFigures(
        group={name: str(row[name]) for name in group_by},
        period=row.get("period"),
        method=method,
        accuracy=error_rate.complement(),
        error_rate=error_rate,
        error_types={name: estimate(row, name, method) for name in ERROR_TYPES},
        judged=int(row["n"]),
        unsure=int(row["unsure"]),
    )


def method_for(group_by: tuple[str, ...], requested: Method | None) -> Method:
    """Per-moderator groupings default to simple shares; everything else to design weights."""
    if requested is not None:
        return requested
    return "simple" if "moderator_id" in group_by else "design"
