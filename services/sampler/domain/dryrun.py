"""The dry run: what a proposed plan would do to recent traffic, next to the current plan.

Per stratum (of the proposed plan): decisions per day, expected tasks per day, and the
expected half-width of the 95% interval of its error rate over `horizon_days`, for the plan
in force and the proposed one. The half-width of a Horvitz-Thompson (Hajek) proportion with
inclusion probabilities p_i over N decisions is

    z * sqrt(e (1 - e) * sum_i (1 - p_i) / p_i) / N

with e the stratum's recent error rate (shrunk towards the prior); the sum is estimated from
the uniform traffic sample. Quota top-ups have no design probability and are left out.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from services.sampler.domain.allocation import StratumErrors, smoothed
from services.sampler.domain.selection import Selector, stratum_of
from services.sampler.domain.traffic import Sampled

Z95 = 1.959963984540054


@dataclass
class _Sums:
    n: int = 0
    current_p: float = 0.0
    proposed_p: float = 0.0
    current_w: float = 0.0
    proposed_w: float = 0.0


@dataclass(frozen=True)
class StratumForecast:
    stratum: str
    decisions_per_day: float
    error_rate: float
    error_rate_source: str
    current_tasks_per_day: float
    proposed_tasks_per_day: float
    current_half_width: float
    proposed_half_width: float


@dataclass(frozen=True)
class PoolForecast:
    pool: str
    daily_budget: int | None
    current_tasks_per_day: float
    proposed_tasks_per_day: float


@dataclass(frozen=True)
class DryRun:
    decisions_per_day: float
    sample_size: int
    horizon_days: int
    current_tasks_per_day: float
    proposed_tasks_per_day: float
    strata: list[StratumForecast] = field(default_factory=list)
    pools: list[PoolForecast] = field(default_factory=list)


def half_width(
    error_rate: float, weight_sum_per_day: float, decisions_per_day: float, days: int
) -> float:
    """The expected 95% half-width of a stratum's error rate over `days` days."""
    if decisions_per_day <= 0:
        return float("nan")
    n = decisions_per_day * days
    variance = error_rate * (1 - error_rate) * weight_sum_per_day * days
    return Z95 * math.sqrt(max(0.0, variance)) / n


def dry_run(
    current: Selector,
    proposed: Selector,
    *,
    sample: Sequence[Sampled],
    decisions_per_day: float,
    errors: Mapping[str, StratumErrors],
    error_source: str,
    prior: float,
    min_audits: int,
    horizon_days: int,
    instant: float,
) -> DryRun:
    """Compare the current and the proposed plan on a uniform sample of recent traffic."""
    strata: dict[str, _Sums] = {}
    pools: dict[str, list[float]] = {}
    weight = decisions_per_day / len(sample) if sample else 0.0
    dimensions = proposed.plan.strata
    for entry in sample:
        before = current.assess(entry, instant).probability
        after_assessment = proposed.assess(entry, instant)
        after = after_assessment.probability
        sums = strata.setdefault(stratum_of(entry, dimensions), _Sums())
        sums.n += 1
        sums.current_p += before
        sums.proposed_p += after
        sums.current_w += (1 - before) / before
        sums.proposed_w += (1 - after) / after
        pool = pools.setdefault(after_assessment.cell.pool, [0.0, 0.0])
        pool[0] += before
        pool[1] += after
    forecasts = []
    for key in sorted(strata):
        sums = strata[key]
        found = errors.get(key)
        rate = smoothed(found, prior=prior, min_audits=min_audits)
        per_day = sums.n * weight
        forecasts.append(
            StratumForecast(
                stratum=key,
                decisions_per_day=per_day,
                error_rate=rate,
                error_rate_source=error_source if found is not None and found.n > 0 else "prior",
                current_tasks_per_day=sums.current_p * weight,
                proposed_tasks_per_day=sums.proposed_p * weight,
                current_half_width=half_width(rate, sums.current_w * weight, per_day, horizon_days),
                proposed_half_width=half_width(
                    rate, sums.proposed_w * weight, per_day, horizon_days
                ),
            )
        )
    budgets = {p.name: p.daily_budget for p in proposed.plan.pools}
    return DryRun(
        decisions_per_day=decisions_per_day,
        sample_size=len(sample),
        horizon_days=horizon_days,
        current_tasks_per_day=sum(f.current_tasks_per_day for f in forecasts),
        proposed_tasks_per_day=sum(f.proposed_tasks_per_day for f in forecasts),
        strata=forecasts,
        pools=[
            PoolForecast(
                pool=name,
                daily_budget=budgets.get(name),
                current_tasks_per_day=sums_[0] * weight,
                proposed_tasks_per_day=sums_[1] * weight,
            )
            for name, sums_ in sorted(pools.items())
        ],
    )
