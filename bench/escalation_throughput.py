"""`python -m bench.escalation_throughput`: how fast escalation applies consumed verdicts.

Runs the escalation's batch handler (the work its consumer does per batch: ledger, corrections,
windowed counters, rule evaluation, cases, outbox and webhook queue, one transaction) against a
real PostgreSQL, on the same generated verdicts, in three set-ups measured in this one run:

- baseline: a rule set with only the critical-miss rule and no webhooks (what escalation did
  before rules, windows and webhooks);
- rules: the built-in rule set (every kind);
- rules + slow webhooks: the built-in rules, three subscriptions to every event, and the
  webhook dispatcher running in the same event loop (as in the service) against a receiver,
  in a process of its own, that takes 200 ms to answer each delivery.

Kafka is left out on purpose: consuming and the outbox relay are the same in all three.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import shutil
import statistics
import sys
import tempfile
import time
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import asyncpg
from sqlalchemy import func, select

from services.escalation import handlers, tables, webhook_handlers
from services.escalation.loops import WebhookDispatcher
from services.escalation.rule_handlers import create_rule_set
from shared.clock import SystemClock
from shared.db.engine import build_engine, build_sessions
from shared.db.migrations import upgrade_all
from shared.events import Verdict
from shared.settings import Settings
from shared.topics import Topics
from tools.infra.common import free_port, port_open
from tools.infra.postgres import PostgresServer

START = dt.datetime(2026, 11, 20, 8, 0, tzinfo=dt.UTC)
MARKETS = ("KR", "ID", "US", "DE", "BR")
POLICIES = ("spam", "hate_speech", "harassment", "child_safety")
BASELINE_RULES = "rules: [{id: critical-miss, kind: critical_miss, severity: p0}]\n"


def generate(n: int) -> list[Verdict]:
    """Verdicts over 300 moderators and 20 markets x policies: 8% wrong, 6% unsure."""
    out = []
    for i in range(n):
        policy = POLICIES[i % 4]
        wrong = i % 25 < 2
        unsure = i % 50 in (7, 31, 44)
        decision = {
            "decision_id": f"b-{i}",
            "content_id": f"c-{i}",
            "content_type": "video",
            "content_ref": f"https://content.example/{i}",
            "queue": "video",
            "market": MARKETS[(i // 4) % 5],
            "language": "en",
            "moderator_id": f"mod-{i % 300}",
            "moderator_kind": "human",
            "moderator_team": f"team-{i % 12}",
            "policy_id": policy,
            "policy_version": 1,
            "action": "approve",
            "source": "report",
            "decided_at": START,
        }
        verdict: dict[str, object] = {
            "verdict_id": f"bv-{i}",
            "task_id": f"bt-{i}",
            "decision_id": f"b-{i}",
            "auditor_id": f"auditor-{i % 40}",
            "outcome": "unsure" if unsure else "incorrect" if wrong else "correct",
            "submitted_at": START + dt.timedelta(seconds=i),
            "decision": decision,
        }
        if wrong and not unsure:
            verdict |= {
                "expected_action": "remove",
                "expected_policy_id": policy,
                "error_type": "under_enforcement",
                "severity": "critical" if policy == "child_safety" else "major",
            }
        out.append(Verdict.model_validate(verdict))
    return out


@dataclass
class Result:
    name: str
    seconds: float
    batch_ms: list[float]
    cases: int
    corrections: int
    deliveries_queued: int
    deliveries_sent: int


def summary(name: str, runs: list[Result], n: int) -> str:
    """Median over rounds of throughput and per-batch latency; counts from the last round."""
    rate = statistics.median(n / r.seconds for r in runs)
    p50 = statistics.median(statistics.median(r.batch_ms) for r in runs)
    p95 = statistics.median(statistics.quantiles(r.batch_ms, n=20)[18] for r in runs)
    last = runs[-1]
    return (
        f"{name:<26} {rate:>10.0f} {p50:>9.1f} {p95:>9.1f} "
        f"{last.cases:>6} {last.corrections:>6} {last.deliveries_queued:>7} "
        f"{last.deliveries_sent:>5}   {' '.join(f'{n / r.seconds:.0f}' for r in runs)}"
    )


SETUPS: dict[str, tuple[str | None, int]] = {
    "baseline: critical miss": (BASELINE_RULES, 0),
    "all rule kinds": (None, 0),
    "all rules + slow webhooks": (None, 3),
}
"""Name: (rule set source, None for the built-in one; webhook subscriptions)."""


RECEIVER = """
import asyncio, sys, uvicorn

async def app(scope, receive, send):
    if scope["type"] != "http":
        return
    more = True
    while more:
        more = (await receive()).get("more_body", False)
    await asyncio.sleep(0.2)
    await send({"type": "http.response.start", "status": 204, "headers": []})
    await send({"type": "http.response.body", "body": b""})

uvicorn.run(app, host="127.0.0.1", port=int(sys.argv[1]), log_level="warning", lifespan="off")
"""


@asynccontextmanager
async def slow_receiver() -> AsyncIterator[str]:
    """A receiver in its own process that takes 200 ms to answer each delivery."""
    port = free_port()
    process = await asyncio.create_subprocess_exec(sys.executable, "-c", RECEIVER, str(port))
    try:
        for _ in range(400):  # up to 20 s
            if port_open(port):
                break
            await asyncio.sleep(0.05)
        yield f"http://127.0.0.1:{port}/hook"
    finally:
        process.terminate()
        await process.wait()


async def fresh_database(server_url: str) -> str:
    name = f"bench_{uuid.uuid4().hex[:10]}"
    conn = await asyncpg.connect(server_url.rsplit("/", 1)[0].replace("+asyncpg", "") + "/postgres")
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    url = server_url.rsplit("/", 1)[0] + f"/{name}"
    await asyncio.to_thread(upgrade_all, url)
    return url


async def run_one(
    name: str,
    server_url: str,
    verdicts: list[Verdict],
    batch: int,
    *,
    rules: str | None,
    webhooks: int,
) -> Result:
    settings = Settings(database_url=await fresh_database(server_url), webhook_concurrency=8)
    engine = build_engine(settings)
    sessions = build_sessions(engine)
    topics = Topics("bench.")
    if rules is not None:
        await create_rule_set(
            sessions=sessions, source=rules, note=name, actor="bench", apply=True, now=START
        )
    dispatcher: WebhookDispatcher | None = None
    dispatching: asyncio.Task[None] | None = None
    async with slow_receiver() as url:
        for _ in range(webhooks):
            await webhook_handlers.subscribe(
                sessions=sessions,
                url=url,
                events=["*"],
                secret="bench-secret-0123456789",
                description=None,
                actor="bench",
                now=START,
            )
        if webhooks:
            dispatcher = WebhookDispatcher(
                sessions=sessions, clock=SystemClock(), settings=settings
            )
            dispatching = asyncio.create_task(dispatcher.run())
        timings = []
        started = time.perf_counter()
        for i in range(0, len(verdicts), batch):
            t0 = time.perf_counter()
            await handlers.handle_events(
                sessions=sessions,
                topics=topics,
                batch=verdicts[i : i + batch],
                now=START + dt.timedelta(hours=6),
            )
            timings.append((time.perf_counter() - t0) * 1000)
        seconds = time.perf_counter() - started
        if dispatcher is not None and dispatching is not None:
            dispatcher.stop()
            await dispatching
    async with sessions() as session:
        cases = await session.scalar(select(func.count()).select_from(tables.cases))
        fixes = await session.scalar(select(func.count()).select_from(tables.corrections))
        queued = await session.scalar(select(func.count()).select_from(tables.webhook_deliveries))
        sent = await session.scalar(
            select(func.count())
            .select_from(tables.webhook_deliveries)
            .where(tables.webhook_deliveries.c.status == "delivered")
        )
    await engine.dispose()
    return Result(name, seconds, timings, cases or 0, fixes or 0, queued or 0, sent or 0)


async def main_async(args: argparse.Namespace) -> None:
    home: Path | None = None
    server: PostgresServer | None = None
    server_url = args.database_url
    if not server_url:
        home = Path(tempfile.mkdtemp(prefix="modqa-bench-"))
        home.chmod(0o755)
        server = PostgresServer(home / "postgres", port=free_port())
        await asyncio.to_thread(server.start)
        server_url = server.url()
    runs: dict[str, list[Result]] = {name: [] for name in SETUPS}
    try:
        verdicts = generate(args.verdicts)
        for _ in range(args.rounds):  # interleaved, so a noisy neighbour hits every set-up
            for name, (rules, webhooks) in SETUPS.items():
                runs[name].append(
                    await run_one(
                        name, server_url, verdicts, args.batch, rules=rules, webhooks=webhooks
                    )
                )
    finally:
        if server is not None:
            await asyncio.to_thread(server.stop)
        if home is not None:
            shutil.rmtree(home, ignore_errors=True)
    print(
        f"\n{args.verdicts} verdicts in batches of {args.batch} (one transaction per batch), "
        f"median of {args.rounds} interleaved rounds\n"
    )
    print(
        f"{'set-up':<26} {'verdicts/s':>10} {'p50 ms':>9} {'p95 ms':>9} "
        f"{'cases':>6} {'fixes':>6} {'queued':>7} {'sent':>5}   verdicts/s per round"
    )
    for name, results in runs.items():
        print(summary(name, results, args.verdicts))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--verdicts", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--batch", type=int, default=500)
    parser.add_argument(
        "--database-url", default="", help="an existing server's modqa URL (else one is started)"
    )
    asyncio.run(main_async(parser.parse_args()))


if __name__ == "__main__":
    main()
