"""Quality figures, pure: counts to rates with their sample size and interval."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z95 = 1.959963984540054
MIN_FIRM_SAMPLE = 30


@dataclass(frozen=True)
class Proportion:
    """A rate with its sample size and 95% Wilson interval."""

    successes: int
    n: int
    rate: float | None
    low: float | None
    high: float | None

    @property
    def firm(self) -> bool:
        """False when the sample is too small to say much."""
        return self.n >= MIN_FIRM_SAMPLE


def wilson(successes: int, n: int, z: float = Z95) -> Proportion:
    """The Wilson score interval of `successes` out of `n` (no rate when n is 0)."""
    if n <= 0:
        return Proportion(successes=0, n=0, rate=None, low=None, high=None)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    low = round(max(0.0, centre - half), 12)
    high = round(min(1.0, centre + half), 12)
    return Proportion(successes=successes, n=n, rate=p, low=low, high=high)
