"""Plan documents: a valid plan parses; an invalid one is refused naming the field."""

from __future__ import annotations

from typing import Any

import pytest

from services.sampler.domain.plan import InvalidPlan, validate_plan

FULL: dict[str, Any] = {
    "description": "Korean launch quarter",
    "salt": "kr-q4",
    "base_rate": 0.02,
    "floor": 0.001,
    "strata": ["queue", "market"],
    "rates": [{"match": {"market": "KR"}, "rate": 0.05}],
    "risk": {
        "severity": {"critical": 0.5, "major": 0.1},
        "low_confidence": {"below": 0.7, "rate": 0.3},
        "new_moderators": {"days": 30, "rate": 0.2},
        "policy_changes": {"days": 14, "rate": 0.2},
        "targeted": [{"moderator_id": "mod-1", "until": "2026-12-01T00:00:00Z", "rate": 0.5}],
    },
    "pools": [{"name": "korean", "match": {"language": ["ko"]}, "daily_budget": 3000}],
    "quota": {"min_per_moderator_per_day": 3},
    "allocation": {"daily_tasks": 20000, "days": 28},
    "calibration": {"share": 0.05, "reviews": 3},
    "blind_share": 0.1,
    "due_within_hours": 12,
}


def test_a_complete_plan_validates() -> None:
    plan = validate_plan(FULL, plan_id="kr")
    assert plan.pools[0].daily_budget == 3000
    assert plan.rates[0].match  # a single value is read as a one-element list


def errors_of(document: dict[str, Any]) -> list[tuple[str, str]]:
    with pytest.raises(InvalidPlan) as caught:
        validate_plan(document, plan_id="kr")
    return caught.value.errors


@pytest.mark.parametrize(
    ("document", "field", "words"),
    [
        ({"base_rate": 1.5}, "base_rate", "less than or equal to 1"),
        ({"floor": 0}, "floor", "greater than 0"),
        ({"bse_rate": 0.1}, "bse_rate", "Extra inputs"),
        ({"risk": {"low_confidence": {"below": 2, "rate": 0.1}}}, "risk.low_confidence.below", ""),
        ({"rates": [{"match": {"market": "kr"}, "rate": 0.1}]}, "rates.0.match", "market"),
        ({"rates": [{"match": {"colour": "red"}, "rate": 0.1}]}, "rates.0.match.colour", ""),
        ({"strata": ["queue", "queue"]}, "(document)", "strata"),
        ({"pools": [{"name": "a"}, {"name": "a"}]}, "(document)", "pools"),
        ({"quota": {"min_per_moderator_per_day": 0}}, "quota.min_per_moderator_per_day", ""),
        ({"calibration": {"share": 0.1, "reviews": 1}}, "calibration.reviews", ""),
        ({"plan_id": "other"}, "plan_id", "other"),
    ],
)
def test_an_invalid_plan_names_the_field(document: dict[str, Any], field: str, words: str) -> None:
    found = errors_of(document)
    assert any(where == field and words in what for where, what in found), found


def test_a_plan_that_is_not_an_object_is_refused() -> None:
    assert errors_of([1, 2]) == [("(document)", "a plan is a JSON or YAML object")]  # type: ignore[arg-type]
