"""The estimators proven by simulation (1,000 rounds against a known truth)."""

from __future__ import annotations

import numpy as np

from bench.estimates import simulate_plan, wilson_coverage

ROUNDS = 1000


def test_weighted_estimates_are_unbiased_and_their_intervals_cover_the_truth() -> None:
    # A fixed seed keeps the test repeatable. A 2-MCSE bias check fails for about 5% of seeds
    # even for an unbiased estimator; `make bench-estimates --seed` shows other seeds.
    rng = np.random.default_rng(1)
    uniform = simulate_plan("uniform", ROUNDS, rng)
    plan = simulate_plan("neyman", ROUNDS, rng)
    for result in (uniform, plan):
        assert abs(result.bias) <= 2 * result.mc_standard_error, result
        assert 0.935 <= result.coverage <= 0.965, result
    assert plan.errors_found >= 1.4 * uniform.errors_found
    assert plan.mean_width <= uniform.mean_width
    assert abs(plan.audits - uniform.audits) < 0.01 * uniform.audits, "same audit budget"


def test_per_moderator_wilson_intervals_cover_at_least_93_percent() -> None:
    rng = np.random.default_rng(11)
    for n in (30, 50, 75, 100, 150, 200):
        assert wilson_coverage(n, 4000, rng) >= 0.93, n
