"""Daily pool budgets over simulated days: the pool gets its budget within 10%, whatever the
shape of the day, and every task still records the probability in force for it."""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random

from services.sampler.domain.budget import forecast_today, mean_probability, solve_scale
from services.sampler.domain.core import SamplerCore, Seen
from services.sampler.domain.planning import Traffic, replan
from services.sampler.domain.selection import TargetingIndex
from services.sampler.domain.traffic import DayTraffic
from services.sampler.wire import DecisionRecord
from tests.support.sampling import FACTS, a_revision, a_schedule

DAY = dt.datetime(2026, 11, 20, tzinfo=dt.UTC)
BUDGET = 1200
PLAN = {
    "base_rate": 0.2,
    "salt": "budget",
    "floor": 0.001,
    "risk": {"severity": {"critical": 0.5}},
    "pools": [{"name": "korean", "match": {"language": "ko"}, "daily_budget": BUDGET}],
}
MARKETS = [("KR", "ko"), ("US", "en"), ("DE", "de")]


def decision(i: int, at: dt.datetime, rng: random.Random) -> DecisionRecord:
    market, language = MARKETS[0] if rng.random() < 0.3 else rng.choice(MARKETS[1:])
    return DecisionRecord(
        decision_id=f"b-{at.date()}-{i}",
        content_id=f"c-{i}",
        content_type="video",
        content_ref="https://content.example/v",
        queue="video",
        market=market,
        language=language,
        moderator_id=f"mod-{rng.randrange(300)}",
        moderator_kind="human",
        moderator_team="team-a",
        policy_id="child_safety" if rng.random() < 0.01 else "spam",
        policy_version=1,
        action="approve",
        source="report",
        decided_at=at,
    )


def simulate_day(
    day: dt.datetime,
    volume: float,
    *,
    shape: str,
    yesterday: DayTraffic | None,
    seed: int,
    replan_minutes: int = 30,
) -> tuple[int, DayTraffic, set[float]]:
    """Stream a day of decisions, re-pacing every `replan_minutes`; korean tasks, traffic, ps."""
    rng = random.Random(seed)
    revision = a_revision(PLAN)
    core = SamplerCore()
    core.load(0, {})
    today = DayTraffic(day=day.toordinal())
    korean, probabilities, i = 0, set(), 0
    steps = 24 * 60 // replan_minutes
    for step in range(steps):
        start = day + dt.timedelta(minutes=step * replan_minutes)
        result = replan(
            revision,
            Traffic(today=today, yesterday=yesterday, window=None, window_days=0),
            facts=FACTS,
            targeting=TargetingIndex(),
            now=start,
            allocation=None,
        )
        revision = dataclasses.replace(revision, seq=step + 2, scales=result.scales)
        hour = start.hour + start.minute / 60
        weight = {
            "flat": 1.0,
            "diurnal": 1 + 0.7 * math.sin(2 * math.pi * (hour - 9) / 24),
            "surge": 1.0 if hour < 12 else 2.0,
        }[shape]
        n = int(volume / steps * weight)
        items: list[Seen] = []
        for _ in range(n):
            at = start + dt.timedelta(seconds=rng.uniform(0, replan_minutes * 60))
            items.append((0, decision(i, at, rng), int(at.timestamp() * 1000)))
            i += 1
        outcome = core.sample(items, a_schedule(revision), now=start)
        core.commit()
        for task in outcome.tasks:
            if task.pool == "korean":
                korean += 1
                assert task.probability is not None
                probabilities.add(task.probability)
        for traffic in core.traffic.take():
            today.merge(traffic)
    return korean, today, probabilities


def test_a_flat_first_day_spends_the_budget_within_ten_percent() -> None:
    tasks, _, probabilities = simulate_day(DAY, 30_000, shape="flat", yesterday=None, seed=1)
    assert abs(tasks - BUDGET) / BUDGET < 0.10, tasks
    assert len(probabilities) > 2, "the rate was re-paced during the day"


def test_a_diurnal_first_day_spends_the_budget_within_ten_percent() -> None:
    tasks, _, _ = simulate_day(DAY, 30_000, shape="diurnal", yesterday=None, seed=2)
    assert abs(tasks - BUDGET) / BUDGET < 0.10, tasks


def test_a_surge_after_a_normal_day_is_paced_with_yesterdays_profile() -> None:
    _, yesterday, _ = simulate_day(DAY, 30_000, shape="diurnal", yesterday=None, seed=3)
    tasks, _, _ = simulate_day(
        DAY + dt.timedelta(days=1), 30_000, shape="surge", yesterday=yesterday, seed=4
    )
    assert abs(tasks - BUDGET) / BUDGET < 0.10, tasks


def test_without_pacing_the_same_day_would_miss_the_budget_by_far() -> None:
    """The control: the plan's raw rates would flood the pool (the test above is not vacuous)."""
    raw_rate = 0.3 * (0.99 * 0.2 + 0.01 * 0.5)
    assert 30_000 * raw_rate > BUDGET * 1.5


def test_the_solved_scale_gives_the_target_mean_probability() -> None:
    parts = [(0.05, 0.0)] * 90 + [(0.5, 0.0)] * 10 + [(0.05, 0.4)] * 5
    scale = solve_scale(parts, floor=0.001, target=0.03)
    assert math.isclose(mean_probability(parts, scale, 0.001), 0.03, rel_tol=1e-6)
    assert solve_scale(parts, floor=0.001, target=0.0001) == 0.0, "floor and targets alone"
    assert mean_probability(parts, solve_scale(parts, floor=0.001, target=2.0), 0.001) == 1.0


def test_no_forecast_without_traffic() -> None:
    assert forecast_today(None, None, DAY + dt.timedelta(hours=3)) is None
    quiet = DayTraffic(day=DAY.toordinal(), count=10)
    assert forecast_today(quiet, None, DAY + dt.timedelta(hours=3)) is None
