"""The stream side of sampling, pure: quotas, one task per decision id, calibration, staged
state across commits and rewinds, and the same tasks for the same input."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest

from services.sampler.domain.core import (
    WATERMARK,
    ChangeValue,
    SamplerCore,
    ScheduleBehind,
    Seen,
    TaskDraft,
)
from services.sampler.domain.selection import TargetingEntry, draw
from shared.events import TaskReason
from shared.ids import task_id
from tests.support.builders import NOW
from tests.support.sampling import a_core, a_record, a_revision, a_schedule, seen

QUOTA_PLAN: dict[str, Any] = {"base_rate": 0.0, "quota": {"min_per_moderator_per_day": 3}}


def decisions(
    n: int, *, moderator: str = "mod-1", day: dt.datetime = NOW, **fields: Any
) -> list[Seen]:
    return [
        seen(
            a_record(
                decision_id=f"{moderator}-{day.date()}-{i}",
                moderator_id=moderator,
                decided_at=day + dt.timedelta(seconds=i),
                **fields,
            )
        )
        for i in range(n)
    ]


def run(core: SamplerCore, items: list[Seen], document: dict[str, Any]) -> list[TaskDraft]:
    outcome = core.sample(items, a_schedule(a_revision(document)), now=NOW)
    core.commit()
    return outcome.tasks


def keyed(tasks: list[TaskDraft]) -> list[tuple[str, float | None, tuple[TaskReason, ...]]]:
    return [(t.task_id, t.probability, t.reasons) for t in tasks]


def test_a_selected_decision_becomes_a_task_with_its_probability_plan_and_snapshot() -> None:
    document = {"base_rate": 0.3, "salt": "s", "strata": ["market"], "due_within_hours": 6}
    items = decisions(50)
    tasks = run(a_core(), items, document)
    expected = [i for i in items if draw(i[1].decision_id, "s") < 0.3]
    assert [t.decision for t in tasks] == [i[1] for i in expected]
    task = tasks[0]
    assert task.task_id == task_id(task.decision.decision_id, "audit")
    assert (task.plan_id, task.plan_version, task.stratum) == ("plan-a", 1, "market=KR")
    assert task.probability == 0.3 and task.reasons == (TaskReason.UNIFORM,)
    assert task.due_at == task.decision.decided_at + dt.timedelta(hours=6)


def test_quota_tops_a_moderator_up_to_the_minimum_with_no_design_probability() -> None:
    tasks = run(a_core(), decisions(10), QUOTA_PLAN)
    assert len(tasks) == 3
    assert all(t.probability is None and t.reasons == (TaskReason.QUOTA,) for t in tasks)
    assert all(t.priority < 50 for t in tasks)


def test_design_tasks_count_towards_the_quota() -> None:
    items = decisions(40)
    tasks = run(a_core(), items, {**QUOTA_PLAN, "base_rate": 0.2, "salt": "q"})
    design = [t for t in tasks if t.probability is not None]
    quota = [t for t in tasks if t.probability is None]
    assert design, "some decisions must be selected by design at 20%"
    first_three = [t.decision.decision_id for t in tasks[:3]]
    assert first_three == [i[1].decision_id for i in items[:3]]
    assert len(quota) == 3 - sum(1 for t in design if t.decision in [i[1] for i in items[:3]])


def test_quota_counts_restart_every_day_and_per_moderator() -> None:
    core = a_core()
    day_one = decisions(5) + decisions(5, moderator="mod-2")
    day_two = decisions(5, day=NOW + dt.timedelta(days=1))
    assert len(run(core, day_one, QUOTA_PLAN)) == 6
    assert len(run(core, day_two, QUOTA_PLAN)) == 3


def test_quota_applies_only_to_the_moderator_kinds_of_the_plan() -> None:
    tasks = run(a_core(), decisions(5, moderator_kind="machine"), QUOTA_PLAN)
    assert tasks == []
    both = {
        "base_rate": 0.0,
        "quota": {"min_per_moderator_per_day": 2, "moderator_kinds": ["machine"]},
    }
    assert len(run(a_core(), decisions(5, moderator_kind="machine"), both)) == 2


def test_a_late_decision_of_an_earlier_day_gets_no_top_up() -> None:
    core = a_core()
    run(core, decisions(1, day=NOW + dt.timedelta(days=1)), QUOTA_PLAN)
    assert run(core, decisions(3, moderator="mod-1", day=NOW), QUOTA_PLAN) == []


def test_the_same_decision_twice_gives_one_task_even_across_batches() -> None:
    core = a_core()
    items = decisions(30)
    first = run(core, items, {"base_rate": 0.5, "salt": "d"})
    again = run(core, items[:15] + items, {"base_rate": 0.5, "salt": "d"})
    assert first and again == []
    outcome = core.sample(items, a_schedule(a_revision({"base_rate": 0.5, "salt": "d"})), now=NOW)
    assert outcome.duplicates == len(first)


def test_a_repeat_within_one_batch_gives_one_task() -> None:
    item = decisions(1)[0]
    assert len(run(a_core(), [item, item, item], {"base_rate": 1.0})) == 1


def test_calibration_flags_a_share_of_tasks_for_several_reviews() -> None:
    document = {"base_rate": 1.0, "salt": "c", "calibration": {"share": 0.2, "reviews": 3}}
    tasks = run(a_core(), decisions(2000), document)
    flagged = [t for t in tasks if TaskReason.CALIBRATION in t.reasons]
    assert 300 < len(flagged) < 500
    assert all(t.required_reviews == 3 for t in flagged)
    assert all(t.required_reviews == 1 for t in tasks if t not in flagged)


def test_blind_share_marks_tasks_blind() -> None:
    tasks = run(a_core(), decisions(1000), {"base_rate": 1.0, "blind_share": 0.5})
    assert 400 < sum(t.blind for t in tasks) < 600


def test_a_rewound_batch_is_sampled_again_exactly_as_the_first_time() -> None:
    document = {**QUOTA_PLAN, "base_rate": 0.1, "salt": "r"}
    schedule = a_schedule(a_revision(document))
    items = decisions(20) + decisions(20, moderator="mod-2")
    core = a_core()
    first = core.sample(items, schedule, now=NOW)
    core.rewind()
    second = core.sample(items, schedule, now=NOW)
    assert keyed(first.tasks) == keyed(second.tasks) and first.changes == second.changes
    core.commit()
    assert core.sample(items, schedule, now=NOW).tasks == []


def test_a_failing_call_stages_nothing() -> None:
    schedule = a_schedule(a_revision(QUOTA_PLAN), horizon=NOW + dt.timedelta(hours=1))
    core = a_core()
    good = decisions(3)
    late = decisions(1, moderator="mod-2", day=NOW + dt.timedelta(hours=2))
    future = [seen(late[0][1], at=NOW + dt.timedelta(hours=3))]
    with pytest.raises(ScheduleBehind):
        core.sample(good + future, schedule, now=NOW)
    core.commit()
    assert core.moderator(0, "mod-1") is None
    assert len(core.sample(good, schedule, now=NOW).tasks) == 3


def test_a_decision_dated_in_the_future_counts_from_its_arrival() -> None:
    schedule = a_schedule(a_revision({"base_rate": 1.0}), horizon=NOW + dt.timedelta(hours=1))
    future = a_record(decided_at=NOW + dt.timedelta(days=30))
    outcome = a_core().sample([seen(future, at=NOW)], schedule, now=NOW)
    assert len(outcome.tasks) == 1


def test_state_changes_replayed_into_a_new_core_continue_identically() -> None:
    """A restart restores the changelog: the rest of the stream gives the same tasks."""
    document = {**QUOTA_PLAN, "base_rate": 0.05, "salt": "x"}
    stream = [
        item
        for day in range(3)
        for moderator in ("mod-1", "mod-2", "mod-3")
        for item in decisions(15, moderator=moderator, day=NOW + dt.timedelta(days=day))
    ]
    whole = a_core()
    expected = run(whole, stream, document)

    crashed = a_core()
    changelog: dict[str, ChangeValue] = {}
    tasks = []
    for chunk in (stream[:50], stream[50:]):
        outcome = crashed.sample(chunk, a_schedule(a_revision(document)), now=NOW)
        crashed.commit()
        tasks += outcome.tasks
        changelog.update({c.key: c.value for c in outcome.changes})
        restored = SamplerCore(dedupe_days=2)
        restored.load(0, changelog)
        crashed = restored
    assert keyed(tasks) == keyed(expected)


def test_old_moderator_entries_are_dropped_when_the_day_moves_on() -> None:
    core = a_core(dedupe_days=2)
    run(core, decisions(1, moderator="old"), {"base_rate": 1.0})
    outcome = core.sample(
        decisions(1, moderator="new", day=NOW + dt.timedelta(days=3)),
        a_schedule(a_revision({"base_rate": 1.0})),
        now=NOW,
    )
    core.commit()
    assert any(c.key == "m/old" and c.value is None for c in outcome.changes)
    assert any(c.key.startswith("t/old-") and c.value is None for c in outcome.changes)
    assert any(c.key == WATERMARK for c in outcome.changes)
    assert core.moderator(0, "old") is None and core.size() == 1
    assert core.remembered() == 1


def test_sampling_needs_the_partition_state_loaded() -> None:
    with pytest.raises(KeyError):
        a_core(0).sample([seen(a_record(), partition=3)], a_schedule(a_revision()), now=NOW)


def test_traffic_is_counted_only_for_committed_batches() -> None:
    core = a_core()
    schedule = a_schedule(a_revision({"base_rate": 0.1}))
    core.sample(decisions(10), schedule, now=NOW)
    core.rewind()
    core.sample(decisions(10), schedule, now=NOW)
    core.commit()
    (day,) = core.traffic.take()
    assert day.count == 10 and len(day.sample) == 10


def test_rewinding_a_batch_that_moved_the_day_on_brings_the_expired_state_back() -> None:
    core = a_core(dedupe_days=1)
    run(core, decisions(5, moderator="a"), {"base_rate": 1.0})
    schedule = a_schedule(a_revision({"base_rate": 1.0}))
    core.sample(decisions(2, moderator="b", day=NOW + dt.timedelta(days=3)), schedule, now=NOW)
    assert core.remembered() == 2 and core.moderator(0, "a") is None
    core.rewind()
    assert core.remembered() == 5 and core.moderator(0, "a") == (NOW.toordinal(), 5)
    assert all(core.remembers(0, f"a-{NOW.date()}-{i}") for i in range(5))


def test_the_latest_call_can_be_discarded_when_its_outputs_cannot_be_used() -> None:
    core = a_core()
    schedule = a_schedule(a_revision({"base_rate": 1.0}))
    kept = core.sample(decisions(2), schedule, now=NOW)
    dropped = core.sample(decisions(3, moderator="mod-2"), schedule, now=NOW)
    with pytest.raises(ValueError, match="latest"):
        core.discard(kept)
    core.discard(dropped)
    core.commit()
    assert core.moderator(0, "mod-2") is None and core.remembered() == 2
    assert len(core.sample(decisions(3, moderator="mod-2"), schedule, now=NOW).tasks) == 3


def test_the_fast_task_id_is_the_shared_task_id() -> None:
    from services.sampler.domain.core import task_id as fast_task_id

    for decision_id in ["d-1", "demo-7-0000000001", "é/ü:@+=", "x" * 128]:
        assert fast_task_id(decision_id) == task_id(decision_id, "audit")


def test_the_quick_rejection_selects_exactly_what_assessing_every_decision_selects() -> None:
    """Most draws are rejected against the cell's ceiling without an exact probability: the
    tasks must be those (and only those) whose draw is under the assessed probability."""
    t = NOW.timestamp()
    document: dict[str, Any] = {
        "salt": "q",
        "base_rate": 0.02,
        "floor": 0.001,
        "strata": ["market"],
        "rates": [{"match": {"market": ["US"]}, "rate": 0.08}],
        "risk": {
            "severity": {"critical": 0.5},
            "low_confidence": {"below": 0.6, "rate": 0.3},
            "new_moderators": {"days": 30, "rate": 0.2},
            "policy_changes": {"days": 60, "rate": 0.1},
            "targeted": [{"moderator_id": "mod-3", "until": "2030-01-01T00:00:00Z", "rate": 0.7}],
        },
    }
    targeting = [
        TargetingEntry(
            rule_id="r1",
            effective_from=t - 3600,
            updated_at=t - 3600,
            moderator_id="mod-5",
            market=None,
            policy_id=None,
            rate=0.9,
            active=True,
            expires_at=t + 3600,
        )
    ]
    schedule = a_schedule(a_revision(document), targeting=targeting)
    items = [
        seen(
            a_record(
                decision_id=f"quick-{i}",
                moderator_id=f"mod-{i % 7}",
                moderator_kind="machine" if i % 3 == 0 else "human",
                confidence=(i % 10) / 10 if i % 3 == 0 else None,
                moderator_started_at=dt.date(2026, 11, 1) if i % 4 == 0 else None,
                market=["KR", "US", "DE"][i % 3],
                language=["ko", "en", "de"][i % 3],
                policy_id="child_safety" if i % 11 == 0 else "hate_speech" if i % 5 else "spam",
                policy_version=2 if i % 11 and i % 5 else 1,
                decided_at=NOW + dt.timedelta(seconds=i),
            )
        )
        for i in range(4000)
    ]
    tasks = a_core().sample(items, schedule, now=NOW).tasks
    selector = schedule.at(t)
    expected = []
    for _, decision, _ in items:
        assessed = selector.assess(decision, decision.decided_at.timestamp())
        if draw(decision.decision_id, "q") < assessed.probability:
            expected.append((task_id(decision.decision_id, "audit"), *assessed[:2]))
    assert [(t.task_id, t.probability, t.reasons[0]) for t in tasks] == expected
    assert {reason for _, _, reason in expected} == {
        TaskReason.UNIFORM,
        TaskReason.RISK,
        TaskReason.TARGETED,
    }
