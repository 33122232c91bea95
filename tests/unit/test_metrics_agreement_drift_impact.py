"""Agreement statistics, the CUSUM design and the policy-impact test against known values."""

from __future__ import annotations

import numpy as np
import pytest
from statsmodels.stats.proportion import proportions_ztest

from services.metrics.domain.agreement import (
    Review,
    agreement_with_reference,
    cohen,
    fleiss,
    label_of,
    pairwise_cohen,
)
from services.metrics.domain.drift import (
    CusumDesign,
    CusumState,
    average_run_length,
    design_for,
    step,
)
from services.metrics.domain.impact import compare


def test_cohen_kappa_of_the_textbook_example_is_0_4() -> None:
    # 50 items: both yes 20, A yes/B no 5, A no/B yes 10, both no 15 -> kappa = 0.4
    pairs = [("yes", "yes")] * 20 + [("yes", "no")] * 5 + [("no", "yes")] * 10 + [("no", "no")] * 15
    assert cohen(pairs).value == pytest.approx(0.4)


def test_fleiss_kappa_of_the_textbook_example_is_0_21() -> None:
    # Fleiss (1971) as in the literature: 10 items, 14 raters, 5 categories -> kappa = 0.210
    table = [
        [0, 0, 0, 0, 14],
        [0, 2, 6, 4, 2],
        [0, 0, 3, 5, 6],
        [0, 3, 9, 2, 0],
        [2, 2, 8, 1, 1],
        [7, 7, 0, 0, 0],
        [3, 2, 6, 3, 0],
        [2, 5, 3, 2, 2],
        [6, 5, 2, 1, 0],
        [0, 2, 2, 3, 7],
    ]
    reviews = [
        Review(f"item-{i}", f"rater-{i}-{j}", f"c{c}")
        for i, row in enumerate(table)
        for c, count in enumerate(row)
        for j in range(count)
    ]
    # the statistic depends only on the counts per item, not on who the raters are
    assert fleiss(reviews)[14].value == pytest.approx(0.2099, abs=1e-4)


def test_pairs_and_reference_agreement_are_per_auditor() -> None:
    reviews = [
        Review("t1", "ana", "correct"),
        Review("t1", "bo", "correct"),
        Review("t2", "ana", label_of("incorrect", "remove", "spam")),
        Review("t2", "bo", "correct"),
        Review("t3", "ana", "unsure"),
        Review("t3", "bo", "unsure"),
    ]
    assert list(pairwise_cohen(reviews)) == [("ana", "bo")]
    agreement = agreement_with_reference(
        reviews, {"t1": "correct", "t2": "correct", "t3": "unsure"}
    )
    assert agreement["ana"].rate == pytest.approx(2 / 3)
    assert agreement["bo"].rate == pytest.approx(1.0)


def test_the_default_cusum_meets_its_run_length_targets() -> None:
    design = design_for(0.05, 0.15, 1500)
    assert average_run_length(0.05, 0.15, design.h, 0.05) >= 1500
    assert 40 <= average_run_length(0.05, 0.15, design.h, 0.15) <= 55


def test_a_simulated_shift_from_5_to_15_percent_is_flagged_within_about_50_audits() -> None:
    design = design_for(0.05, 0.15, 1500)
    rng = np.random.default_rng(7)
    lengths = []
    for _ in range(2000):
        state, n = CusumState(), 0
        while True:
            n += 1
            state, signalled = step(design, state, bool(rng.random() < 0.15))
            if signalled:
                break
        lengths.append(n)
    assert 40 <= float(np.mean(lengths)) <= 60


def test_the_statistic_never_goes_below_zero_and_resets_after_a_signal() -> None:
    design = CusumDesign(0.05, 0.15, 2.0)
    state, signalled = step(design, CusumState(), error=False)
    assert state.statistic == 0.0 and not signalled
    state, signalled = step(design, state, error=True)
    assert state.statistic == pytest.approx(design.up) and not signalled
    state, signalled = step(design, state, error=True)
    assert signalled and state.statistic == 0.0 and state.audits == 3 and state.errors == 2


def test_two_proportion_test_matches_statsmodels() -> None:
    comparison = compare(10, 200, 30, 200)
    z, p = proportions_ztest([30, 10], [200, 200])
    assert comparison.z == pytest.approx(z)
    assert comparison.p_value == pytest.approx(p)
    assert comparison.significant and comparison.difference == pytest.approx(0.1)
    assert not compare(10, 200, 12, 200).significant
    assert compare(0, 0, 3, 10).p_value is None
