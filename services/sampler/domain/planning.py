"""Re-planning: what the next revision of the plan in force should derive from recent traffic
(pool scales for the budgets, Neyman rates for the allocation), and whether it differs enough
from the current one to be worth a new revision."""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass

from services.sampler.domain.allocation import StratumErrors, neyman_rates, stratum_volumes
from services.sampler.domain.budget import PoolPace, pace_pools, steady_scales
from services.sampler.domain.plan import Allocated, PlanDocument, Revision
from services.sampler.domain.selection import PolicyFacts, Selector, TargetingIndex
from services.sampler.domain.traffic import DayTraffic

SCALE_TOLERANCE = 0.02
"""A relative change of a pool scale smaller than this does not make a new revision."""


@dataclass(frozen=True)
class Traffic:
    """The stored traffic summary as planning sees it."""

    today: DayTraffic | None
    yesterday: DayTraffic | None
    window: DayTraffic | None
    """The recent days merged (for allocation and dry runs)."""
    window_days: int

    @property
    def daily_decisions(self) -> float:
        if self.window is None or self.window_days <= 0:
            return 0.0
        return self.window.count / self.window_days


@dataclass(frozen=True)
class Replan:
    """The derived parts of the next revision and why."""

    scales: dict[str, float]
    allocation: Allocated | None
    paces: dict[str, PoolPace]
    changed: bool


def allocate(
    plan: PlanDocument,
    traffic: Traffic,
    *,
    errors: Mapping[str, StratumErrors],
    source: str,
    now: dt.datetime,
) -> Allocated | None:
    """Neyman rates per stratum for the plan's daily tasks, or None without allocation/traffic."""
    spec = plan.allocation
    if spec is None or traffic.window is None or not traffic.window.sample:
        return None
    volumes = stratum_volumes(
        traffic.window.sample, plan.strata, daily_decisions=traffic.daily_decisions
    )
    rates = neyman_rates(
        volumes,
        errors,
        daily_tasks=spec.daily_tasks,
        floor=plan.floor,
        prior=spec.prior_error_rate,
        min_audits=spec.min_audits,
    )
    return Allocated(
        rates=rates,
        error_rates={k: v.error_rate for k, v in errors.items() if k in rates},
        computed_at=now,
        source=source,
    )


def replan(
    revision: Revision,
    traffic: Traffic,
    *,
    facts: PolicyFacts,
    targeting: TargetingIndex,
    now: dt.datetime,
    allocation: Allocated | None,
) -> Replan:
    """Pool scales (re-paced) on top of `allocation` (the new one, or the revision's own)."""
    base = dataclasses.replace(revision, scales={}, allocation=allocation)
    selector = Selector(base, facts=facts, targeting=targeting)
    paces = pace_pools(
        selector,
        today=traffic.today,
        yesterday=traffic.yesterday,
        now=now,
        previous=revision.scales,
    )
    scales = dict(revision.scales)
    scales.update({pool: pace.scale for pool, pace in paces.items()})
    budgeted = {p.name for p in revision.plan.pools if p.daily_budget}
    scales = {pool: s for pool, s in scales.items() if pool in budgeted}
    changed = allocation != revision.allocation or _differ(revision.scales, scales)
    return Replan(scales=scales, allocation=allocation, paces=paces, changed=changed)


def initial_scales(
    revision: Revision,
    traffic: Traffic,
    *,
    facts: PolicyFacts,
    targeting: TargetingIndex,
    now: dt.datetime,
) -> dict[str, float]:
    """Scales for a plan being applied: its budgets spread over a day of recent traffic."""
    if traffic.window is None:
        return {}
    selector = Selector(dataclasses.replace(revision, scales={}), facts=facts, targeting=targeting)
    return steady_scales(
        selector,
        traffic.window.sample,
        daily_decisions=traffic.daily_decisions,
        instant=now.timestamp(),
    )


def _differ(old: Mapping[str, float], new: Mapping[str, float]) -> bool:
    if set(old) != set(new):
        return True
    for pool, value in new.items():
        before = old[pool]
        if before == 0.0 or value == 0.0:
            if before != value:
                return True
        elif abs(value - before) / before > SCALE_TOLERANCE:
            return True
    return False
