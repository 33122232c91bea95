"""The sampler's stream processing, pure: decisions in, task drafts and state changes out.

State that influences selection lives per input partition (decisions are keyed by moderator,
so a moderator's decisions, and a repeated decision, stay in one partition):
- per moderator: the day of their latest task and the tasks on that day (quota top-ups);
- per decision that became a task: its day, for `dedupe_days` days (one task per decision id);
- the partition's watermark, the latest day a decision was seen on; when it moves on,
  entries older than the dedupe window are dropped, so the state stays bounded.

Every change is returned as a `StateChange` for the caller to write to the changelog in the
same Kafka transaction as the tasks and offsets (`m/<moderator>`, `t/<decision id>`,
`#watermark`; None is a tombstone). Changes are applied at once and logged: `commit()` once
the transaction is committed forgets the log, `rewind()` undoes everything since the last
commit (the runtime will retry the batch), and `discard(outcome)` undoes the latest call.
One call to `sample` is atomic: if it raises, it has changed nothing.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from services.sampler.domain.selection import Cell, DecisionLike, Schedule, Selector, draw
from services.sampler.domain.traffic import SAMPLE_SIZE, Sampled, TrafficDelta, bottom_k
from shared.events import TaskReason

AUDIT_PURPOSE = "audit"
_ID_NAMESPACE = uuid.UUID("6d6f6471-612d-4d6f-a451-000000000001").bytes
"""`shared.ids`' namespace: `task_id` below equals `shared.ids.task_id` (a unit test checks)."""
_TASK_NAME = _ID_NAMESPACE + b"task\x1f"
_AUDIT_SUFFIX = f"\x1f{AUDIT_PURPOSE}".encode()
_sha1 = hashlib.sha1


def task_id(decision_id: str) -> str:
    """`shared.ids.task_id(decision_id, "audit")`, computed without building a UUID object."""
    digest = bytearray(_sha1(_TASK_NAME + decision_id.encode() + _AUDIT_SUFFIX).digest()[:16])
    digest[6] = (digest[6] & 0x0F) | 0x50
    digest[8] = (digest[8] & 0x3F) | 0x80
    h = digest.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


WATERMARK = "#watermark"
"""Changelog key of a partition's watermark (no moderator or decision key starts with '#')."""
MODERATOR = "m/"
TASK = "t/"
_EPOCH_ORDINAL = dt.date(1970, 1, 1).toordinal()
_INVERSE = 2.0**-64

Seen = tuple[int, DecisionLike, int]
"""A consumed decision: (partition, decision, the record's timestamp in milliseconds)."""
Counters = tuple[int, int]
"""A moderator's (day of their latest task, tasks that day)."""
ChangeValue = Counters | int | None


class ScheduleBehind(TimeoutError):
    """A decision is newer than the plan schedule is known to be complete for; retry later."""


@dataclass(frozen=True, slots=True)
class StateChange:
    """One changelog record: `m/<id>` counters, `t/<id>` a task's day, `#watermark` a day;
    None removes the key."""

    partition: int
    key: str
    value: ChangeValue


@dataclass(slots=True)
class PartitionState:
    """The state of one input partition."""

    moderators: dict[str, Counters] = field(default_factory=dict)
    seen: dict[str, int] = field(default_factory=dict)
    """Decision ids that became tasks, to the day (date ordinal) they were decided."""
    by_day: dict[int, list[str]] = field(default_factory=dict)
    watermark: int = 0

    @classmethod
    def from_changelog(cls, entries: Mapping[str, ChangeValue]) -> PartitionState:
        """The state a changelog partition holds (the latest value of each key)."""
        state = cls()
        for key, value in entries.items():
            if value is None:
                continue
            if key == WATERMARK and isinstance(value, int):
                state.watermark = value
            elif key.startswith(MODERATOR) and isinstance(value, tuple):
                state.moderators[key[2:]] = value
            elif key.startswith(TASK) and isinstance(value, int):
                state.seen[key[2:]] = value
                state.by_day.setdefault(value, []).append(key[2:])
        return state


@dataclass(frozen=True, slots=True)
class TaskDraft:
    """Everything a task event carries except its encoding."""

    task_id: str
    decision: DecisionLike
    partition: int
    """The input partition the decision came from."""
    index: int
    """The decision's position in the batch given to `sample`."""
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
    mark: int = 0
    """Position of the undo log when the call started."""
    traffic: TrafficDelta | None = None


class SamplerCore:
    """Per-partition state and the batch sampling function over it."""

    def __init__(self, *, dedupe_days: int = 2, sample_size: int = SAMPLE_SIZE) -> None:
        self.dedupe_days = dedupe_days
        self.sample_size = sample_size
        self._parts: dict[int, PartitionState] = {}
        self._undo: list[tuple[Any, ...]] = []
        self._calls: list[BatchOutcome] = []
        self.traffic = TrafficDelta(sample_size)
        """Committed traffic not yet flushed to the stored summary."""
        self.thresholds: dict[int, float] = {}
        """Per day, draws at or above this cannot enter the stored traffic sample."""

    # -- state lifecycle ---------------------------------------------------------------------

    def partitions(self) -> set[int]:
        """Partitions whose state is loaded."""
        return set(self._parts)

    def load(self, partition: int, entries: Mapping[str, ChangeValue]) -> None:
        """Install a partition's state as restored from its changelog."""
        self._parts[partition] = PartitionState.from_changelog(entries)

    def drop(self, partition: int) -> None:
        """Forget a partition (revoked, or to be restored again)."""
        self._parts.pop(partition, None)
        self._undo = [entry for entry in self._undo if entry[1] != partition]

    def commit(self) -> None:
        """The changes since the last commit are durable: forget how to undo them."""
        self._undo = []
        for outcome in self._calls:
            if outcome.traffic is not None:
                self.traffic.merge(outcome.traffic)
                for day in outcome.traffic.days:
                    self.lower_threshold(day, self.traffic.days[day].threshold(self.sample_size))
        self._calls = []

    def rewind(self) -> None:
        """The batch was not committed and will be retried: undo everything since commit."""
        self._undo_to(0)
        self._calls = []

    def discard(self, outcome: BatchOutcome) -> None:
        """Undo the latest call (its outputs could not be used)."""
        if not self._calls or self._calls[-1] is not outcome:
            raise ValueError("only the latest call can be discarded")
        self._undo_to(outcome.mark)
        self._calls.pop()

    def lower_threshold(self, day: int, threshold: float) -> None:
        """Skip draws at or above `threshold` for that day's sample from now on."""
        if threshold < self.thresholds.get(day, 1.0):
            self.thresholds[day] = threshold

    def moderator(self, partition: int, moderator_id: str) -> Counters | None:
        """A moderator's counters (for inspection and tests)."""
        return self._parts[partition].moderators.get(moderator_id)

    def remembers(self, partition: int, decision_id: str) -> bool:
        """True while a decision id that became a task is remembered."""
        return decision_id in self._parts[partition].seen

    def size(self) -> int:
        """Moderator entries held, over all partitions."""
        return sum(len(p.moderators) for p in self._parts.values())

    def remembered(self) -> int:
        """Task decision ids held, over all partitions."""
        return sum(len(p.seen) for p in self._parts.values())

    # -- sampling ----------------------------------------------------------------------------

    def sample(
        self, items: Sequence[Seen], schedule: Schedule, *, now: dt.datetime
    ) -> BatchOutcome:
        """Sample a batch in order and apply its state changes; atomic (undone if it raises)."""
        out = BatchOutcome(mark=len(self._undo))
        changes: dict[tuple[int, str], ChangeValue] = {}
        try:
            self._sample(items, schedule, now, out, changes)
        except BaseException:
            self._undo_to(out.mark)
            raise
        out.changes = [StateChange(p, key, value) for (p, key), value in changes.items()]
        self._calls.append(out)
        return out

    def _sample(
        self,
        items: Sequence[Seen],
        schedule: Schedule,
        now: dt.datetime,
        out: BatchOutcome,
        changes: dict[tuple[int, str], ChangeValue],
    ) -> None:
        parts = self._parts
        undo = self._undo
        horizon = schedule.horizon
        thresholds = self.thresholds
        hours: dict[int, int] = {}
        candidates: dict[int, list[Sampled]] = {}
        tasks = out.tasks
        task_days: list[int] = []
        last_start = schedule.last_start
        last = schedule.at(last_start)  # the default plan's selector when there is no revision
        blake2b, from_bytes = hashlib.blake2b, int.from_bytes
        hour, hour_count, iday, threshold = -1, 0, 0, 1.0
        partition_of_state, state = -1, PartitionState()
        selector = last
        cells, cell_key, prefix, targets = last.cells, last.cell_key, last.prefix, last.targets
        probability, reason = 0.0, TaskReason.UNIFORM
        for index, (partition, decision, timestamp_ms) in enumerate(items):
            decided = decision.decided_at.timestamp()
            instant = timestamp_ms / 1000.0
            if decided < instant:
                instant = decided
            if instant > horizon:
                raise ScheduleBehind(
                    f"decision {decision.decision_id} is seen at {instant:.0f}, after the plan "
                    f"schedule's horizon {horizon:.0f}; waiting for the next reload"
                )
            in_force = last if instant >= last_start else schedule.at(instant)
            if in_force is not selector:
                selector = in_force
                cells, cell_key = selector.cells, selector.cell_key
                prefix, targets = selector.prefix, selector.targets
            cell = cells.get(cell_key(decision))
            if cell is None:
                cell = selector.cell(decision)
            decision_id = decision.decision_id
            digest = blake2b(prefix + decision_id.encode(), digest_size=8).digest()
            x = from_bytes(digest, "big") * _INVERSE
            if instant // 3600 != hour:  # batches mostly stay within one hour: count in runs
                if hour_count:
                    hours[hour] = hours.get(hour, 0) + hour_count
                hour, hour_count = int(instant // 3600), 0
                iday = _EPOCH_ORDINAL + hour // 24
                threshold = thresholds.get(iday, 1.0)
            hour_count += 1
            if x < threshold:
                candidates.setdefault(iday, []).append(Sampled.of(decision, x))
            if partition != partition_of_state:
                state, partition_of_state = parts[partition], partition
            if iday > state.watermark:
                self._advance(partition, state, iday, changes)
            # Most decisions are not selected: a draw above every design probability of the cell
            # (and above the targeted rate, if any) needs no exact probability.
            if x >= cell.ceiling and (not targets or x >= selector.targeted(decision, instant)):
                if not cell.quota:
                    continue
                selected = False
            else:
                probability, reason, cell = selector.assess(decision, instant)
                selected = x < probability
                if not selected and not cell.quota:
                    continue
            if decision_id in state.seen:
                out.duplicates += 1
                continue
            moderator_id = decision.moderator_id
            counters = state.moderators.get(moderator_id)
            day = decision.decided_at.toordinal()
            plan = selector.plan
            design: float | None = probability
            if not selected:
                quota = plan.quota
                if quota is None or (counters is not None and day < counters[0]):
                    continue
                today = counters[1] if counters is not None and counters[0] == day else 0
                if today >= quota.min_per_moderator_per_day:
                    continue
                reason, design = TaskReason.QUOTA, None
            if counters is None or day > counters[0]:
                updated = (day, 1)
            elif day == counters[0]:
                updated = (day, counters[1] + 1)
            else:  # a late decision: its task does not count for the moderator's current day
                updated = counters
            if updated is not counters:
                undo.append(("m", partition, moderator_id, counters))
                state.moderators[moderator_id] = updated
                changes[(partition, MODERATOR + moderator_id)] = updated
            undo.append(("t", partition, decision_id, day))
            state.seen[decision_id] = day
            state.by_day.setdefault(day, []).append(decision_id)
            changes[(partition, TASK + decision_id)] = day
            tasks.append(
                self._draft(selector, decision, partition, index, cell, reason, design, now)
            )
            task_days.append(iday)
        if hour_count:
            hours[hour] = hours.get(hour, 0) + hour_count
        out.decisions = len(items)
        out.traffic = self._traffic(hours, candidates, tasks, task_days)

    def _draft(
        self,
        selector: Selector,
        decision: DecisionLike,
        partition: int,
        index: int,
        cell: Cell,
        reason: TaskReason,
        probability: float | None,
        now: dt.datetime,
    ) -> TaskDraft:
        plan = selector.plan
        salt = selector.salt
        reasons: tuple[TaskReason, ...] = (reason,)
        reviews = 1
        calibration = plan.calibration
        if (
            calibration is not None
            and calibration.share > 0
            and draw(decision.decision_id, salt + "/calibration") < calibration.share
        ):
            reviews = calibration.reviews
            reasons = (reason, TaskReason.CALIBRATION)
        blind = plan.blind_share > 0 and (
            draw(decision.decision_id, salt + "/blind") < plan.blind_share
        )
        revision = selector.revision
        return TaskDraft(
            task_id=task_id(decision.decision_id),
            decision=decision,
            partition=partition,
            index=index,
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

    def _advance(
        self,
        partition: int,
        state: PartitionState,
        watermark: int,
        changes: dict[tuple[int, str], ChangeValue],
    ) -> None:
        """A new latest day: drop task ids and moderators older than the dedupe window."""
        self._undo.append(("w", partition, None, state.watermark))
        state.watermark = watermark
        changes[(partition, WATERMARK)] = watermark
        oldest = watermark - self.dedupe_days
        for day in [d for d in state.by_day if d < oldest]:
            ids = state.by_day.pop(day)
            self._undo.append(("x", partition, day, ids))
            for decision_id in ids:
                del state.seen[decision_id]
                changes[(partition, TASK + decision_id)] = None
        for moderator_id, counters in list(state.moderators.items()):
            if counters[0] < oldest:
                self._undo.append(("m", partition, moderator_id, counters))
                del state.moderators[moderator_id]
                changes[(partition, MODERATOR + moderator_id)] = None

    def _undo_to(self, mark: int) -> None:
        undo = self._undo
        while len(undo) > mark:
            kind, partition, key, old = undo.pop()
            state = self._parts.get(partition)
            if state is None:
                continue
            if kind == "m":
                if old is None:
                    state.moderators.pop(key, None)
                else:
                    state.moderators[key] = old
            elif kind == "t":
                del state.seen[key]
                ids = state.by_day[old]
                ids.pop()
                if not ids:
                    del state.by_day[old]
            elif kind == "w":
                state.watermark = old
            elif kind == "x":
                state.by_day[key] = old
                for decision_id in old:
                    state.seen[decision_id] = key

    def _traffic(
        self,
        hours: dict[int, int],
        candidates: dict[int, list[Sampled]],
        tasks: list[TaskDraft],
        task_days: list[int],
    ) -> TrafficDelta:
        traffic = TrafficDelta(self.sample_size)
        for hour, count in hours.items():
            day = traffic.day(_EPOCH_ORDINAL + hour // 24)
            day.count += count
            day.hourly[hour % 24] += count
        for iday, day in traffic.days.items():
            limit = self.thresholds.get(iday, 1.0)
            day.sample = bottom_k(candidates.get(iday, ()), self.sample_size, below=limit)
            day.complete_below = limit
        for task, iday in zip(tasks, task_days, strict=True):
            counts = traffic.day(iday).tasks.setdefault(task.pool, {})
            reason = task.reasons[0].value
            counts[reason] = counts.get(reason, 0) + 1
        return traffic
