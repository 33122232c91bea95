"""The decision consumer's edges with in-memory fakes: outputs, and what a rewind re-reads."""

from __future__ import annotations

import datetime as dt
import json
import logging
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from services.sampler.consumers import DecisionConsumer
from services.sampler.domain.core import ScheduleBehind
from services.sampler.domain.selection import TargetingEntry, draw
from services.sampler.wire import decode_batch, decode_decision, decode_record
from shared.clock import ManualClock
from shared.events import encode
from shared.ids import task_id
from shared.kafka.consumer import Outgoing
from shared.observability.tracing import TRACEPARENT, trace_id_of, traceparent_of
from shared.topics import Topics
from tests.support.builders import NOW, a_decision
from tests.support.sampling import a_core, a_record, a_revision, a_schedule


@dataclass
class FakeRecord:
    partition: int
    timestamp: int
    headers: tuple[tuple[str, bytes], ...] = ()
    value: bytes | None = None


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


def items(n: int, partition: int = 1) -> tuple[list[Any], list[Any]]:
    """(records, decisions) as the runtime hands a batch to the batch process."""
    stamp = int(NOW.timestamp() * 1000)
    records = [FakeRecord(partition, stamp) for _ in range(n)]
    return records, [a_record(decision_id=f"c-{i}") for i in range(n)]


async def test_tasks_go_to_their_decisions_partition_and_state_to_the_changelog() -> None:
    decisions, _ = consumer(NOW + dt.timedelta(hours=1))
    outputs = await decisions.process(*items(3))
    tasks = [o for o in outputs if o.topic == "p.audit.tasks"]
    state = [o for o in outputs if o.topic == "p.modqa.sampler.state"]
    assert len(tasks) == 3 and {o.partition for o in tasks} == {1}
    assert {o.partition for o in state} == {1}
    assert {o.key for o in state} >= {b"t/c-0", b"m/mod-1", b"#watermark"}


async def test_a_rewind_before_outputs_were_handed_over_does_not_reread_the_state() -> None:
    decisions, restorer = consumer(NOW - dt.timedelta(hours=1))
    with pytest.raises(ScheduleBehind):
        await decisions.process(*items(2))
    decisions.rewound()
    assert restorer.rereads == [False]


async def test_a_rewind_after_outputs_were_handed_over_rereads_the_state() -> None:
    decisions, restorer = consumer(NOW + dt.timedelta(hours=1))
    await decisions.process(*items(2))
    decisions.rewound()
    assert restorer.rereads == [True]
    await decisions.process(*items(2))
    decisions.committed()
    decisions.rewound()
    assert restorer.rereads == [True, False]


# -- the batch path against the record-by-record path -------------------------------------------

T = NOW.timestamp()
EQUIVALENCE_PLAN: dict[str, Any] = {
    "salt": "eq",
    "base_rate": 0.03,
    "floor": 0.002,
    "strata": ["market", "moderator_kind"],
    "rates": [{"match": {"market": ["US"]}, "rate": 0.12}],
    "risk": {
        "severity": {"critical": 0.5},
        "low_confidence": {"below": 0.6, "rate": 0.3},
        "new_moderators": {"days": 30, "rate": 0.2},
        "policy_changes": {"days": 60, "rate": 0.1},
        "targeted": [{"moderator_id": "mod-3", "until": "2030-01-01T00:00:00Z", "rate": 0.7}],
    },
    "quota": {"min_per_moderator_per_day": 2},
    "calibration": {"share": 0.2, "reviews": 2},
    "blind_share": 0.3,
}
TARGETING = [
    TargetingEntry(
        rule_id="r1",
        effective_from=T - 3600,
        updated_at=T - 3600,
        moderator_id="mod-5",
        market=None,
        policy_id=None,
        rate=0.9,
        active=True,
        expires_at=T + 6 * 3600,
    )
]
PARENT = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"

a_raw_decision = st.builds(
    lambda moderator, kind, confidence, started, market, policy, seconds, traced: (
        lambda n: (
            encode(
                a_decision(
                    decision_id=f"eq-{n}",
                    moderator_id=f"mod-{moderator}",
                    moderator_kind=kind,
                    confidence=confidence if kind == "machine" else None,
                    moderator_started_at=started,
                    market=market,
                    policy_id=policy[0],
                    policy_version=policy[1],
                    decided_at=NOW + dt.timedelta(seconds=seconds),
                )
            ),
            traced,
        )
    ),
    st.integers(0, 7),
    st.sampled_from(["human", "machine"]),
    st.floats(0, 1),
    st.sampled_from([None, dt.date(2026, 11, 1), dt.date(2024, 1, 1)]),
    st.sampled_from(["KR", "US", "DE"]),
    st.sampled_from([("spam", 1), ("child_safety", 2), ("hate_speech", 2), ("hate_speech", 1)]),
    st.integers(-3 * 86400, 6 * 3600),  # over several days: watermarks move, quotas reset
    st.booleans(),
)


def equivalence_consumer() -> DecisionConsumer:
    core = a_core(0, 1, 2)
    schedule = a_schedule(a_revision(EQUIVALENCE_PLAN), targeting=TARGETING)
    return DecisionConsumer(
        core=core,
        keeper=FakeKeeper(schedule),  # type: ignore[arg-type]
        restorer=FakeRestorer(core=core),  # type: ignore[arg-type]
        topics=Topics("p."),
        clock=ManualClock(NOW),
        task_partitions=6,
    )


def consumed(raws: list[tuple[bytes, bool]]) -> list[FakeRecord]:
    """Records as fetched: keyed by moderator (so a repeated id stays in its partition)."""
    records = []
    for raw, traced in raws:
        decision = decode_decision(raw)
        partition = int(decision.moderator_id.split("-")[1]) % 3
        stamp = int((decision.decided_at + dt.timedelta(minutes=1)).timestamp() * 1000)
        headers = ((TRACEPARENT, PARENT.encode()),) if traced else ()
        records.append(FakeRecord(partition, stamp, headers, raw))
    return records


def trace_of(output: Outgoing) -> str | None:
    """The decision's trace id if the task continues it, `new` for a fresh valid trace."""
    trace = trace_id_of(traceparent_of(output.headers))
    if trace is None or trace == trace_id_of(PARENT):
        return trace
    return "new" if len(trace) == 32 and int(trace, 16) else trace


def described(outputs: Sequence[Outgoing]) -> list[tuple[Any, ...]]:
    """Tasks with everything but their span id (a new one per task) and fresh trace ids."""
    return [
        (o.key, o.value, o.partition, trace_of(o)) for o in outputs if o.topic == "p.audit.tasks"
    ]


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(a_raw_decision, min_size=1, max_size=300),
    st.lists(st.integers(0, 299), max_size=30),
    st.integers(1, 300),
)
async def test_the_batch_path_emits_the_tasks_and_state_of_the_record_by_record_path(
    made: list[Any], repeated: list[int], batch_size: int
) -> None:
    """Batches decoded together, sampled with the quick rejection, give exactly the tasks (the
    same decisions, probabilities, reasons, records) and the same changelog state as decoding
    and sampling each record on its own; every design probability is the one `assess` gives."""
    raws: list[tuple[bytes, bool]] = [make(n) for n, make in enumerate(made)]
    raws += [raws[n % len(raws)] for n in repeated]  # repeated decisions: one task each
    records = consumed(raws)
    fast, slow = equivalence_consumer(), equivalence_consumer()
    fast_outputs: list[Outgoing] = []
    for start in range(0, len(records), batch_size):
        batch = records[start : start + batch_size]
        decoded = decode_batch(batch)  # type: ignore[arg-type]
        assert not decoded.refused and decoded.records == batch
        fast_outputs += await fast.process(decoded.records, decoded.events)
        fast.committed()
    slow_outputs: list[Outgoing] = []
    for record in records:
        decision = decode_record(record)  # type: ignore[arg-type]
        slow_outputs += await slow.process([record], [decision])  # type: ignore[list-item]
        slow.committed()

    assert described(fast_outputs) == described(slow_outputs)

    def state(outputs: list[Outgoing]) -> dict[tuple[int | None, bytes | None], bytes | None]:
        return {(o.partition, o.key): o.value for o in outputs if o.topic.endswith("state")}

    assert state(fast_outputs) == state(slow_outputs)

    selector = FakeKeeper(a_schedule(a_revision(EQUIVALENCE_PLAN), targeting=TARGETING)).schedule
    tasks = {o.key: json.loads(o.value) for o in fast_outputs if o.topic == "p.audit.tasks"}
    first: dict[str, Any] = {}
    for record in records:
        decision = decode_record(record)  # type: ignore[arg-type]
        first.setdefault(decision.decision_id, decision)
    for decision_id, decision in first.items():
        instant = decision.decided_at.timestamp()
        assessed = selector.at(instant).assess(decision, instant)
        task = tasks.get(task_id(decision_id, "audit").encode())
        if draw(decision_id, "eq") < assessed.probability:
            assert task is not None, decision_id
            assert task["inclusion_probability"] == assessed.probability
            assert task["reasons"][0] == assessed.reason.value
        else:
            assert task is None or (
                task["reasons"][0] == "quota" and task["inclusion_probability"] is None
            )
    traced = {
        task_id(decode_decision(raw).decision_id, "audit").encode()
        for raw, with_parent in raws
        if with_parent
    }
    for key, _, _, trace in described(fast_outputs):
        assert trace == (trace_id_of(PARENT) if key in traced else "new")


async def test_each_task_continues_its_decisions_trace_and_is_logged_once_committed(
    caplog: pytest.LogCaptureFixture,
) -> None:
    decisions, _ = consumer(NOW + dt.timedelta(hours=1))
    records, events = items(2)
    records[0].headers = ((TRACEPARENT, PARENT.encode()), ("other", b"kept"))
    caplog.set_level(logging.INFO, logger="services.sampler.consumers")
    outputs = await decisions.process(records, events)
    tasks = [o for o in outputs if o.topic == "p.audit.tasks"]
    assert not [r for r in caplog.records if r.getMessage() == "task emitted"]
    decisions.committed()

    first, second = (traceparent_of(task.headers) for task in tasks)
    assert first is not None and second is not None
    assert trace_id_of(first) == trace_id_of(PARENT) and first != PARENT  # a child span
    assert ("other", b"kept") in tasks[0].headers
    assert trace_id_of(second) not in (None, trace_id_of(PARENT))  # a trace of its own
    logged = [r for r in caplog.records if r.getMessage() == "task emitted"]
    assert [(r.decision_id, r.task_id, r.trace_id) for r in logged] == [  # type: ignore[attr-defined]
        ("c-0", task_id("c-0", "audit"), trace_id_of(first)),
        ("c-1", task_id("c-1", "audit"), trace_id_of(second)),
    ]
