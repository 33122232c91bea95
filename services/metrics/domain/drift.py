"""Drift detection, pure: a Bernoulli CUSUM on a subject's sequence of audit outcomes.

S_t = max(0, S_{t-1} + y_t ln(p1/p0) + (1 - y_t) ln((1 - p1)/(1 - p0))) signals when it
crosses h, then restarts from 0. The threshold h is chosen from the in-control average run
length wanted (ARL0), computed exactly with a discretised Markov chain, so with p0 = 5% and
p1 = 15%: ARL0 ~ 1,700 audits between false alarms and ARL1 ~ 51 audits to flag the shift.
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass

import numpy as np
from scipy.sparse import csr_matrix, identity
from scipy.sparse.linalg import spsolve

_GRID = 400
"""States per unit of the statistic in the Markov-chain approximation."""


@dataclass(frozen=True)
class CusumDesign:
    """What the detector looks for: a shift of the error rate from p0 to p1."""

    p0: float
    p1: float
    h: float

    @property
    def up(self) -> float:
        return math.log(self.p1 / self.p0)

    @property
    def down(self) -> float:
        return math.log((1 - self.p1) / (1 - self.p0))


@dataclass(frozen=True)
class CusumState:
    statistic: float = 0.0
    audits: int = 0
    errors: int = 0
    since_reset: int = 0
    errors_since_reset: int = 0


def step(design: CusumDesign, state: CusumState, error: bool) -> tuple[CusumState, bool]:
    """Feed one audit outcome; return the new state and whether it signalled (then reset)."""
    statistic = max(0.0, state.statistic + (design.up if error else design.down))
    since = state.since_reset + 1
    errors_since = state.errors_since_reset + int(error)
    if statistic >= design.h:
        return CusumState(0.0, state.audits + 1, state.errors + int(error), 0, 0), True
    return (
        CusumState(statistic, state.audits + 1, state.errors + int(error), since, errors_since),
        False,
    )


def average_run_length(p0: float, p1: float, h: float, p: float) -> float:
    """The expected number of audits to a signal when the true error rate is p (from S=0)."""
    design = CusumDesign(p0, p1, h)
    up, down = round(design.up * _GRID), round(design.down * _GRID)
    states = max(1, math.ceil(h * _GRID))
    rows, cols, values = [], [], []
    for s in range(states):
        for target, probability in ((s + up, p), (max(0, s + down), 1 - p)):
            if target < states:
                rows.append(s)
                cols.append(target)
                values.append(probability)
    transitions = csr_matrix((values, (rows, cols)), shape=(states, states))
    lengths = spsolve(identity(states, format="csr") - transitions, np.ones(states))
    return float(lengths[0])


@functools.lru_cache(maxsize=64)
def design_for(p0: float, p1: float, arl0: float) -> CusumDesign:
    """The design whose in-control average run length is just above `arl0`."""
    low, high = 0.5, 20.0
    for _ in range(40):
        middle = (low + high) / 2
        if average_run_length(p0, p1, middle, p0) >= arl0:
            high = middle
        else:
            low = middle
    return CusumDesign(p0, p1, math.ceil(high * 100) / 100)
