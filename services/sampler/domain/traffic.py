"""A bounded summary of recent traffic: per day, the volume, its hourly profile, the tasks
emitted per pool, and a uniform sample of the decisions' sampling-relevant fields.

The sample is a bottom-k sketch: the k decisions with the smallest selection draws. Draws are
uniform and independent of a decision's fields, so the sketch is a uniform random sample,
and the sketches of two partitions merge into the sketch of both (keep the k smallest).
Planning (budgets, allocation) and the dry run estimate from it; selection never reads it.
"""

from __future__ import annotations

import datetime as dt
from bisect import bisect_left
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from services.sampler.domain.selection import DecisionLike

SAMPLE_SIZE = 4000
HOURS = 24


@dataclass(frozen=True, slots=True)
class Sampled:
    """The fields of one decision that sampling reads, kept in the traffic sample."""

    decision_id: str
    queue: str
    market: str
    language: str
    policy_id: str
    policy_version: int
    content_type: str
    moderator_id: str
    moderator_kind: str
    moderator_team: str
    confidence: float | None
    moderator_started_at: dt.date | None
    decided_at: dt.datetime
    draw: float

    @classmethod
    def of(cls, decision: DecisionLike, draw: float) -> Sampled:
        return cls(
            decision_id=decision.decision_id,
            queue=decision.queue,
            market=decision.market,
            language=decision.language,
            policy_id=decision.policy_id,
            policy_version=decision.policy_version,
            content_type=str(decision.content_type),
            moderator_id=decision.moderator_id,
            moderator_kind=str(decision.moderator_kind),
            moderator_team=decision.moderator_team,
            confidence=decision.confidence,
            moderator_started_at=decision.moderator_started_at,
            decided_at=decision.decided_at,
            draw=draw,
        )

    def to_list(self) -> list[Any]:
        return [
            self.decision_id,
            self.queue,
            self.market,
            self.language,
            self.policy_id,
            self.policy_version,
            self.content_type,
            self.moderator_id,
            self.moderator_kind,
            self.moderator_team,
            self.confidence,
            self.moderator_started_at.toordinal() if self.moderator_started_at else None,
            self.decided_at.timestamp(),
            self.draw,
        ]

    @classmethod
    def from_list(cls, row: list[Any]) -> Sampled:
        started = row[11]
        return cls(
            decision_id=str(row[0]),
            queue=str(row[1]),
            market=str(row[2]),
            language=str(row[3]),
            policy_id=str(row[4]),
            policy_version=int(row[5]),
            content_type=str(row[6]),
            moderator_id=str(row[7]),
            moderator_kind=str(row[8]),
            moderator_team=str(row[9]),
            confidence=None if row[10] is None else float(row[10]),
            moderator_started_at=None if started is None else dt.date.fromordinal(int(started)),
            decided_at=dt.datetime.fromtimestamp(float(row[12]), dt.UTC),
            draw=float(row[13]),
        )


@dataclass
class DayTraffic:
    """What was seen on one day (UTC, by the instant a decision was seen)."""

    day: int
    """Date ordinal."""
    count: int = 0
    hourly: list[int] = field(default_factory=lambda: [0] * HOURS)
    sample: list[Sampled] = field(default_factory=list)
    """At most SAMPLE_SIZE entries, smallest draws, sorted by draw."""
    tasks: dict[str, dict[str, int]] = field(default_factory=dict)
    """Pool to reason to tasks emitted."""
    complete_below: float = 1.0
    """The sample holds every decision of this traffic whose draw is below this (and below
    the k-th draw once full); a collector that skipped larger draws lowers it."""

    def merge(self, other: DayTraffic, *, size: int = SAMPLE_SIZE) -> None:
        """Add another summary of the same day into this one."""
        limit = min(self.threshold(size), other.threshold(size))
        self.count += other.count
        self.hourly = [a + b for a, b in zip(self.hourly, other.hourly, strict=True)]
        if len(other.sample) <= 64:  # the usual case on the hot path: insert the few new ones
            sample = self.sample
            for entry in other.sample:
                at = bisect_left(sample, entry.draw, key=_draw)
                if at < len(sample) and sample[at].decision_id == entry.decision_id:
                    continue
                sample.insert(at, entry)
            del sample[min(size, bisect_left(sample, limit, key=_draw)) :]
        else:
            self.sample = bottom_k([*self.sample, *other.sample], size, below=limit)
        self.complete_below = limit
        for pool, reasons in other.tasks.items():
            mine = self.tasks.setdefault(pool, {})
            for reason, n in reasons.items():
                mine[reason] = mine.get(reason, 0) + n

    def threshold(self, size: int = SAMPLE_SIZE) -> float:
        """The sample is complete below this draw; larger draws cannot enter it any more."""
        kth = self.sample[size - 1].draw if len(self.sample) >= size else 1.0
        return min(kth, self.complete_below)

    def tasks_of(self, pool: str) -> int:
        """Every task emitted for a pool this day (design, targeted and quota)."""
        return sum(self.tasks.get(pool, {}).values())

    def to_json(self) -> dict[str, Any]:
        return {
            "day": dt.date.fromordinal(self.day).isoformat(),
            "count": self.count,
            "hourly": list(self.hourly),
            "sample": [s.to_list() for s in self.sample],
            "tasks": self.tasks,
            "complete_below": self.complete_below,
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> DayTraffic:
        return cls(
            day=dt.date.fromisoformat(str(data["day"])).toordinal(),
            count=int(data["count"]),
            hourly=[int(n) for n in data["hourly"]],
            sample=[Sampled.from_list(list(row)) for row in data["sample"]],
            tasks={
                str(pool): {str(r): int(n) for r, n in reasons.items()}
                for pool, reasons in dict(data["tasks"]).items()
            },
            complete_below=float(data.get("complete_below", 1.0)),
        )


def _draw(entry: Sampled) -> float:
    return entry.draw


def bottom_k(
    entries: Iterable[Sampled], size: int = SAMPLE_SIZE, *, below: float = 1.0
) -> list[Sampled]:
    """The `size` entries with the smallest draws under `below`, one per decision id, sorted.

    Each merged sketch holds every decision of its own traffic under its threshold, so only
    the part under the smallest threshold is a complete (uniform) sample of the union.
    """
    unique = {entry.decision_id: entry for entry in entries if entry.draw < below}
    return sorted(unique.values(), key=lambda e: e.draw)[:size]


class TrafficDelta:
    """Traffic seen since the last flush, per day; merged into the stored summary later."""

    def __init__(self, size: int = SAMPLE_SIZE) -> None:
        self.size = size
        self.days: dict[int, DayTraffic] = {}

    def day(self, day: int) -> DayTraffic:
        found = self.days.get(day)
        if found is None:
            found = self.days[day] = DayTraffic(day=day)
        return found

    def merge(self, other: TrafficDelta) -> None:
        for day, traffic in other.days.items():
            self.day(day).merge(traffic, size=self.size)

    def take(self) -> list[DayTraffic]:
        """The accumulated days, leaving this delta empty."""
        days = list(self.days.values())
        self.days = {}
        return days

    def __bool__(self) -> bool:
        return bool(self.days)


def merge_days(days: Iterable[DayTraffic], *, size: int = SAMPLE_SIZE) -> DayTraffic | None:
    """Several days as one (counts added, samples merged): the window a plan is judged on."""
    chosen = list(days)
    if not chosen:
        return None
    limit = min(traffic.threshold(size) for traffic in chosen)
    merged = DayTraffic(day=min(traffic.day for traffic in chosen))
    for traffic in chosen:
        merged.count += traffic.count
        merged.hourly = [a + b for a, b in zip(merged.hourly, traffic.hourly, strict=True)]
        for pool, reasons in traffic.tasks.items():
            mine = merged.tasks.setdefault(pool, {})
            for reason, n in reasons.items():
                mine[reason] = mine.get(reason, 0) + n
    merged.sample = bottom_k(
        (entry for traffic in chosen for entry in traffic.sample),
        size * len(chosen),
        below=limit,
    )
    return merged
