"""Selection, pure: every strategy a plan combines, the floor, and determinism of the draw."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from services.sampler.domain.plan import Allocated, default_plan
from services.sampler.domain.selection import (
    MAX_STRATUM,
    TargetingEntry,
    draw,
    is_selected,
    stratum_of,
)
from shared.events import TaskReason
from tests.support.builders import NOW
from tests.support.sampling import a_record, a_revision, a_schedule, a_selector

T = NOW.timestamp()


def test_the_draw_is_fixed_by_decision_and_salt() -> None:
    assert draw("dec-1", "salt-a") == draw("dec-1", "salt-a")
    assert draw("dec-1", "salt-a") != draw("dec-1", "salt-b")
    assert 0.0 <= draw("dec-1", "salt-a") < 1.0


def test_selection_rate_matches_the_probability_within_five_sigma() -> None:
    n = 20_000
    chosen = sum(is_selected(f"d-{i}", "salt-a", 0.2) for i in range(n))
    sigma = math.sqrt(n * 0.2 * 0.8)
    assert abs(chosen - n * 0.2) < 5 * sigma


def test_rates_zero_and_one_select_nothing_and_everything() -> None:
    assert not any(is_selected(f"d-{i}", "s", 0.0) for i in range(1000))
    assert all(is_selected(f"d-{i}", "s", 1.0) for i in range(1000))


def test_the_default_plan_is_the_uniform_settings_rate_with_the_settings_salt() -> None:
    revision = a_revision(default_plan(rate=0.1, salt="s1").model_dump(), plan_id="default")
    selector = a_schedule(revision).at(T)
    assessment = selector.assess(a_record(policy_id="child_safety", confidence=0.1), T)
    assert assessment.probability == 0.1
    assert assessment.reason is TaskReason.UNIFORM
    assert assessment.cell.stratum == "all"
    assert selector.salt == "s1"


def test_the_base_rate_applies_when_nothing_else_does() -> None:
    assert a_selector({"base_rate": 0.07}).assess(a_record(), T).probability == 0.07


def test_the_first_matching_stratum_rate_wins_and_strata_are_labelled() -> None:
    selector = a_selector(
        {
            "base_rate": 0.01,
            "strata": ["queue", "market"],
            "rates": [
                {"match": {"market": "KR", "queue": ["video", "live"]}, "rate": 0.3},
                {"match": {"market": "KR"}, "rate": 0.2},
            ],
        }
    )
    kr_video = selector.assess(a_record(market="KR", queue="video"), T)
    kr_comments = selector.assess(a_record(market="KR", queue="comments"), T)
    us_video = selector.assess(a_record(market="US", queue="video", language="en"), T)
    assert kr_video.probability == 0.3
    assert kr_video.cell.stratum == "queue=video|market=KR"
    assert kr_comments.probability == 0.2
    assert us_video.probability == 0.01


def test_allocated_rates_replace_the_stratum_rate_of_their_stratum() -> None:
    allocation = Allocated(
        rates={"market=KR": 0.4}, error_rates={}, computed_at=NOW, source="metrics"
    )
    selector = a_selector({"strata": ["market"], "base_rate": 0.05}, allocation=allocation)
    assert selector.assess(a_record(market="KR"), T).probability == 0.4
    assert selector.assess(a_record(market="US", language="en"), T).probability == 0.05


def test_policy_severity_raises_the_rate_as_a_risk() -> None:
    selector = a_selector({"base_rate": 0.05, "risk": {"severity": {"critical": 0.5}}})
    critical = selector.assess(a_record(policy_id="child_safety"), T)
    minor = selector.assess(a_record(policy_id="spam"), T)
    assert (critical.probability, critical.reason) == (0.5, TaskReason.RISK)
    assert (minor.probability, minor.reason) == (0.05, TaskReason.UNIFORM)
    assert selector.priority(critical.reason, critical.cell) > selector.priority(
        minor.reason, minor.cell
    )


def test_low_confidence_machine_decisions_are_raised_but_not_people_or_confident_models() -> None:
    selector = a_selector({"risk": {"low_confidence": {"below": 0.7, "rate": 0.4}}})
    unsure_model = a_record(moderator_kind="machine", confidence=0.55)
    sure_model = a_record(moderator_kind="machine", confidence=0.95)
    person = a_record(moderator_kind="human", confidence=0.55)
    assert selector.assess(unsure_model, T).probability == 0.4
    assert selector.assess(sure_model, T).probability == 0.05
    assert selector.assess(person, T).probability == 0.05


def test_new_moderators_are_raised_for_their_first_days() -> None:
    selector = a_selector({"risk": {"new_moderators": {"days": 30, "rate": 0.25}}})
    new = a_record(moderator_started_at=(NOW - dt.timedelta(days=29)).date())
    seasoned = a_record(moderator_started_at=(NOW - dt.timedelta(days=30)).date())
    unknown = a_record()
    assert selector.assess(new, T).probability == 0.25
    assert selector.assess(seasoned, T).probability == 0.05
    assert selector.assess(unknown, T).probability == 0.05


def test_decisions_under_a_recently_changed_policy_version_are_raised() -> None:
    # hate_speech v2 took effect 2026-10-15, 36 days before NOW
    recent = a_selector({"risk": {"policy_changes": {"days": 40, "rate": 0.3}}})
    stale = a_selector({"risk": {"policy_changes": {"days": 30, "rate": 0.3}}})
    decision = a_record(policy_id="hate_speech", policy_version=2)
    assert recent.assess(decision, T).probability == 0.3
    assert stale.assess(decision, T).probability == 0.05
    assert recent.assess(a_record(policy_id="hate_speech", policy_version=1), T).probability == 0.05


def test_a_targeted_review_in_the_plan_holds_until_its_date() -> None:
    until = NOW + dt.timedelta(days=1)
    selector = a_selector(
        {"risk": {"targeted": [{"moderator_id": "mod-9", "until": until.isoformat(), "rate": 0.6}]}}
    )
    targeted = selector.assess(a_record(moderator_id="mod-9"), T)
    assert (targeted.probability, targeted.reason) == (0.6, TaskReason.TARGETED)
    after = selector.assess(a_record(moderator_id="mod-9"), until.timestamp() + 1)
    assert after.probability == 0.05
    assert selector.assess(a_record(moderator_id="mod-1"), T).probability == 0.05


def rule(**overrides: object) -> TargetingEntry:
    fields: dict[str, object] = {
        "rule_id": "r1",
        "effective_from": T - 100,
        "updated_at": T - 200,
        "moderator_id": "mod-7",
        "market": None,
        "policy_id": None,
        "rate": 0.5,
        "active": True,
        "expires_at": T + 3600,
    }
    fields.update(overrides)
    return TargetingEntry(**fields)  # type: ignore[arg-type]


def test_targeting_rules_apply_from_when_they_take_effect_until_lifted_or_expired() -> None:
    lifted = rule(effective_from=T + 600, updated_at=T + 500, active=False)
    schedule = a_schedule(a_revision({"base_rate": 0.05}), targeting=[rule(), lifted])
    decision = a_record(moderator_id="mod-7")
    assert schedule.at(T - 101).assess(decision, T - 101).probability == 0.05
    during = schedule.at(T).assess(decision, T)
    assert (during.probability, during.reason) == (0.5, TaskReason.TARGETED)
    assert schedule.at(T + 601).assess(decision, T + 601).probability == 0.05
    expired = a_schedule(a_revision(), targeting=[rule(expires_at=T + 10)])
    assert expired.at(T + 11).assess(decision, T + 11).probability == 0.05


def test_a_targeting_rule_can_name_a_market_and_policy() -> None:
    entry = rule(moderator_id=None, market="KR", policy_id="hate_speech", rate=0.35)
    schedule = a_schedule(a_revision(), targeting=[entry])
    hit = a_record(market="KR", policy_id="hate_speech")
    miss = a_record(market="KR", policy_id="spam")
    assert schedule.at(T).assess(hit, T).probability == 0.35
    assert schedule.at(T).assess(miss, T).probability == 0.05


def test_a_stale_targeting_state_received_late_does_not_override_a_newer_one() -> None:
    newer = rule(updated_at=T - 50, active=False, effective_from=T - 100)
    older = rule(updated_at=T - 500, active=True, effective_from=T - 10)
    schedule = a_schedule(a_revision(), targeting=[newer, older])
    assert schedule.at(T).assess(a_record(moderator_id="mod-7"), T).probability == 0.05


def test_the_floor_keeps_every_probability_above_zero() -> None:
    selector = a_selector(
        {"base_rate": 0.0, "floor": 0.002, "pools": [{"name": "ko", "daily_budget": 10}]},
        scales={"ko": 0.0},
    )
    for i in range(200):
        decision = a_record(decision_id=f"d-{i}", market=["KR", "US"][i % 2])
        assert selector.assess(decision, T).probability >= 0.002


def test_pool_scales_multiply_design_rates_but_not_targeted_ones() -> None:
    until = (NOW + dt.timedelta(days=1)).isoformat()
    selector = a_selector(
        {
            "base_rate": 0.1,
            "pools": [{"name": "korean", "match": {"language": "ko"}, "daily_budget": 100}],
            "risk": {"targeted": [{"moderator_id": "mod-9", "until": until, "rate": 0.3}]},
        },
        scales={"korean": 0.5},
    )
    korean = selector.assess(a_record(language="ko"), T)
    english = selector.assess(a_record(language="en", market="US"), T)
    targeted = selector.assess(a_record(language="ko", moderator_id="mod-9"), T)
    assert (korean.probability, korean.cell.pool) == (0.05, "korean")
    assert (english.probability, english.cell.pool) == (0.1, "en")
    assert targeted.probability == 0.3


def test_scaled_probabilities_are_capped_at_one() -> None:
    selector = a_selector(
        {"base_rate": 0.5, "pools": [{"name": "p", "daily_budget": 5}]}, scales={"p": 3.0}
    )
    assert selector.assess(a_record(), T).probability == 1.0


def test_the_revision_in_force_is_chosen_by_instant() -> None:
    first = a_revision({"base_rate": 0.1}, seq=1, effective_from=NOW - dt.timedelta(hours=2))
    second = a_revision(
        {"base_rate": 0.2}, seq=2, version=2, effective_from=NOW - dt.timedelta(hours=1)
    )
    schedule = a_schedule(second, first)
    assert schedule.at(T - 3 * 3600).revision.seq == 0, "before any revision: the default"
    assert schedule.at(T - 1.5 * 3600).revision.version == 1
    assert schedule.at(T).revision.version == 2


def test_long_stratum_labels_stay_within_the_task_limit_and_distinct() -> None:
    dimensions = a_selector({"strata": ["moderator_team", "queue", "policy_id"]}).plan.strata
    long_a = a_record(moderator_team="t" * 64, queue="q" * 64, policy_id="p" * 63 + "a")
    long_b = a_record(moderator_team="t" * 64, queue="q" * 64, policy_id="p" * 63 + "b")
    dims = [*dimensions] * 2
    label_a, label_b = stratum_of(long_a, dims), stratum_of(long_b, dims)
    assert len(label_a) <= MAX_STRATUM
    assert label_a != label_b


@pytest.mark.parametrize("kind", ["human", "machine"])
def test_selection_is_a_pure_function(kind: str) -> None:
    selector = a_selector({"risk": {"severity": {"critical": 0.5}}})
    decision = a_record(moderator_kind=kind, policy_id="child_safety")
    assert selector.assess(decision, T) == selector.assess(decision, T)
