"""The decision consumer's edges with in-memory fakes: outputs, and what a rewind re-reads."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import Any

import pytest

from services.sampler.consumers import DecisionConsumer
from services.sampler.domain.core import ScheduleBehind
from shared.clock import ManualClock
from shared.kafka.consumer import Incoming
from shared.topics import Topics
from tests.support.builders import NOW
from tests.support.sampling import a_core, a_record, a_revision, a_schedule


@dataclass
class FakeRecord:
    partition: int
    timestamp: int
    headers: tuple[tuple[str, bytes], ...] = ()


@dataclass
class FakeRestorer:
    rereads: list[bool] = field(default_factory=list)
    core: Any = None

    async def ensure(self, partitions: set[int]) -> None:
        return None

    def rewound(self, *, reread: bool = True) -> None:
        self.core.rewind()
        self.rereads.append(reread)

    def committed(self) -> None:
        self.core.commit()


@dataclass
class FakeKeeper:
    schedule: Any


def consumer(horizon: dt.datetime) -> tuple[DecisionConsumer, FakeRestorer]:
    core = a_core(0, 1)
    restorer = FakeRestorer(core=core)
    keeper = FakeKeeper(a_schedule(a_revision({"base_rate": 1.0}), horizon=horizon))
    made = DecisionConsumer(
        core=core,
        keeper=keeper,  # type: ignore[arg-type]
        restorer=restorer,  # type: ignore[arg-type]
        topics=Topics("p."),
        clock=ManualClock(NOW),
        task_partitions=6,
    )
    return made, restorer


def items(n: int, partition: int = 1) -> list[Incoming[Any]]:
    stamp = int(NOW.timestamp() * 1000)
    return [
        Incoming(FakeRecord(partition, stamp), a_record(decision_id=f"c-{i}"))  # type: ignore[arg-type]
        for i in range(n)
    ]


async def test_tasks_go_to_their_decisions_partition_and_state_to_the_changelog() -> None:
    decisions, _ = consumer(NOW + dt.timedelta(hours=1))
    outputs = await decisions.process(items(3))
    tasks = [o for o in outputs if o.topic == "p.audit.tasks"]
    state = [o for o in outputs if o.topic == "p.modqa.sampler.state"]
    assert len(tasks) == 3 and {o.partition for o in tasks} == {1}
    assert {o.partition for o in state} == {1}
    assert {o.key for o in state} >= {b"t/c-0", b"m/mod-1", b"#watermark"}


async def test_a_rewind_before_outputs_were_handed_over_does_not_reread_the_state() -> None:
    decisions, restorer = consumer(NOW - dt.timedelta(hours=1))
    with pytest.raises(ScheduleBehind):
        await decisions.process(items(2))
    decisions.rewound()
    assert restorer.rereads == [False]


async def test_a_rewind_after_outputs_were_handed_over_rereads_the_state() -> None:
    decisions, restorer = consumer(NOW + dt.timedelta(hours=1))
    await decisions.process(items(2))
    decisions.rewound()
    assert restorer.rereads == [True]
    await decisions.process(items(2))
    decisions.committed()
    decisions.rewound()
    assert restorer.rereads == [True, False]
