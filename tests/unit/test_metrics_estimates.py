"""Estimators against reference implementations and an independent computation."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportion_confint
from statsmodels.stats.weightstats import DescrStatsW

from services.metrics.domain.estimates import (
    MIN_FIRM_SAMPLE,
    WeightedSums,
    hajek,
    sums_of,
    wilson,
    wilson_bounds,
)


@pytest.mark.parametrize(("k", "n"), [(0, 10), (3, 10), (10, 10), (47, 50), (180, 200), (1, 1)])
def test_wilson_matches_statsmodels(k: int, n: int) -> None:
    low, high = proportion_confint(k, n, alpha=0.05, method="wilson")
    figure = wilson(k, n)
    assert figure.rate == pytest.approx(k / n)
    assert figure.low == pytest.approx(low, abs=1e-9)
    assert figure.high == pytest.approx(high, abs=1e-9)


def test_no_sample_gives_no_rate_and_small_samples_are_not_firm() -> None:
    assert wilson(0, 0).rate is None
    assert not wilson(5, MIN_FIRM_SAMPLE - 1).firm
    assert wilson(5, MIN_FIRM_SAMPLE).firm


def test_hajek_rate_is_the_inverse_probability_weighted_mean() -> None:
    rng = np.random.default_rng(3)
    pi = rng.uniform(0.01, 0.5, 400)
    y = rng.random(400) < 0.1
    estimate = hajek(sums_of(list(zip(pi.tolist(), y.tolist(), strict=True))))
    reference = DescrStatsW(y.astype(float), weights=1 / pi).mean
    assert estimate.rate == pytest.approx(reference)


def test_hajek_variance_matches_the_linearised_poisson_formula() -> None:
    rng = np.random.default_rng(4)
    pi = rng.uniform(0.02, 0.3, 300)
    y = (rng.random(300) < 0.15).astype(float)
    estimate = hajek(sums_of(list(zip(pi.tolist(), (y > 0).tolist(), strict=True))))
    w = 1 / pi
    rate = (w * y).sum() / w.sum()
    variance = ((1 - pi) / pi**2 * (y - rate) ** 2).sum() / w.sum() ** 2
    assert estimate.effective_n == pytest.approx(rate * (1 - rate) / variance)
    assert (estimate.low, estimate.high) == pytest.approx(wilson_bounds(rate, estimate.effective_n))


def test_with_equal_probabilities_hajek_is_the_plain_share() -> None:
    units = [(0.1, i < 12) for i in range(100)]
    estimate = hajek(sums_of(units))
    assert estimate.rate == pytest.approx(0.12)
    # the design variance carries the finite-population factor (1 - pi)
    assert estimate.effective_n == pytest.approx(100 / 0.9)


def test_the_complement_flips_the_interval() -> None:
    error = wilson(10, 100)
    accuracy = error.complement()
    assert accuracy.rate == pytest.approx(0.9)
    assert (accuracy.low, accuracy.high) == pytest.approx((1 - error.high, 1 - error.low))


def test_sums_add_up_across_groups() -> None:
    a = sums_of([(0.2, True), (0.5, False)])
    b = sums_of([(0.1, False)])
    assert a + b == sums_of([(0.2, True), (0.5, False), (0.1, False)])
    assert hajek(WeightedSums(0, 0.0, 0.0, 0.0, 0.0)).rate is None
