"""Daily budgets per auditor pool: the factor that scales a pool's design probabilities so the
tasks it receives in a day match its budget, re-paced from the observed volume.

Every task of a pool counts against its budget (design, targeted and quota). The pacing at a
moment of the day aims the rest of the day at the rest of the budget, from a forecast of the
remaining volume (yesterday's hourly profile scaled by how today compares so far, or today's
recent rate without history). The result is clamped around the steady-state factor (budget
over a whole day's forecast) so one noisy forecast cannot swing the rate wildly. A new factor
is a new plan revision: the probability recorded on each task is the one in force for it.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.sampler.domain.selection import Selector
from services.sampler.domain.traffic import DayTraffic, Sampled

MIN_DECISIONS = 100
"""Below this much traffic a forecast is not attempted (the factor stays as it was)."""
MIN_SAMPLE = 200
CLAMP = 3.0

Part = tuple[float, float]
"""(unscaled design rate, targeted rate) of one sampled decision."""


def mean_probability(parts: Sequence[Part], scale: float, floor: float) -> float:
    """The average inclusion probability of the decisions behind `parts` at a pool scale."""
    if not parts:
        return 0.0
    return _mean(Counter(parts), len(parts), scale, floor)


def _mean(groups: Mapping[Part, int], n: int, scale: float, floor: float) -> float:
    total = 0.0
    for (raw, targeted), count in groups.items():
        p = raw * scale
        if p > 1.0:
            p = 1.0
        if p < floor:
            p = floor
        if targeted > p:
            p = targeted
        total += p * count
    return total / n


def solve_scale(parts: Sequence[Part], *, floor: float, target: float) -> float:
    """The pool scale whose average probability is `target` (bounded by what floor and 1 allow)."""
    if not parts:
        return 1.0
    groups = Counter(parts)
    n = len(parts)
    if _mean(groups, n, 0.0, floor) >= target:
        return 0.0
    smallest = min((raw for raw, _ in groups if raw > 0), default=0.0)
    if smallest == 0.0:
        return 1.0
    high = 1.0 / smallest
    if _mean(groups, n, high, floor) <= target:
        return high
    low = 0.0
    for _ in range(50):
        middle = (low + high) / 2
        if _mean(groups, n, middle, floor) < target:
            low = middle
        else:
            high = middle
    return (low + high) / 2


def seconds_into_day(now: dt.datetime) -> float:
    midnight = now.replace(hour=0, minute=0, second=0, microsecond=0)
    return (now - midnight).total_seconds()


def forecast_today(
    today: DayTraffic | None, yesterday: DayTraffic | None, now: dt.datetime
) -> tuple[float, float] | None:
    """(decisions still to come today, decisions in the whole day), or None without data."""
    t = seconds_into_day(now)
    hour = min(23, int(t // 3600))
    so_far = today.count if today is not None else 0
    if yesterday is not None and yesterday.count >= MIN_DECISIONS:
        profile = yesterday.hourly
        done = sum(profile[:hour]) + profile[hour] * (t - hour * 3600) / 3600
        trend = so_far / done if done >= MIN_DECISIONS else 1.0
        trend = min(5.0, max(0.2, trend))
        remaining = trend * max(0.0, yesterday.count - done)
        return remaining, so_far + remaining
    if today is None or so_far < MIN_DECISIONS:
        return None
    recent = today.hourly[hour]
    span = t - hour * 3600
    if hour > 0 and today.hourly[hour - 1] > 0:
        recent += today.hourly[hour - 1]
        span += 3600
    rate = recent / max(span, 60.0)
    remaining = rate * (86400 - t)
    return remaining, so_far + remaining


@dataclass(frozen=True)
class PoolPace:
    """Why a pool's scale is what it is: budget, spent, forecast and the chosen factor."""

    pool: str
    daily_budget: int
    spent: int
    remaining_decisions: float
    daily_decisions: float
    steady_scale: float
    scale: float


def pool_parts(
    selector: Selector, sample: Sequence[Sampled], instant: float
) -> dict[str, list[Part]]:
    """The planning parts of a traffic sample, grouped by the pool each decision goes to."""
    grouped: dict[str, list[Part]] = {}
    for entry in sample:
        raw, targeted, cell = selector.parts(entry, instant)
        grouped.setdefault(cell.pool, []).append((raw, targeted))
    return grouped


def steady_scales(
    selector: Selector, sample: Sequence[Sampled], *, daily_decisions: float, instant: float
) -> dict[str, float]:
    """Per budgeted pool, the scale that spends its budget over a day of this traffic."""
    budgets = {p.name: p.daily_budget for p in selector.plan.pools if p.daily_budget}
    if not budgets or not sample or daily_decisions <= 0:
        return {}
    grouped = pool_parts(selector, sample, instant)
    scales: dict[str, float] = {}
    for pool, budget in budgets.items():
        parts = grouped.get(pool, [])
        if not parts:
            continue
        volume = daily_decisions * len(parts) / len(sample)
        scales[pool] = solve_scale(parts, floor=selector.floor, target=min(1.0, budget / volume))
    return scales


def pace_pools(
    selector: Selector,
    *,
    today: DayTraffic | None,
    yesterday: DayTraffic | None,
    now: dt.datetime,
    previous: Mapping[str, float],
) -> dict[str, PoolPace]:
    """The pool scales for the rest of the day; pools without a forecast keep `previous`."""
    budgets = {p.name: p.daily_budget for p in selector.plan.pools if p.daily_budget}
    forecast = forecast_today(today, yesterday, now)
    sample: Sequence[Sampled] = ()
    if today is not None and len(today.sample) >= MIN_SAMPLE:
        sample = today.sample
    elif yesterday is not None:
        sample = yesterday.sample
    if not budgets or forecast is None or not sample:
        return {}
    remaining_all, daily_all = forecast
    grouped = pool_parts(selector, sample, now.timestamp())
    paces: dict[str, PoolPace] = {}
    for pool, budget in budgets.items():
        parts = grouped.get(pool, [])
        if not parts:
            continue
        share = len(parts) / len(sample)
        daily = daily_all * share
        remaining = remaining_all * share
        spent = today.tasks_of(pool) if today is not None else 0
        floor = selector.floor
        steady = solve_scale(parts, floor=floor, target=min(1.0, budget / max(daily, 1.0)))
        left = budget - spent
        if left <= 0:
            scale = 0.0
        elif remaining < 1.0:
            scale = previous.get(pool, steady)
        else:
            paced = solve_scale(parts, floor=floor, target=min(1.0, left / remaining))
            scale = min(steady * CLAMP, max(steady / CLAMP, paced))
        paces[pool] = PoolPace(
            pool=pool,
            daily_budget=budget,
            spent=spent,
            remaining_decisions=remaining,
            daily_decisions=daily,
            steady_scale=steady,
            scale=scale,
        )
    return paces
