"""The sampler's stream processing, pure: decisions in, task drafts and state changes out.

State that influences selection lives per input partition (decisions are keyed by moderator,
so a moderator's decisions, and a repeated decision, stay in one partition):
- per moderator: the day of their latest task, the tasks on that day (for quota top-ups), and
  the ids of decisions that became tasks in the last `dedupe_days` days (one task per id);
- per partition: the watermark, the latest day seen, after which older moderator entries are
  dropped (a tombstone) so the state stays bounded.

Every change is returned as a `StateChange` for the caller to write to the changelog in the
same Kafka transaction as the tasks and offsets. Changes are staged: `commit()` once the
transaction is committed, `rewind()` when the batch will be retried, so a retried batch sees
exactly the state the committed offsets correspond to. One call to `sample` is atomic: if it
raises, nothing of it is staged.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field

from services.sampler.domain.selection import DecisionLike, Schedule, draw
from services.sampler.domain.traffic import SAMPLE_SIZE, Sampled, TrafficDelta, bottom_k
from shared.events import TaskReason
from shared.ids import task_id

AUDIT_PURPOSE = "audit"
WATERMARK = "#watermark"
"""Changelog key of a partition's watermark (not a valid moderator id: ids have no '#')."""
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()


class ScheduleBehind(TimeoutError):
    """A decision is newer than the plan schedule is known to be complete for; retry later."""


@dataclass(slots=True)
class ModeratorState:
    """A moderator's counters: their latest task day, tasks that day, recent task decision ids."""

    day: int
    tasks: int
    seen: dict[str, int] = field(default_factory=dict)
    """Decision id to the day (date ordinal) of decisions that became tasks."""


@dataclass(frozen=True, slots=True)
class StateChange:
    """One changelog record: a moderator's new state, a tombstone (None), or a watermark."""

    partition: int
    key: str
    state: ModeratorState | int | None


@dataclass(frozen=True, slots=True)
class Seen:
    """A decision as consumed: its partition and the record's timestamp (milliseconds)."""

    partition: int
    decision: DecisionLike
    timestamp_ms: int


@dataclass(frozen=True, slots=True)
class TaskDraft:
    """Everything a task event carries except its encoding."""

    task_id: str
    decision: DecisionLike
    plan_id: str
    plan_version: int
    stratum: str
    probability: float | None
    reasons: tuple[TaskReason, ...]
    required_reviews: int
    priority: int
    pool: str
    blind: bool
    due_at: dt.datetime
    created_at: dt.datetime


@dataclass
class BatchOutcome:
    """What one call produced: tasks, state changes, and counts for the metrics."""

    tasks: list[TaskDraft] = field(default_factory=list)
    changes: list[StateChange] = field(default_factory=list)
    decisions: int = 0
    duplicates: int = 0
    pools: dict[str, int] = field(default_factory=dict)
    """Decisions seen per pool."""
    staged: bool = False
    _local: dict[int, dict[str, ModeratorState | None]] = field(default_factory=dict, repr=False)
    _watermarks: dict[int, int] = field(default_factory=dict, repr=False)
    _traffic: TrafficDelta | None = field(default=None, repr=False)


_MISSING = ModeratorState(day=-1, tasks=-1)


def instant_of(decision: DecisionLike, timestamp_ms: int) -> float:
    """When a decision counts as seen (epoch seconds): its decision time, or the record's
    timestamp if that is earlier (a decision dated in the future is placed at its arrival)."""
    decided = decision.decided_at.timestamp()
    arrived = timestamp_ms / 1000.0
    return decided if decided < arrived else arrived


class SamplerCore:
    """Per-partition state and the batch sampling function over it."""

    def __init__(self, *, dedupe_days: int = 2, sample_size: int = SAMPLE_SIZE) -> None:
        self.dedupe_days = dedupe_days
        self.sample_size = sample_size
        self._moderators: dict[int, dict[str, ModeratorState]] = {}
        self._watermarks: dict[int, int] = {}
        self._staged: dict[int, dict[str, ModeratorState | None]] = {}
        self._staged_watermarks: dict[int, int] = {}
        self._staged_traffic = TrafficDelta(sample_size)
        self.traffic = TrafficDelta(sample_size)
        """Committed traffic not yet flushed to the stored summary."""
        self.thresholds: dict[int, float] = {}
        """Per day, draws at or above this cannot enter the stored traffic sample."""

    # -- state lifecycle ---------------------------------------------------------------------

    def partitions(self) -> set[int]:
        """Partitions whose state is loaded."""
        return set(self._moderators)

    def load(
        self, partition: int, moderators: Mapping[str, ModeratorState], watermark: int
    ) -> None:
        """Install a partition's state as restored from the changelog."""
        self._moderators[partition] = dict(moderators)
        self._watermarks[partition] = watermark
        self._staged.pop(partition, None)
        self._staged_watermarks.pop(partition, None)

    def drop(self, partition: int) -> None:
        """Forget a partition (revoked, or to be restored again)."""
        self._moderators.pop(partition, None)
        self._watermarks.pop(partition, None)
        self._staged.pop(partition, None)
        self._staged_watermarks.pop(partition, None)

    def commit(self) -> None:
        """The staged changes are durable: make them the state."""
        for partition, staged in self._staged.items():
            base = self._moderators.get(partition)
            if base is None:
                continue
            for key, state in staged.items():
                if state is None:
                    base.pop(key, None)
                else:
                    base[key] = state
        for partition, watermark in self._staged_watermarks.items():
            if partition in self._watermarks:
                self._watermarks[partition] = watermark
        self._staged = {}
        self._staged_watermarks = {}
        self.traffic.merge(self._staged_traffic)
        for day, traffic in self._staged_traffic.days.items():
            self.lower_threshold(day, traffic.threshold(self.sample_size))
        self._staged_traffic = TrafficDelta(self.sample_size)

    def rewind(self) -> None:
        """The batch was not committed and will be retried: drop what it staged."""
        self._staged = {}
        self._staged_watermarks = {}
        self._staged_traffic = TrafficDelta(self.sample_size)

    def lower_threshold(self, day: int, threshold: float) -> None:
        """Skip draws at or above `threshold` for that day's sample from now on."""
        if threshold < self.thresholds.get(day, 1.0):
            self.thresholds[day] = threshold

    def moderator(self, partition: int, moderator_id: str) -> ModeratorState | None:
        """The committed-or-staged state of a moderator (for inspection and tests)."""
        staged = self._staged.get(partition, {})
        if moderator_id in staged:
            return staged[moderator_id]
        return self._moderators.get(partition, {}).get(moderator_id)

    def size(self) -> int:
        """Moderator entries held, over all partitions."""
        return sum(len(m) for m in self._moderators.values())

    # -- sampling ----------------------------------------------------------------------------

    def sample(
        self, items: Sequence[Seen], schedule: Schedule, *, now: dt.datetime, stage: bool = True
    ) -> BatchOutcome:
        """Sample a batch in order; atomic (nothing is staged if it raises). With
        `stage=False` the caller stages the outcome itself once it has used it."""
        out = BatchOutcome()
        local: dict[int, dict[str, ModeratorState | None]] = {}
        local_wm: dict[int, int] = {}
        traffic = TrafficDelta(self.sample_size)
        hours: dict[int, int] = {}
        candidates: dict[int, list[Sampled]] = {}
        pools = out.pools
        horizon = schedule.horizon
        thresholds = self.thresholds
        watermarks: dict[int, int] = {}
        for item in items:
            decision = item.decision
            decided = decision.decided_at.timestamp()
            arrived = item.timestamp_ms / 1000.0
            instant = decided if decided < arrived else arrived
            if instant > horizon:
                raise ScheduleBehind(
                    f"decision {decision.decision_id} is seen at {instant:.0f}, after the plan "
                    f"schedule's horizon {horizon:.0f}; waiting for the next reload"
                )
            selector = schedule.at(instant)
            assessment = selector.assess(decision, instant)
            x = draw(decision.decision_id, selector.salt)
            hour = int(instant // 3600)
            hours[hour] = hours.get(hour, 0) + 1
            iday = _EPOCH_ORDINAL + hour // 24
            if x < thresholds.get(iday, 1.0):
                candidates.setdefault(iday, []).append(Sampled.of(decision, x))
            cell = assessment.cell
            pools[cell.pool] = pools.get(cell.pool, 0) + 1
            partition = item.partition
            watermark = watermarks.get(partition)
            if watermark is None:
                if partition not in self._moderators:
                    raise KeyError(f"partition {partition}: state not loaded")
                watermark = watermarks[partition] = self._watermark(partition, local_wm)
            if iday > watermark:
                watermarks[partition] = iday
                local_wm[partition] = iday
                self._prune(partition, iday, local)
            selected = x < assessment.probability
            if not selected and not cell.quota:
                continue
            state = self._lookup(partition, decision.moderator_id, local)
            if state is not None and decision.decision_id in state.seen:
                out.duplicates += 1
                continue
            day = decision.decided_at.toordinal()
            if selected:
                reason = assessment.reason
                probability: float | None = assessment.probability
            else:
                quota = selector.plan.quota
                if quota is None or (state is not None and day < state.day):
                    continue
                today = state.tasks if state is not None and state.day == day else 0
                if today >= quota.min_per_moderator_per_day:
                    continue
                reason = TaskReason.QUOTA
                probability = None
            local.setdefault(partition, {})[decision.moderator_id] = self._counted(
                state, day, decision
            )
            plan = selector.plan
            reasons: tuple[TaskReason, ...] = (reason,)
            reviews = 1
            calibration = plan.calibration
            if (
                calibration is not None
                and calibration.share > 0
                and draw(decision.decision_id, selector.salt + "/calibration") < calibration.share
            ):
                reviews = calibration.reviews
                reasons = (reason, TaskReason.CALIBRATION)
            blind = plan.blind_share > 0 and (
                draw(decision.decision_id, selector.salt + "/blind") < plan.blind_share
            )
            revision = selector.revision
            out.tasks.append(
                TaskDraft(
                    task_id=task_id(decision.decision_id, AUDIT_PURPOSE),
                    decision=decision,
                    plan_id=revision.plan_id,
                    plan_version=revision.version,
                    stratum=cell.stratum,
                    probability=probability,
                    reasons=reasons,
                    required_reviews=reviews,
                    priority=selector.priority(reason, cell),
                    pool=cell.pool,
                    blind=blind,
                    due_at=decision.decided_at + selector.due_within,
                    created_at=now,
                )
            )
            counts = traffic.day(iday).tasks.setdefault(cell.pool, {})
            counts[reason.value] = counts.get(reason.value, 0) + 1
        out.decisions = len(items)
        self._fold_traffic(traffic, hours, candidates)
        out.changes = list(self._changes(local, local_wm))
        out._local, out._watermarks, out._traffic = local, local_wm, traffic
        if stage:
            self.stage(out)
        return out

    def _counted(
        self, state: ModeratorState | None, day: int, decision: DecisionLike
    ) -> ModeratorState:
        if state is None or day > state.day:
            new_day, tasks = day, 1
        elif day == state.day:
            new_day, tasks = day, state.tasks + 1
        else:  # a late decision: its task does not count for the moderator's current day
            new_day, tasks = state.day, state.tasks
        oldest = new_day - self.dedupe_days
        seen = {} if state is None else {k: v for k, v in state.seen.items() if v >= oldest}
        seen[decision.decision_id] = day
        return ModeratorState(day=new_day, tasks=tasks, seen=seen)

    def _lookup(
        self,
        partition: int,
        moderator_id: str,
        local: dict[int, dict[str, ModeratorState | None]],
    ) -> ModeratorState | None:
        found = local.get(partition, {}).get(moderator_id, _MISSING)
        if found is _MISSING:
            found = self._staged.get(partition, {}).get(moderator_id, _MISSING)
            if found is _MISSING:
                return self._moderators.get(partition, {}).get(moderator_id)
        return found

    def _watermark(self, partition: int, local_wm: dict[int, int]) -> int:
        if partition in local_wm:
            return local_wm[partition]
        if partition in self._staged_watermarks:
            return self._staged_watermarks[partition]
        return self._watermarks.get(partition, 0)

    def _prune(
        self,
        partition: int,
        watermark: int,
        local: dict[int, dict[str, ModeratorState | None]],
    ) -> None:
        """Drop moderators whose latest task is older than the dedupe window (tombstones)."""
        oldest = watermark - self.dedupe_days
        mine = local.setdefault(partition, {})
        for key in self._keys(partition, local):
            state = self._lookup(partition, key, local)
            if state is not None and state.day < oldest:
                mine[key] = None

    def _keys(self, partition: int, local: dict[int, dict[str, ModeratorState | None]]) -> set[str]:
        return (
            set(self._moderators.get(partition, {}))
            | set(self._staged.get(partition, {}))
            | set(local.get(partition, {}))
        )

    def _changes(
        self,
        local: dict[int, dict[str, ModeratorState | None]],
        local_wm: dict[int, int],
    ) -> Iterator[StateChange]:
        for partition, states in local.items():
            for key, state in states.items():
                yield StateChange(partition, key, state)
        for partition, watermark in local_wm.items():
            yield StateChange(partition, WATERMARK, watermark)

    def _fold_traffic(
        self,
        traffic: TrafficDelta,
        hours: dict[int, int],
        candidates: dict[int, list[Sampled]],
    ) -> None:
        for hour, count in hours.items():
            day = traffic.day(_EPOCH_ORDINAL + hour // 24)
            day.count += count
            day.hourly[hour % 24] += count
        for iday, day in traffic.days.items():
            limit = self.thresholds.get(iday, 1.0)
            day.sample = bottom_k(candidates.get(iday, ()), self.sample_size, below=limit)
            day.complete_below = limit

    def stage(self, outcome: BatchOutcome) -> None:
        """Stage what a call to `sample` changed (once) until `commit` or `rewind`."""
        if outcome.staged or outcome._traffic is None:
            raise ValueError("an outcome is staged exactly once")
        for partition, states in outcome._local.items():
            self._staged.setdefault(partition, {}).update(states)
        self._staged_watermarks.update(outcome._watermarks)
        self._staged_traffic.merge(outcome._traffic)
        outcome.staged = True
