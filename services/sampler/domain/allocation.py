"""Neyman allocation: given a daily number of tasks, the per-stratum rates that minimise the
variance of the overall error-rate estimate, n_h proportional to N_h * S_h with
S_h = sqrt(e_h (1 - e_h)), each rate kept within [floor, 1].

Recent error rates come from the metrics service; each is shrunk towards a prior with
`min_audits` pseudo-audits, so a stratum with few audits (or none) is neither starved because
it happened to show no error nor flooded because it happened to show many.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from services.sampler.domain.plan import Dimension
from services.sampler.domain.selection import stratum_of
from services.sampler.domain.traffic import Sampled


@dataclass(frozen=True)
class StratumErrors:
    """An error-rate estimate and the audits behind it."""

    error_rate: float
    n: int


def smoothed(errors: StratumErrors | None, *, prior: float, min_audits: int) -> float:
    """The error rate shrunk towards the prior (the prior alone without audits)."""
    if errors is None or errors.n <= 0:
        return prior
    weight = errors.n + min_audits
    return (errors.error_rate * errors.n + prior * min_audits) / weight


def neyman_rates(
    volumes: Mapping[str, float],
    errors: Mapping[str, StratumErrors],
    *,
    daily_tasks: float,
    floor: float,
    prior: float,
    min_audits: int,
) -> dict[str, float]:
    """Per-stratum rates spending `daily_tasks` over `volumes` (decisions per day)."""
    strata = [s for s, n in volumes.items() if n > 0]
    if not strata:
        return {}
    spread = {
        s: math.sqrt(max(1e-12, e * (1 - e)))
        for s in strata
        for e in [smoothed(errors.get(s), prior=prior, min_audits=min_audits)]
    }

    def total(scale: float) -> float:
        return sum(volumes[s] * min(1.0, max(floor, scale * spread[s])) for s in strata)

    if total(0.0) >= daily_tasks:
        return {s: floor for s in strata}
    high = 1.0 / min(spread.values())
    if total(high) <= daily_tasks:
        return {s: 1.0 for s in strata}
    low = 0.0
    for _ in range(80):
        middle = (low + high) / 2
        if total(middle) < daily_tasks:
            low = middle
        else:
            high = middle
    scale = (low + high) / 2
    return {s: min(1.0, max(floor, scale * spread[s])) for s in strata}


def stratum_volumes(
    sample: Sequence[Sampled], dimensions: Sequence[Dimension], *, daily_decisions: float
) -> dict[str, float]:
    """Decisions per day per stratum, estimated from a uniform traffic sample."""
    if not sample:
        return {}
    counts: dict[str, int] = {}
    for entry in sample:
        key = stratum_of(entry, dimensions)
        counts[key] = counts.get(key, 0) + 1
    return {key: daily_decisions * n / len(sample) for key, n in counts.items()}


def stratum_key(key: Mapping[str, str], dimensions: Sequence[Dimension]) -> str | None:
    """The stratum label of a metrics-service key such as {"queue": "video", "market": "KR"}."""
    try:
        return "|".join(f"{d.value}={key[d.value]}" for d in dimensions) or "all"
    except KeyError:
        return None
