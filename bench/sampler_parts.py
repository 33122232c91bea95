"""`python -m bench.sampler_parts`: what each stage of the sampler's hot path costs a decision,
in-process and without Kafka, next to two floors: msgspec decoding the same bytes into the same
struct with nothing else, and a loop doing only the selection's hash draw.

It shows where `make bench-sampler`'s CPU time goes; the stages are the production functions
(`decode_record`, `SamplerCore.sample` under the benchmark's plan, the task outputs).
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import time
from types import SimpleNamespace
from typing import Any

import msgspec
import orjson

from bench.sampler import PLAN, _templates
from services.sampler.consumers import DecisionConsumer
from services.sampler.domain.core import SamplerCore
from services.sampler.wire import DecisionRecord, decode_record
from shared.clock import SystemClock
from shared.observability.tracing import kafka_headers, new_traceparent
from shared.topics import Topics
from tests.support.sampling import a_revision, a_schedule


def _records(n: int) -> list[Any]:
    templates = _templates(5000)
    now_ms = int(time.time() * 1000)
    records = []
    for i in range(n):
        document = dict(templates[i % len(templates)])
        document["decision_id"] = f"p-{i:010d}"
        document["content_id"] = f"c-p-{i}"
        records.append(
            SimpleNamespace(
                value=orjson.dumps(document),
                headers=kafka_headers(new_traceparent()),
                partition=i % 6,
                timestamp=now_ms,
                offset=i,
            )
        )
    return records


def _us(started: float, n: int) -> float:
    return (time.process_time() - started) / n * 1e6


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--batch", type=int, default=2000)
    args = parser.parse_args()
    n, batch = args.decisions, args.batch
    records = _records(n)
    size = sum(len(r.value) for r in records) / n

    plain = msgspec.json.Decoder(DecisionRecord)
    started = time.process_time()
    for record in records:
        plain.decode(record.value)
    floor = _us(started, n)

    prefix, blake2b, from_bytes = b"bench\x1f", hashlib.blake2b, int.from_bytes
    ids = [f"p-{i:010d}" for i in range(n)]
    started = time.process_time()
    selected = 0
    for decision_id in ids:
        digest = blake2b(prefix + decision_id.encode(), digest_size=8).digest()
        selected += from_bytes(digest, "big") * 2.0**-64 < 0.05
    draw_floor = _us(started, n)

    started = time.process_time()
    decisions = [decode_record(record) for record in records]
    decode = _us(started, n)

    now = dt.datetime.now(dt.UTC)
    schedule = a_schedule(a_revision(PLAN, effective_from=now - dt.timedelta(days=1)))
    core = SamplerCore()
    for partition in range(6):
        core.load(partition, {})
    seen = [(r.partition, d, r.timestamp) for r, d in zip(records, decisions, strict=True)]
    outcomes = []
    started = time.process_time()
    for i in range(0, n, batch):
        outcomes.append(core.sample(seen[i : i + batch], schedule, now=now))
        core.commit()
    sample = _us(started, n)

    consumer = DecisionConsumer(
        core=core,
        keeper=None,  # type: ignore[arg-type]
        restorer=None,  # type: ignore[arg-type]
        topics=Topics(),
        clock=SystemClock(),
        task_partitions=6,
    )
    started = time.process_time()
    for k, outcome in enumerate(outcomes):
        consumer._outputs(records[k * batch : (k + 1) * batch], outcome)
    outputs = _us(started, n)
    tasks = sum(len(o.tasks) for o in outcomes)

    print(f"sampler hot path, in-process CPU a decision ({n:,} decisions of {size:.0f} bytes)")
    print(f"  msgspec decode alone (floor)   {floor:8.2f} us")
    print(f"  a hash draw a decision (floor) {draw_floor:8.2f} us")
    print(f"  decode_record (+ checks)       {decode:8.2f} us")
    print(f"  SamplerCore.sample             {sample:8.2f} us   ({tasks / n:.3f} tasks a decision)")
    print(f"  task and changelog outputs     {outputs:8.2f} us")
    print(f"  total before Kafka             {decode + sample + outputs:8.2f} us")


if __name__ == "__main__":
    main()
