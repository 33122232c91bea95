"""Wilson intervals agree with statsmodels' reference implementation."""

from __future__ import annotations

import pytest
from statsmodels.stats.proportion import proportion_confint

from services.metrics.domain import MIN_FIRM_SAMPLE, wilson


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
