"""Figures shown to people, pure: every rate with its sample size and a confidence interval."""

from __future__ import annotations

import math
from dataclasses import dataclass

Z_95 = 1.959963984540054


@dataclass(frozen=True)
class Proportion:
    """successes out of n, the rate, and its 95% Wilson score interval (None when n is 0)."""

    successes: int
    n: int
    rate: float | None
    low: float | None
    high: float | None


def proportion(successes: int, n: int, z: float = Z_95) -> Proportion:
    """The rate and Wilson interval of `successes` out of `n` (well-behaved for small n)."""
    if n < 0 or not 0 <= successes <= n:
        raise ValueError(f"need 0 <= successes <= n, got {successes} of {n}")
    if n == 0:
        return Proportion(successes=0, n=0, rate=None, low=None, high=None)
    p = successes / n
    denominator = 1 + z * z / n
    centre = (p + z * z / (2 * n)) / denominator
    margin = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denominator
    return Proportion(
        successes=successes,
        n=n,
        rate=round(p, 4),
        low=round(max(0.0, centre - margin), 4),
        high=round(min(1.0, centre + margin), 4),
    )
