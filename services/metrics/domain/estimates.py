"""Rates with their uncertainty, pure.

Population figures use the Hajek (ratio) estimator of a Horvitz-Thompson total: each audited
decision counts 1/pi times, pi being the exact inclusion probability the sampler used. Under
Poisson sampling (independent selections, which the hash draw gives) the linearised variance
is sum_s (1 - pi_i) / pi_i^2 * (y_i - R)^2 / N_hat^2. The 95% interval is the Wilson score
interval at the design-based effective sample size (p(1-p)/variance), which behaves like the
Wald interval for large samples and stays inside [0, 1] and sensible near 0 for small ones.
Per-moderator figures are plain Wilson intervals over that moderator's audits.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054
MIN_FIRM_SAMPLE = 30
"""Below this many audits a figure is shown as 'too small to say' rather than as firm."""


@dataclass(frozen=True)
class Estimate:
    """A rate with its 95% interval, the audits it rests on, and whether that is enough."""

    rate: float | None
    low: float | None
    high: float | None
    n: int
    effective_n: float

    @property
    def firm(self) -> bool:
        """False when the sample is too small to rely on."""
        return self.n >= MIN_FIRM_SAMPLE and self.rate is not None

    def complement(self) -> Estimate:
        """The estimate of 1 - rate (accuracy from error rate), interval flipped."""
        if self.rate is None or self.low is None or self.high is None:
            return self
        return Estimate(1.0 - self.rate, 1.0 - self.high, 1.0 - self.low, self.n, self.effective_n)


NO_DATA = Estimate(rate=None, low=None, high=None, n=0, effective_n=0.0)


def wilson_bounds(p: float, n: float, z: float = Z95) -> tuple[float, float]:
    """The Wilson score interval of a proportion p observed on n (possibly effective) units."""
    if n <= 0:
        return 0.0, 1.0
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(max(p * (1 - p) / n + z * z / (4 * n * n), 0.0)) / denominator
    return round(max(0.0, centre - half), 12), round(min(1.0, centre + half), 12)


def wilson(successes: int, n: int) -> Estimate:
    """A simple-random-sample proportion with its Wilson interval."""
    if n <= 0:
        return NO_DATA
    p = successes / n
    low, high = wilson_bounds(p, n)
    return Estimate(rate=p, low=low, high=high, n=n, effective_n=float(n))


@dataclass(frozen=True)
class WeightedSums:
    """The sums the Hajek estimator needs for one indicator over one group of audits.

    With w = 1/pi and c = (1 - pi)/pi^2 over audits with a design probability:
    n audits, sum w, sum w*y, sum c, sum c*y (y is 0 or 1).
    """

    n: int
    w: float
    wy: float
    c: float
    cy: float

    def __add__(self, other: WeightedSums) -> WeightedSums:
        return WeightedSums(
            self.n + other.n,
            self.w + other.w,
            self.wy + other.wy,
            self.c + other.c,
            self.cy + other.cy,
        )


def sums_of(units: list[tuple[float, bool]]) -> WeightedSums:
    """The weighted sums of (inclusion probability, indicator) pairs."""
    n, w, wy, c, cy = 0, 0.0, 0.0, 0.0, 0.0
    for pi, y in units:
        n += 1
        w += 1 / pi
        c += (1 - pi) / (pi * pi)
        if y:
            wy += 1 / pi
            cy += (1 - pi) / (pi * pi)
    return WeightedSums(n, w, wy, c, cy)


def hajek(sums: WeightedSums) -> Estimate:
    """The design-weighted population rate of an indicator, with its 95% interval."""
    if sums.n == 0 or sums.w <= 0:
        return NO_DATA
    rate = sums.wy / sums.w
    residual = sums.cy * (1 - 2 * rate) + rate * rate * sums.c
    variance = max(residual, 0.0) / (sums.w * sums.w)
    if variance <= 0:
        effective_n = float(sums.n)
    else:
        effective_n = max(1.0, rate * (1 - rate) / variance) if 0 < rate < 1 else float(sums.n)
    low, high = wilson_bounds(rate, effective_n)
    return Estimate(rate=rate, low=low, high=high, n=sums.n, effective_n=effective_n)
