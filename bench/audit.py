"""`python -m bench.audit` (`make bench-audit`): how fast the audit service hands out work.

1. 50 simulated auditors (concurrent HTTP clients) loop claim -> verdict -> claim for 60 s
   against one audit service process on the real PostgreSQL, and the same clients loop on a
   bare FastAPI + asyncpg endpoint doing one INSERT (`bench/baseline_app.py`) for 60 s, in
   the same run: the two alternate in three rounds of 20 s each.
   Printed: cycles (or inserts) per second, p50/p99 latency, the ratio of the two rates.
2. Task ingest from Kafka: the same tasks consumed by the service's consumer runtime and task
   processor (one multi-row INSERT per batch, one transaction per batch) and by the same
   runtime doing one INSERT and one transaction per message.

Kafka and PostgreSQL start on free ports in a temporary folder, unless
MODQA_BENCH_KAFKA_BOOTSTRAP and MODQA_BENCH_DATABASE_URL (a URL whose user may create
databases) point at running ones. The machine is shared: figures are noisy, compare the
columns of one run rather than runs.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import logging
import tempfile
import time
import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

import asyncpg
import httpx

from bench.audit_infra import NOW, Infra, bench_task, drop_database, fresh_database, infrastructure
from bench.audit_ingest import ingest_bench
from bench.baseline_app import CREATE_TABLE
from bench.settings import BENCH_AUTH_SECRET
from services.audit import handlers, handlers_admin
from shared.auth import Role, issue_token
from shared.db.engine import build_engine, build_sessions
from shared.kafka.admin import ensure_topics
from shared.settings import Settings
from shared.topics import Topics
from tools.infra.common import free_port
from tools.infra.services import ServiceProcess

LOGS = Path(tempfile.gettempdir()) / "modqa-bench-logs"


@dataclass
class Load:
    """What a closed-loop load run measured."""

    seconds: float
    cycles: int = 0
    empty: int = 0
    errors: int = 0
    cycle_ms: list[float] = field(default_factory=list)
    request_ms: dict[str, list[float]] = field(default_factory=dict)

    def add(self, kind: str, ms: float) -> None:
        self.request_ms.setdefault(kind, []).append(ms)

    @property
    def rate(self) -> float:
        return self.cycles / self.seconds


def percentile(values: Sequence[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


Cycle = Callable[[httpx.AsyncClient, str, Load], Awaitable[None]]


async def closed_loop(
    url: str, tokens: Sequence[str], seconds: float, cycle: Cycle, load: Load
) -> None:
    """Every client runs `cycle` back to back until the time is up."""
    deadline = time.perf_counter() + seconds

    async def client(n: int) -> None:
        headers = {"Authorization": f"Bearer {tokens[n]}"}
        async with httpx.AsyncClient(base_url=url, headers=headers, timeout=30) as http:
            while time.perf_counter() < deadline:
                started = time.perf_counter()
                try:
                    await cycle(http, f"auditor-{n}", load)
                except httpx.HTTPError:
                    load.errors += 1
                    continue
                load.cycle_ms.append((time.perf_counter() - started) * 1000)

    await asyncio.gather(*(client(n) for n in range(len(tokens))))


async def audit_cycle(http: httpx.AsyncClient, name: str, load: Load) -> None:
    """Claim a task and judge it."""
    started = time.perf_counter()
    claimed = await http.post("/v1/tasks/claim")
    load.add("claim", (time.perf_counter() - started) * 1000)
    if claimed.status_code == 204:
        load.empty += 1
        return
    claimed.raise_for_status()
    task = claimed.json()["task_id"]
    started = time.perf_counter()
    verdict = await http.post(
        f"/v1/tasks/{task}/verdict",
        json={"outcome": "correct"},
        headers={"Idempotency-Key": f"{name}-{task}"},
    )
    load.add("verdict", (time.perf_counter() - started) * 1000)
    verdict.raise_for_status()
    load.cycles += 1


async def insert_cycle(http: httpx.AsyncClient, name: str, load: Load) -> None:
    """One insert of a verdict-sized row."""
    started = time.perf_counter()
    response = await http.post(
        "/insert", json={"auditor": name, "outcome": "correct", "notes": "", "round": 1}
    )
    load.add("insert", (time.perf_counter() - started) * 1000)
    response.raise_for_status()
    load.cycles += 1


async def http_bench(infra: Infra, args: argparse.Namespace, tag: str) -> tuple[Load, Load]:
    audit_db = await fresh_database(infra, f"bench_audit_{tag}", migrate=True)
    baseline_db = await fresh_database(infra, f"bench_baseline_{tag}", migrate=False)
    topics = Topics(prefix=f"bench{tag}.")
    await ensure_topics(infra.bootstrap, topics)
    secret = BENCH_AUTH_SECRET
    settings = Settings(
        environment="test",
        kafka_bootstrap=infra.bootstrap,
        database_url=audit_db,
        topic_prefix=topics.prefix,
        auth_secret=secret,
    )
    engine = build_engine(settings)
    sessions = build_sessions(engine)
    print(f"preloading {args.tasks} tasks and {args.auditors} auditors ...", flush=True)
    for start in range(0, args.tasks, 2000):
        batch = [bench_task(i) for i in range(start, min(args.tasks, start + 2000))]
        await handlers.store_tasks(sessions=sessions, batch=batch)
    for n in range(args.auditors):
        await handlers_admin.upsert_auditor(
            sessions=sessions,
            auditor_id=f"auditor-{n}",
            fields={
                "name": f"auditor-{n}",
                "languages": ["ko"],
                "markets": [],
                "policy_areas": [],
                "roles": ["auditor"],
                "teams": [],
                "active": True,
            },
            by="bench",
            now=NOW,
        )
    await engine.dispose()
    # a bulk load leaves the planner with the statistics of an empty table until autovacuum
    # comes by (within a minute); a running system has them, so the benchmark starts from there
    audit_conn = await asyncpg.connect(audit_db.replace("+asyncpg", ""))
    await audit_conn.execute("ANALYZE audit.tasks; ANALYZE audit.leases; ANALYZE audit.auditors")
    await audit_conn.close()
    baseline_conn = await asyncpg.connect(baseline_db.replace("+asyncpg", ""))
    await baseline_conn.execute(CREATE_TABLE)
    await baseline_conn.close()

    tokens = [
        issue_token(
            settings.auth_secret,
            subject=f"auditor-{n}",
            roles=[Role.AUDITOR],
            ttl=dt.timedelta(hours=2),
        )
        for n in range(args.auditors)
    ]
    env = {
        "MODQA_ENVIRONMENT": "test",
        "MODQA_KAFKA_BOOTSTRAP": infra.bootstrap,
        "MODQA_DATABASE_URL": audit_db,
        "MODQA_TOPIC_PREFIX": topics.prefix,
        "MODQA_AUTH_SECRET": secret,
        "MODQA_LOG_LEVEL": "WARNING",
    }
    audit_load = Load(seconds=args.seconds)
    baseline_load = Load(seconds=args.seconds)
    service = ServiceProcess("audit", free_port(), env, LOGS)
    baseline = ServiceProcess(
        "baseline",
        free_port(),
        {**env, "MODQA_DATABASE_URL": baseline_db},
        LOGS,
        module="bench.baseline_app",
    )
    service.start()
    baseline.start()
    try:
        await asyncio.to_thread(service.wait_ready)
        await asyncio.to_thread(baseline.wait_ready)
        # the two loads alternate in rounds, so a change in what else the machine runs
        # weighs on both columns alike instead of on whichever ran second
        each = args.seconds / args.rounds
        for round_ in range(1, args.rounds + 1):
            print(
                f"round {round_}/{args.rounds}: {args.auditors} auditors claim/verdict for "
                f"{each:.0f} s, then {args.auditors} clients insert for {each:.0f} s ...",
                flush=True,
            )
            await closed_loop(service.url, tokens, each, audit_cycle, audit_load)
            await closed_loop(baseline.url, tokens, each, insert_cycle, baseline_load)
    finally:
        service.stop()
        baseline.stop()
    await drop_database(infra, f"bench_audit_{tag}")
    await drop_database(infra, f"bench_baseline_{tag}")
    return audit_load, baseline_load


def p50_p99(values: Sequence[float]) -> str:
    return f"{percentile(values, 0.5):.1f} / {percentile(values, 0.99):.1f}"


def report(
    audit: Load, baseline: Load, n: int, batched_s: float, single_s: float, *, clients: int
) -> None:
    ratio = audit.rate / baseline.rate if baseline.rate else float("nan")
    requests = audit.request_ms.get("claim", []) + audit.request_ms.get("verdict", [])
    inserts = baseline.request_ms.get("insert", [])
    p99_request = percentile(requests, 0.99)
    rows = [
        ("per second", f"{audit.rate:.1f} cycles", f"{baseline.rate:.1f} inserts"),
        ("cycle p50 / p99 ms", p50_p99(audit.cycle_ms), p50_p99(baseline.cycle_ms)),
        ("request p50 / p99 ms", p50_p99(requests), p50_p99(inserts)),
        ("claim p50 / p99 ms", p50_p99(audit.request_ms.get("claim", [])), ""),
        ("verdict p50 / p99 ms", p50_p99(audit.request_ms.get("verdict", [])), ""),
        ("completed", str(audit.cycles), str(baseline.cycles)),
        ("empty claims / errors", f"{audit.empty} / {audit.errors}", f"- / {baseline.errors}"),
    ]
    print()
    print(
        f"HTTP: {audit.seconds:.0f} s each in alternating rounds, the same clients, one server "
        "process each"
    )
    print(f"  {'':24}{'audit claim+verdict':>24}{'bare FastAPI insert':>24}")
    for label, left, right in rows:
        print(f"  {label:24}{left:>24}{right:>24}")
    print(f"  rate ratio: {ratio:.1%} (target >= 30%): {'met' if ratio >= 0.3 else 'NOT met'}")
    print(
        f"  audit request p99: {p99_request:.1f} ms (target < 50 ms): "
        f"{'met' if p99_request < 50 else 'NOT met'}"
    )
    # closed loop: every client waits for its answer, so a request's mean latency is the
    # clients over the requests answered per second (Little's law)
    needed = clients / 0.050
    print(
        f"  with {clients} closed-loop clients a mean request latency under 50 ms needs "
        f"{needed:,.0f} requests/s; the audit service answered "
        f"{len(requests) / audit.seconds:,.0f}/s, the bare insert endpoint "
        f"{len(inserts) / baseline.seconds:,.0f}/s"
    )
    speedup = single_s / batched_s if batched_s else float("nan")
    print()
    print(f"Kafka ingest of {n} tasks (same consumer runtime, same batches of up to 500)")
    print(f"  {'one INSERT + transaction per batch':44}{n / batched_s:10.0f} tasks/s")
    print(f"  {'one INSERT + transaction per message':44}{n / single_s:10.0f} tasks/s")
    print(f"  speedup: {speedup:.1f}x (target >= 10x): {'met' if speedup >= 10 else 'NOT met'}")


async def main_async(args: argparse.Namespace) -> None:
    tag = uuid.uuid4().hex[:8]
    async with infrastructure() as infra:
        audit, baseline = await http_bench(infra, args, tag)
        batched, single = await ingest_bench(infra, args.ingest, tag)
    report(audit, baseline, args.ingest, batched, single, clients=args.auditors)


def main() -> None:
    # aiokafka logs each retry while a new topic elects its leaders; only errors matter here
    logging.basicConfig(level=logging.WARNING)
    logging.getLogger("aiokafka").setLevel(logging.ERROR)
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--seconds", type=float, default=60.0, help="length of each HTTP run")
    parser.add_argument(
        "--rounds", type=int, default=3, help="the HTTP runs alternate in this many rounds"
    )
    parser.add_argument("--auditors", type=int, default=50, help="concurrent clients")
    parser.add_argument("--tasks", type=int, default=60_000, help="tasks preloaded for claims")
    parser.add_argument("--ingest", type=int, default=20_000, help="tasks for the ingest run")
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
