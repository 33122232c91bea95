"""`make bench-sampler`: the sampler's throughput against a raw aiokafka consumer on the same
topic, transactional against at-least-once mode, and its peak memory after 2 million
decisions from 50,000 moderators.

Everything runs on a Kafka broker and PostgreSQL server of its own (free ports, a temporary
folder). Each measurement is a fresh subprocess (`python -m bench.sampler measure ...`) so
its rate and peak memory are its own; the figures are printed side by side. The machine may
be shared: absolute rates are noisy, the ratios less so.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import orjson
from aiokafka import AIOKafkaConsumer, AIOKafkaProducer
from aiokafka.structs import TopicPartition

from bench.settings import BENCH_AUTH_SECRET
from shared.observability.tracing import kafka_headers, new_traceparent
from shared.settings import Settings

PLAN: dict[str, Any] = {
    "description": "benchmark plan: every strategy on the hot path",
    "salt": "bench",
    "base_rate": 0.03,
    "floor": 0.001,
    "strata": ["queue", "market"],
    "rates": [{"match": {"market": "KR", "queue": ["video", "live"]}, "rate": 0.06}],
    "risk": {
        "severity": {"critical": 0.5, "major": 0.05},
        "low_confidence": {"below": 0.7, "rate": 0.2},
        "new_moderators": {"days": 30, "rate": 0.1},
        "policy_changes": {"days": 60, "rate": 0.06},
    },
    "pools": [{"name": "korean", "match": {"language": "ko"}, "daily_budget": 3000}],
    "quota": {"min_per_moderator_per_day": 1},
    "calibration": {"share": 0.05, "reviews": 3},
}


# -- filling ---------------------------------------------------------------------------------


def _templates(count: int, seed: int = 7) -> list[dict[str, Any]]:
    """Realistic decisions from the demo generator (markets, queues, models, policies)."""
    from shared.taxonomy import load_taxonomy
    from tools.demo.generator import DecisionStream

    stream = DecisionStream(load_taxonomy(), seed=seed)
    now = dt.datetime.now(dt.UTC)
    return [stream.decision(i, now).model_dump(mode="json", by_alias=True) for i in range(count)]


async def fill(
    bootstrap: str,
    topic: str,
    n: int,
    *,
    moderators: int | None,
    run: str,
    seed: int = 7,
    days: int = 0,
    poison: Sequence[bytes] = (),
) -> float:
    """Produce `n` distinct decisions (keyed by moderator), spread in time order over the last
    `days` days if given, each with a trace of its own (a `traceparent` header, as the HTTP
    ingest gives them); returns the seconds it took. `poison` payloads are mixed in evenly,
    each just before a valid decision of the same key (so the same partition)."""
    templates = _templates(5000, seed)
    start = dt.datetime.now(dt.UTC) - dt.timedelta(days=days)
    step = dt.timedelta(days=days) / n if days else dt.timedelta(0)
    rng = random.Random(seed)
    producer = AIOKafkaProducer(
        bootstrap_servers=bootstrap,
        acks="all",
        enable_idempotence=True,
        linger_ms=100,
        max_batch_size=1024 * 1024,
        max_request_size=4 * 1024 * 1024,
    )
    started = time.perf_counter()
    await producer.start()
    before = {(j + 1) * n // (len(poison) + 1): payload for j, payload in enumerate(poison)}
    try:
        futures = []
        for i in range(n):
            document = dict(templates[i % len(templates)])
            document["decision_id"] = f"{run}-{i:010d}"
            document["content_id"] = f"c-{run}-{i}"
            if days:
                document["decided_at"] = (start + step * i).isoformat().replace("+00:00", "Z")
            if moderators is not None:
                number = rng.randrange(moderators)
                document["moderator_id"] = f"mod-{number:06d}"
                document["moderator_team"] = f"team-{number % 400}"
            if i in before:
                futures.append(
                    await producer.send(
                        topic,
                        before[i],
                        key=document["moderator_id"].encode(),
                        headers=kafka_headers(new_traceparent()),
                    )
                )
            futures.append(
                await producer.send(
                    topic,
                    orjson.dumps(document),
                    key=document["moderator_id"].encode(),
                    headers=kafka_headers(new_traceparent()),
                )
            )
            if len(futures) >= 20_000:
                await asyncio.gather(*futures)
                futures = []
        await asyncio.gather(*futures)
    finally:
        await producer.stop()
    return time.perf_counter() - started


async def end_offsets(bootstrap: str, topic: str) -> int:
    consumer = AIOKafkaConsumer(bootstrap_servers=bootstrap)
    await consumer.start()
    await asyncio.sleep(0.1)  # let its background task start before a quick stop cancels it
    try:
        consumer.subscribe([topic])  # makes the client load the topic's metadata
        await consumer._client.force_metadata_update()
        consumer.unsubscribe()
        partitions = consumer.partitions_for_topic(topic) or set()
        tps = [TopicPartition(topic, p) for p in partitions]
        consumer.assign(tps)
        ends = await consumer.end_offsets(tps)
        return sum(ends.values())
    finally:
        await consumer.stop()


# -- measuring (each in its own process) -----------------------------------------------------


def peak_rss_mib() -> float:
    """Peak resident memory of this process so far (VmHWM), in MiB."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _consumer_kwargs(settings: Settings) -> dict[str, Any]:
    """The fetch settings of the sampler's consumer (shared.kafka.consumer.build_consumer)."""
    return {
        "bootstrap_servers": settings.kafka_bootstrap,
        "enable_auto_commit": False,
        "auto_offset_reset": "earliest",
        "isolation_level": "read_committed",
        "max_partition_fetch_bytes": 4 * 1024 * 1024,
    }


async def measure_raw(settings: Settings, topic: str, total: int, batch: int) -> dict[str, Any]:
    """A raw getmany consumer that does nothing with the records."""
    consumer = AIOKafkaConsumer(topic, group_id=None, **_consumer_kwargs(settings))
    await consumer.start()
    seen = 0
    first = first_cpu = 0.0
    try:
        while seen < total:
            records = await consumer.getmany(timeout_ms=1000, max_records=batch)
            if records and not first:
                first, first_cpu = time.perf_counter(), time.process_time()
            for part in records.values():
                seen += len(part)
        elapsed = time.perf_counter() - first
        cpu = time.process_time() - first_cpu
    finally:
        await consumer.stop()
    return {
        "mode": "raw",
        "decisions": seen,
        "seconds": elapsed,
        "rate": seen / elapsed,
        "cpu_us": cpu / seen * 1e6,
    }


async def measure_sampler(
    settings: Settings,
    topic: str,
    total: int,
    *,
    transactional: bool,
    run: str,
    checkpoints: Sequence[int] = (),
    mode: str = "",
) -> dict[str, Any]:
    """The sampler's own consumer runtime, process function and state, on the same topic."""
    from bench.sampler_run import SamplerRun
    from shared.kafka.admin import ensure_topics
    from shared.topics import Topics

    topics = Topics(prefix=f"bench.{run}.")
    await ensure_topics(settings.kafka_bootstrap, topics)
    sampler = SamplerRun(
        settings, decisions_topic=topic, topics=topics, transactional=transactional
    )
    marks: dict[int, float] = {}
    pending = sorted(checkpoints)

    def progress(done: int) -> None:
        while pending and done >= pending[0]:
            marks[pending.pop(0)] = peak_rss_mib()

    result = await sampler.run(total, on_progress=progress)
    return {
        "mode": mode or ("transactional" if transactional else "at-least-once"),
        "decisions": result.decisions,
        "tasks": result.tasks,
        "seconds": result.seconds,
        "rate": result.decisions / result.seconds,
        "cpu_us": result.cpu_seconds / result.decisions * 1e6,
        "moderators_in_state": result.moderators,
        "task_ids_in_state": result.task_ids,
        "phases_us_per_decision": {
            name: round(seconds / result.decisions * 1e6, 2)
            for name, seconds in {
                **result.phases,
                "fetch_and_rest": result.seconds - sum(result.phases.values()),
            }.items()
        },
        "peak_rss_mib": peak_rss_mib(),
        "peak_rss_mib_at": {str(k): round(v, 1) for k, v in marks.items()},
    }


def measure_main(args: argparse.Namespace) -> None:
    settings = Settings(
        kafka_bootstrap=args.bootstrap,
        database_url=args.database_url,
        environment="test",
        auth_secret=BENCH_AUTH_SECRET,
        sampler_batch_max=args.batch,
    )
    if args.mode == "raw":
        result = asyncio.run(measure_raw(settings, args.topic, args.total, args.batch))
    else:
        if args.mode == "txlog":  # the service's own log set-up: JSON lines at INFO on stderr
            from shared.observability.logging import configure_logging

            configure_logging("sampler", level="INFO", as_json=True)
        result = asyncio.run(
            measure_sampler(
                settings,
                args.topic,
                args.total,
                transactional=args.mode != "alo",
                run=args.run,
                checkpoints=[int(c) for c in args.checkpoints.split(",") if c],
                mode=MODES[args.mode],
            )
        )
    print(json.dumps(result))


# -- orchestration ---------------------------------------------------------------------------


def _measure(env: dict[str, str], *args: str) -> dict[str, Any]:
    command = [sys.executable, "-m", "bench.sampler", "measure", *args]
    out = subprocess.run(command, env=env, capture_output=True, text=True, check=False)
    if out.returncode != 0:
        raise RuntimeError(f"{' '.join(command)} failed:\n{out.stdout}\n{out.stderr[-4000:]}")
    return dict(json.loads(out.stdout.strip().splitlines()[-1]))


def extension_status() -> str:
    import aiokafka.util
    from aiokafka.record.default_records import DefaultRecordBatch

    loaded = not aiokafka.util.NO_EXTENSIONS and "_crecords" in DefaultRecordBatch.__module__
    return f"{'loaded' if loaded else 'NOT loaded'} ({DefaultRecordBatch.__module__})"


MODES = {"raw": "raw", "tx": "transactional", "alo": "at-least-once", "txlog": "tx+task logs"}


def _print_throughput(rows: list[dict[str, Any]], *, total: int, batch: int, repeat: int) -> None:
    modes = [m for m in MODES.values() if any(r["mode"] == m for r in rows)]
    best = {mode: max(r["rate"] for r in rows if r["mode"] == mode) for mode in modes}
    cpu = {mode: min(r["cpu_us"] for r in rows if r["mode"] == mode) for mode in modes}
    fastest = max((r for r in rows if r["mode"] == "transactional"), key=lambda r: r["rate"])
    print(f"  decisions in the topic      {total:,}  (batch {batch}, best of {repeat})")
    print("                              wall clock          CPU of the consumer process")
    labels = {
        "raw": "raw aiokafka getmany",
        "transactional": "sampler, transactional",
        "at-least-once": "sampler, at-least-once",
        "tx+task logs": "sampler, tx, INFO task logs",
    }
    for mode in modes:
        print(
            f"  {labels[mode]:<28}{best[mode]:>10,.0f} decisions/s"
            f"{cpu[mode]:>8.2f} us a decision ({1e6 / cpu[mode]:,.0f}/s of CPU)"
        )
    parts = ", ".join(f"{k} {v}" for k, v in fastest["phases_us_per_decision"].items())
    print(f"    where a transactional decision's time goes (us, wall): {parts}")
    print(f"    tasks per decision: {fastest['tasks'] / fastest['decisions']:.3f}")
    ratio = best["transactional"] / best["raw"]
    cpu_ratio = cpu["raw"] / cpu["transactional"]
    print(
        f"  sampler / raw               {ratio:>10.0%}   by CPU time {cpu_ratio:.0%}"
        "   (target >= 60%)"
    )
    tx_ratio = best["transactional"] / best["at-least-once"]
    cpu_tx = cpu["at-least-once"] / cpu["transactional"]
    print(
        f"  transactional / at-least-once {tx_ratio:>8.0%}   by CPU time {cpu_tx:.0%}"
        "   (target >= 80%)"
    )
    if "tx+task logs" in best:
        logged = cpu["tx+task logs"] - cpu["transactional"]
        print(
            f"  INFO line per task: {best['tx+task logs'] / best['transactional']:.0%} of the "
            f"transactional rate; {logged:+.2f} us of CPU a decision"
        )
    print(f"  trace header per task: {_trace_header_us():.2f} us (child span of the decision's)")


def _trace_header_us(n: int = 100_000) -> float:
    """What continuing a decision's trace costs per task: read its header, derive a child."""
    from shared.observability.tracing import child_of, traceparent_of

    headers = kafka_headers(new_traceparent())
    started = time.process_time()
    for _ in range(n):
        kafka_headers(child_of(traceparent_of(headers)))
    return (time.process_time() - started) / n * 1e6


def main_run(args: argparse.Namespace) -> None:
    from shared.db.migrations import upgrade_all
    from shared.kafka.admin import ensure_topics
    from shared.topics import Topics
    from tools.infra.common import free_port
    from tools.infra.kafka import KafkaBroker
    from tools.infra.postgres import PostgresServer

    home = Path(tempfile.mkdtemp(prefix="modqa-bench-"))
    home.chmod(0o755)
    kafka = KafkaBroker(home / "kafka", port=free_port(), controller_port=free_port())
    postgres = PostgresServer(home / "postgres", port=free_port())
    try:
        print(f"aiokafka C extension: {extension_status()}", flush=True)
        print("starting Kafka and PostgreSQL ...", flush=True)
        kafka.start()
        postgres.start()
        base = Topics(prefix="bench.")
        asyncio.run(ensure_topics(kafka.bootstrap, base))
        upgrade_all(postgres.url())
        env = {**os.environ, "MODQA_LOG_JSON": "false", "MODQA_LOG_LEVEL": "WARNING"}
        common = ["--bootstrap", kafka.bootstrap, "--database-url", postgres.url()]
        common += ["--batch", str(args.batch)]
        from bench.sampler_run import store_plan

        asyncio.run(store_plan(postgres.url(), PLAN))

        rows: list[dict[str, Any]] = []
        total = 0
        if args.decisions:
            topic = base.decisions
            print(f"filling {topic} with {args.decisions:,} decisions ...", flush=True)
            seconds = asyncio.run(
                fill(kafka.bootstrap, topic, args.decisions, moderators=None, run="t")
            )
            total = asyncio.run(end_offsets(kafka.bootstrap, topic))
            print(f"  {total:,} decisions in {seconds:.0f}s", flush=True)
            for round_ in range(args.repeat):
                for mode in args.modes.split(","):
                    result = _measure(
                        env, *common, "--mode", mode, "--topic", topic,
                        "--total", str(total), "--run", f"{mode}{round_}",
                    )  # fmt: skip
                    rows.append(result)
                    print(
                        f"  {result['mode']:<14} {result['rate']:>10,.0f} decisions/s", flush=True
                    )
        memory: dict[str, Any] | None = None
        if args.memory_decisions:
            big = Topics(prefix="bench.memory.").decisions
            asyncio.run(ensure_topics(kafka.bootstrap, Topics(prefix="bench.memory.")))
            print(
                f"filling {big} with {args.memory_decisions:,} decisions from "
                f"{args.moderators:,} moderators over {args.memory_days} days ...",
                flush=True,
            )
            seconds = asyncio.run(
                fill(
                    kafka.bootstrap,
                    big,
                    args.memory_decisions,
                    moderators=args.moderators,
                    run="m",
                    days=args.memory_days,
                )
            )
            big_total = asyncio.run(end_offsets(kafka.bootstrap, big))
            print(f"  {big_total:,} decisions in {seconds:.0f}s", flush=True)
            quarter = big_total // 4
            memory = _measure(
                env,
                *common,
                "--mode",
                "tx",
                "--topic",
                big,
                "--total",
                str(big_total),
                "--run",
                "mem",
                "--checkpoints",
                f"{quarter},{2 * quarter},{3 * quarter},{big_total}",
            )

        print()
        print("modqa sampler benchmark (same broker, same topic, same fetch settings)")
        print(f"  aiokafka C extension        {extension_status()}")
        if rows:
            _print_throughput(rows, total=total, batch=args.batch, repeat=args.repeat)
        if memory is not None:
            quarters = ", ".join(f"{v} MiB" for v in memory["peak_rss_mib_at"].values())
            print(
                f"  peak memory after {memory['decisions']:,} decisions from "
                f"{args.moderators:,} moderators over {args.memory_days} days: "
                f"{memory['peak_rss_mib']:.0f} MiB"
            )
            print(f"    peak after each quarter of the stream: {quarters}")
            print(
                f"    state: {memory['moderators_in_state']:,} moderators, "
                f"{memory['task_ids_in_state']:,} task ids (kept {Settings().sampler_dedupe_days} "
                f"days); {memory['rate']:,.0f} decisions/s"
            )
        print(json.dumps({"runs": rows, "memory": memory}))
    finally:
        kafka.stop()
        postgres.stop()
        shutil.rmtree(home, ignore_errors=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command")
    run = sub.add_parser("run", help="the whole benchmark (default)")
    run.add_argument("--decisions", type=int, default=500_000)
    run.add_argument("--memory-decisions", type=int, default=2_000_000)
    run.add_argument("--moderators", type=int, default=50_000)
    run.add_argument("--memory-days", type=int, default=4)
    run.add_argument("--batch", type=int, default=Settings().sampler_batch_max)
    run.add_argument("--repeat", type=int, default=2)
    run.add_argument(
        "--modes",
        default="raw,tx,alo,txlog",
        help="measurements per round: raw, tx, alo (at-least-once), txlog (tx, INFO task logs)",
    )
    measure = sub.add_parser("measure", help="one measurement (used by `run`)")
    measure.add_argument("--mode", choices=list(MODES), required=True)
    measure.add_argument("--topic", required=True)
    measure.add_argument("--total", type=int, required=True)
    measure.add_argument("--bootstrap", required=True)
    measure.add_argument("--database-url", required=True)
    measure.add_argument("--batch", type=int, required=True)
    measure.add_argument("--run", default="x")
    measure.add_argument("--checkpoints", default="")
    args = parser.parse_args()
    if args.command == "measure":
        measure_main(args)
    else:
        if args.command is None:
            args = run.parse_args([])
        main_run(args)


if __name__ == "__main__":
    main()
