"""Neyman allocation, the dry run and the traffic sketch, pure."""

from __future__ import annotations

import datetime as dt
import math
import random

from services.sampler.domain.allocation import (
    StratumErrors,
    neyman_rates,
    smoothed,
    stratum_key,
    stratum_volumes,
)
from services.sampler.domain.dryrun import dry_run, half_width
from services.sampler.domain.plan import Dimension
from services.sampler.domain.planning import Traffic, allocate
from services.sampler.domain.traffic import DayTraffic, Sampled, bottom_k, merge_days
from tests.support.builders import NOW
from tests.support.sampling import a_revision, a_selector

VOLUMES = {"market=KR": 20_000.0, "market=US": 60_000.0, "market=DE": 20_000.0}
ERRORS = {
    "market=KR": StratumErrors(0.20, 5_000),
    "market=US": StratumErrors(0.02, 5_000),
    "market=DE": StratumErrors(0.05, 5_000),
}


def test_neyman_rates_are_proportional_to_the_error_spread_and_spend_the_budget() -> None:
    rates = neyman_rates(VOLUMES, ERRORS, daily_tasks=2_000, floor=0.001, prior=0.05, min_audits=0)
    spent = sum(VOLUMES[s] * r for s, r in rates.items())
    assert math.isclose(spent, 2_000, rel_tol=1e-6)
    spread = {s: math.sqrt(e.error_rate * (1 - e.error_rate)) for s, e in ERRORS.items()}
    assert math.isclose(
        rates["market=KR"] / rates["market=US"], spread["market=KR"] / spread["market=US"]
    )


def test_neyman_buys_a_narrower_overall_interval_than_the_same_tasks_spread_evenly() -> None:
    def overall_variance(rates: dict[str, float]) -> float:
        total = sum(VOLUMES.values())
        return sum(
            (VOLUMES[s] / total) ** 2
            * ERRORS[s].error_rate
            * (1 - ERRORS[s].error_rate)
            / (VOLUMES[s] * rates[s])
            for s in VOLUMES
        )

    neyman = neyman_rates(VOLUMES, ERRORS, daily_tasks=2_000, floor=0.001, prior=0.05, min_audits=0)
    even = {s: 2_000 / sum(VOLUMES.values()) for s in VOLUMES}
    assert overall_variance(neyman) < 0.9 * overall_variance(even)


def test_neyman_keeps_the_floor_and_the_ceiling() -> None:
    volumes = {"big": 1_000_000.0, "tiny": 10.0, "clean": 100_000.0}
    errors = {
        "big": StratumErrors(0.0001, 10_000),
        "tiny": StratumErrors(0.5, 10_000),
        "clean": StratumErrors(0.0, 10_000),
    }
    rates = neyman_rates(
        volumes, errors, daily_tasks=50_000, floor=0.0004, prior=0.05, min_audits=0
    )
    assert rates["tiny"] == 1.0
    assert rates["clean"] == 0.0004
    spent = sum(volumes[s] * r for s, r in rates.items())
    assert math.isclose(spent, 50_000, rel_tol=1e-6)
    everything = neyman_rates(
        volumes, errors, daily_tasks=10**9, floor=0.01, prior=0.05, min_audits=0
    )
    assert set(everything.values()) == {1.0}


def test_strata_without_audits_take_the_prior_and_few_audits_are_shrunk_towards_it() -> None:
    assert smoothed(None, prior=0.05, min_audits=30) == 0.05
    assert smoothed(StratumErrors(0.0, 3), prior=0.05, min_audits=30) > 0.04
    assert math.isclose(
        smoothed(StratumErrors(0.2, 10**6), prior=0.05, min_audits=30), 0.2, abs_tol=1e-4
    )


def test_metrics_keys_map_to_stratum_labels() -> None:
    dims = [Dimension.QUEUE, Dimension.MARKET]
    assert stratum_key({"queue": "video", "market": "KR"}, dims) == "queue=video|market=KR"
    assert stratum_key({"queue": "video"}, dims) is None


def sampled(i: int, market: str, draw: float) -> Sampled:
    return Sampled(
        decision_id=f"s-{i}",
        queue="video",
        market=market,
        language={"KR": "ko", "US": "en", "DE": "de"}[market],
        policy_id="spam",
        policy_version=1,
        content_type="video",
        moderator_id=f"m-{i % 50}",
        moderator_kind="human",
        moderator_team="team-a",
        confidence=None,
        moderator_started_at=None,
        decided_at=NOW,
        draw=draw,
    )


def a_sample(n: int, seed: int = 1) -> list[Sampled]:
    rng = random.Random(seed)
    markets = ["KR"] * 2 + ["US"] * 6 + ["DE"] * 2
    return [sampled(i, rng.choice(markets), rng.random()) for i in range(n)]


def test_an_allocation_uses_the_plan_strata_and_the_traffic_volumes() -> None:
    sample = a_sample(3000)
    window = DayTraffic(day=NOW.toordinal(), count=300_000, sample=sample)
    plan = a_revision({"strata": ["market"], "allocation": {"daily_tasks": 3000}}).plan
    traffic = Traffic(today=None, yesterday=None, window=window, window_days=3)
    allocated = allocate(plan, traffic, errors=ERRORS, source="metrics", now=NOW)
    assert allocated is not None and allocated.source == "metrics"
    volumes = stratum_volumes(sample, plan.strata, daily_decisions=100_000)
    spent = sum(volumes[s] * r for s, r in allocated.rates.items())
    assert math.isclose(spent, 3000, rel_tol=1e-6)
    assert allocated.rates["market=KR"] > allocated.rates["market=US"]


def test_the_dry_run_reports_tasks_and_half_widths_for_current_and_proposed() -> None:
    sample = a_sample(4000)
    current = a_selector({"base_rate": 0.01, "strata": ["market"]})
    proposed = a_selector(
        {
            "base_rate": 0.01,
            "strata": ["market"],
            "rates": [{"match": {"market": "KR"}, "rate": 0.04}],
            "pools": [{"name": "korean", "match": {"language": "ko"}, "daily_budget": 900}],
        }
    )
    report = dry_run(
        current,
        proposed,
        sample=sample,
        decisions_per_day=100_000,
        errors={"market=KR": StratumErrors(0.1, 400)},
        error_source="metrics",
        prior=0.05,
        min_audits=30,
        horizon_days=28,
        instant=NOW.timestamp(),
    )
    by = {s.stratum: s for s in report.strata}
    kr = by["market=KR"]
    assert math.isclose(kr.decisions_per_day, 20_000, rel_tol=0.1)
    assert math.isclose(kr.current_tasks_per_day, kr.decisions_per_day * 0.01)
    assert math.isclose(kr.proposed_tasks_per_day, kr.decisions_per_day * 0.04)
    assert kr.proposed_half_width < kr.current_half_width
    assert kr.error_rate_source == "metrics" and by["market=US"].error_rate_source == "prior"
    us = by["market=US"]
    assert us.current_half_width == us.proposed_half_width
    expected = half_width(0.05, us.decisions_per_day * 99, us.decisions_per_day, 28)
    assert math.isclose(us.current_half_width, expected)
    pools = {p.pool: p for p in report.pools}
    assert pools["korean"].daily_budget == 900
    assert math.isclose(
        report.proposed_tasks_per_day, sum(s.proposed_tasks_per_day for s in report.strata)
    )


def test_merged_partition_sketches_are_the_sketch_of_the_union() -> None:
    everything = a_sample(20_000, seed=7)
    size = 500
    left = DayTraffic(day=1, count=10_000, sample=bottom_k(everything[:10_000], size))
    right = DayTraffic(day=1, count=10_000, sample=bottom_k(everything[10_000:], size))
    left.merge(right, size=size)
    assert [s.decision_id for s in left.sample] == [
        s.decision_id for s in bottom_k(everything, size)
    ]
    assert left.count == 20_000


def test_merged_days_keep_only_the_complete_part_of_each_sketch() -> None:
    busy = a_sample(10_000, seed=1)
    quiet = [dataclass_copy(s, f"q-{i}") for i, s in enumerate(a_sample(1_000, seed=2))]
    days = [
        DayTraffic(day=1, count=10_000, sample=bottom_k(busy, 400)),
        DayTraffic(day=2, count=1_000, sample=bottom_k(quiet, 400)),
    ]
    merged = merge_days(days, size=400)
    assert merged is not None and merged.count == 11_000
    share_quiet = sum(s.decision_id.startswith("q-") for s in merged.sample) / len(merged.sample)
    assert 0.03 < share_quiet < 0.2, "each day is represented in proportion to its volume"


def dataclass_copy(entry: Sampled, decision_id: str) -> Sampled:
    import dataclasses

    return dataclasses.replace(
        entry, decision_id=decision_id, decided_at=NOW + dt.timedelta(days=1)
    )


def test_traffic_summaries_survive_their_json_form() -> None:
    day = DayTraffic(day=NOW.toordinal(), count=3, sample=a_sample(3), tasks={"ko": {"uniform": 2}})
    day.hourly[5] = 3
    again = DayTraffic.from_json(day.to_json())
    assert again == day
