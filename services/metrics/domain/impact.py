"""Policy-update impact, pure: did a rate change between two policy versions?"""

from __future__ import annotations

from dataclasses import dataclass

from statsmodels.stats.proportion import proportions_ztest

from services.metrics.domain.estimates import Estimate, wilson

SIGNIFICANCE = 0.05


@dataclass(frozen=True)
class Comparison:
    """A rate before and after a change, the difference and its two-proportion z-test."""

    before: Estimate
    after: Estimate
    difference: float | None
    z: float | None
    p_value: float | None

    @property
    def significant(self) -> bool:
        return self.p_value is not None and self.p_value < SIGNIFICANCE


def compare(hits_before: int, n_before: int, hits_after: int, n_after: int) -> Comparison:
    """Two-proportion z-test (pooled) of after vs before."""
    before, after = wilson(hits_before, n_before), wilson(hits_after, n_after)
    if n_before == 0 or n_after == 0 or before.rate is None or after.rate is None:
        return Comparison(before, after, None, None, None)
    pooled = (hits_before + hits_after) / (n_before + n_after)
    if pooled in (0.0, 1.0):
        return Comparison(before, after, after.rate - before.rate, 0.0, 1.0)
    z, p_value = proportions_ztest([hits_after, hits_before], [n_after, n_before])
    return Comparison(before, after, after.rate - before.rate, float(z), float(p_value))
