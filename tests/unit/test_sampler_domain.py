"""Uniform sampling: deterministic, at the plan's rate, with the probability on every task."""

from __future__ import annotations

import math

from services.sampler.domain import UniformPlan, draw, is_selected, sample
from shared.events import TaskReason
from shared.ids import task_id
from tests.support.builders import NOW, a_decision

PLAN = UniformPlan(plan_id="default", version=3, rate=0.2, salt="salt-a")


def test_the_draw_is_fixed_by_decision_and_salt() -> None:
    assert draw("dec-1", "salt-a") == draw("dec-1", "salt-a")
    assert draw("dec-1", "salt-a") != draw("dec-1", "salt-b")
    assert 0.0 <= draw("dec-1", "salt-a") < 1.0


def test_selection_rate_matches_the_plan_within_five_sigma() -> None:
    n = 20_000
    chosen = sum(is_selected(f"d-{i}", "salt-a", 0.2) for i in range(n))
    sigma = math.sqrt(n * 0.2 * 0.8)
    assert abs(chosen - n * 0.2) < 5 * sigma


def test_rates_zero_and_one_select_nothing_and_everything() -> None:
    assert not any(is_selected(f"d-{i}", "s", 0.0) for i in range(1000))
    assert all(is_selected(f"d-{i}", "s", 1.0) for i in range(1000))


def test_a_selected_decision_becomes_a_task_with_its_probability_and_plan() -> None:
    decision = next(
        a_decision(decision_id=f"d-{i}") for i in range(100) if is_selected(f"d-{i}", "salt-a", 0.2)
    )
    task = sample(decision, PLAN, now=NOW)
    assert task is not None
    assert task.task_id == task_id(decision.decision_id, "audit")
    assert task.inclusion_probability == 0.2
    assert (task.plan_id, task.plan_version) == ("default", 3)
    assert task.reasons == [TaskReason.UNIFORM]
    assert task.decision == decision
    assert sample(decision, PLAN, now=NOW) == task, "sampling must be a pure function"


def test_an_unselected_decision_gives_no_task() -> None:
    decision = next(
        a_decision(decision_id=f"d-{i}")
        for i in range(100)
        if not is_selected(f"d-{i}", "salt-a", 0.2)
    )
    assert sample(decision, PLAN, now=NOW) is None
