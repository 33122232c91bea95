"""`make bench-estimates`: the estimators proven by simulation against a known truth.

Each round draws a fresh population of decisions in strata whose error rates differ tenfold,
samples it twice at the same expected audit budget (uniform, and a risk-weighted Neyman plan
with a floor on every probability) with Poisson sampling as the sampler does, and estimates
the population error rate with the Hajek estimator and its 95% interval. Over the rounds it
reports bias (in Monte-Carlo standard errors), interval coverage and width, and errors found;
then the coverage of per-moderator Wilson intervals for n from 30 to 200.
"""

from __future__ import annotations

import argparse
from dataclasses import dataclass

import numpy as np

from services.metrics.domain.estimates import WeightedSums, hajek, wilson_bounds

STRATUM_ERROR_RATES = np.array([0.01, 0.02, 0.05, 0.10])
STRATUM_SHARES = np.array([0.55, 0.25, 0.12, 0.08])
POPULATION = 200_000
BUDGET = 2_000
FLOOR = 0.002


@dataclass(frozen=True)
class PlanResult:
    name: str
    bias: float
    mc_standard_error: float
    coverage: float
    mean_width: float
    errors_found: float
    audits: float


def plan_probabilities(kind: str) -> np.ndarray:
    """Inclusion probability per stratum at the same expected budget."""
    sizes = STRATUM_SHARES * POPULATION
    if kind == "uniform":
        return np.full(len(sizes), BUDGET / POPULATION)
    spread = np.sqrt(STRATUM_ERROR_RATES * (1 - STRATUM_ERROR_RATES))
    probabilities: np.ndarray = np.maximum(BUDGET * spread / np.sum(sizes * spread), FLOOR)
    return probabilities


def simulate_plan(kind: str, rounds: int, rng: np.random.Generator) -> PlanResult:
    """Estimate the population error rate `rounds` times under one plan."""
    sizes = (STRATUM_SHARES * POPULATION).astype(int)
    pi = plan_probabilities(kind)
    c = (1 - pi) / pi**2
    errors_ = []
    covered = 0
    widths = []
    found = []
    audits = []
    for _ in range(rounds):
        errors = rng.binomial(sizes, STRATUM_ERROR_RATES)
        truth = errors.sum() / sizes.sum()
        sampled_errors = rng.binomial(errors, pi)
        sampled = sampled_errors + rng.binomial(sizes - errors, pi)
        sums = WeightedSums(
            n=int(sampled.sum()),
            w=float((sampled / pi).sum()),
            wy=float((sampled_errors / pi).sum()),
            c=float((sampled * c).sum()),
            cy=float((sampled_errors * c).sum()),
        )
        estimate = hajek(sums)
        assert estimate.rate is not None
        assert estimate.low is not None
        assert estimate.high is not None
        errors_.append(estimate.rate - truth)
        covered += estimate.low <= truth <= estimate.high
        widths.append(estimate.high - estimate.low)
        found.append(sampled_errors.sum())
        audits.append(sampled.sum())
    deviations = np.array(errors_)
    return PlanResult(
        name=kind,
        bias=float(deviations.mean()),
        mc_standard_error=float(deviations.std(ddof=1) / np.sqrt(rounds)),
        coverage=covered / rounds,
        mean_width=float(np.mean(widths)),
        errors_found=float(np.mean(found)),
        audits=float(np.mean(audits)),
    )


def wilson_coverage(n: int, rounds: int, rng: np.random.Generator) -> float:
    """Coverage of the Wilson interval for moderators with true error rates across 2%-20%."""
    rates = rng.uniform(0.02, 0.20, rounds)
    hits = rng.binomial(n, rates)
    covered = 0
    for k, p in zip(hits, rates, strict=True):
        low, high = wilson_bounds(k / n, n)
        covered += low <= p <= high
    return covered / rounds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--rounds", type=int, default=1000)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = np.random.default_rng(args.seed)
    results = [simulate_plan(kind, args.rounds, rng) for kind in ("uniform", "neyman")]
    truth = float((STRATUM_SHARES * STRATUM_ERROR_RATES).sum())
    print(
        f"population error rate ~{truth:.4f}; strata {STRATUM_ERROR_RATES.tolist()} with shares "
        f"{STRATUM_SHARES.tolist()}; budget {BUDGET} of {POPULATION}; {args.rounds} rounds\n"
    )
    print(
        f"{'plan':<8} {'audits':>7} {'bias':>10} {'bias/MCSE':>9} {'coverage':>9} "
        f"{'width':>8} {'errors found':>12}"
    )
    for r in results:
        print(
            f"{r.name:<8} {r.audits:>7.0f} {r.bias:>10.6f} {r.bias / r.mc_standard_error:>9.2f} "
            f"{r.coverage:>9.3f} {r.mean_width:>8.5f} {r.errors_found:>12.1f}"
        )
    uniform, neyman = results
    print(
        f"\nplan finds {neyman.errors_found / uniform.errors_found:.2f}x the errors of uniform "
        f"with an interval {neyman.mean_width / uniform.mean_width:.2f}x as wide"
    )
    print("\nper-moderator Wilson coverage:")
    for n in (30, 50, 100, 150, 200):
        print(f"  n={n:<4} {wilson_coverage(n, args.rounds * 5, rng):.3f}")


if __name__ == "__main__":
    main()
