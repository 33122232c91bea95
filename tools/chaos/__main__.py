"""`python -m tools.chaos`: run the whole system on a decision stream with simulated auditors,
inject faults at random moments (SIGKILLs of every service in turn, broker restarts, a
PostgreSQL restart, a second sampler joining and leaving), wait for the system to settle, and
check the invariants against an independent recomputation. Prints a table of the faults and
the checks; exits 1 on any violation.
"""

from __future__ import annotations

import argparse
import asyncio
import signal
import sys
import time

import asyncpg

from tools.chaos.faults import FaultLog, FaultPlan, inject
from tools.chaos.invariants import (
    Check,
    Expected,
    Targeting,
    check_all,
    consumer_lag,
    expected,
    stored_targeting,
)
from tools.chaos.system import ChaosSystem, fresh_home, remove
from tools.chaos.workload import Workload, auditors


async def run(
    args: argparse.Namespace, system: ChaosSystem, workload: Workload
) -> tuple[FaultLog, list[Check]]:
    base = expected(workload, args.sample_rate)
    stop = asyncio.Event()
    log = FaultLog()
    duration = args.decisions / args.rate
    workers = [
        asyncio.create_task(a)
        for a in auditors(
            count=args.auditors, audit_url=system.url("audit"), stream=workload.stream, stop=stop
        )
    ]
    watchdog = asyncio.create_task(_watch(system, stop))
    plan = FaultPlan(
        kills=args.kills,
        broker_restarts=args.broker_restarts,
        postgres_restarts=args.postgres_restarts,
        second_sampler=not args.no_second_sampler,
        seed=args.seed,
    )
    faults = asyncio.create_task(inject(system, plan, duration_s=duration, log=log))
    await workload.produce(system.kafka.bootstrap, system.topics.decisions, rate=args.rate)
    await faults
    settled = await _settle(system, base, deadline_s=args.settle_seconds)
    stop.set()
    await asyncio.gather(*workers, return_exceptions=True)
    watchdog.cancel()
    targeting = await _stored_targeting(system)
    want = expected(workload, args.sample_rate, targeting)
    print(
        f"selection: {len(base.tasks)} decisions at the base rate; {len(want.tasks)} with the "
        f"{len(targeting)} targeting rule intervals the sampler received",
        flush=True,
    )
    checks = await check_all(system, workload, want)
    if not settled:
        checks.insert(
            0, Check("the system settled before the deadline", False, f"{args.settle_seconds}s")
        )
    return log, checks


async def _watch(system: ChaosSystem, stop: asyncio.Event) -> None:
    while not stop.is_set():
        await asyncio.to_thread(system.watch)
        await asyncio.sleep(1)


async def _stored_targeting(system: ChaosSystem) -> Targeting:
    db = await asyncpg.connect(system.postgres.url().replace("+asyncpg", ""))
    try:
        return await stored_targeting(db)
    finally:
        await db.close()


async def _settle(system: ChaosSystem, base: Expected, *, deadline_s: float) -> bool:
    """Wait until every task stored (at least the base rate's selection) has its verdict and
    nothing is left in flight."""
    deadline = time.monotonic() + deadline_s
    while time.monotonic() < deadline:
        try:
            db = await asyncpg.connect(system.postgres.url().replace("+asyncpg", ""))
            try:
                verdicts = await db.fetchval("SELECT count(*) FROM audit.verdicts")
                tasks = await db.fetchval("SELECT count(*) FROM audit.tasks")
                backlog = sum(
                    [
                        await db.fetchval(
                            f"SELECT count(*) FROM {s}.outbox WHERE published_at IS NULL"
                        )
                        for s in ("audit", "escalation", "metrics")
                    ]
                )
                counted = await db.fetchval("SELECT count(*) FROM metrics.verdicts")
            finally:
                await db.close()
            lag = await consumer_lag(system.kafka.bootstrap, system.topics.prefix)
            if (
                verdicts >= max(len(base.tasks), tasks)
                and counted >= verdicts
                and not backlog
                and not any(lag.values())
            ):
                return True
        except Exception:
            pass
        await asyncio.sleep(2)
    return False


def report(
    log: FaultLog, checks: list[Check], system: ChaosSystem, workload: Workload, elapsed: float
) -> None:
    print(
        f"\nInput: {workload.produced} decisions and {workload.poisoned} malformed records; "
        f"{workload.resends} sends failed during faults and were sent again"
    )
    print("\nFaults injected")
    print(f"  {'fault':<28} {'count':>5}")
    for fault, count in sorted(log.injected.items()):
        print(f"  {fault:<28} {count:>5}")
    for name, count in sorted(system.unplanned_restarts.items()):
        print(f"  {'restart (died): ' + name:<28} {count:>5}")
    print("\nInvariants")
    for check in checks:
        print(f"  [{'PASS' if check.ok else 'FAIL'}] {check.name}: {check.detail}")
    print(f"\n{sum(c.ok for c in checks)}/{len(checks)} invariants hold; {elapsed:.0f}s")


def _terminated(signum: int, frame: object) -> None:
    raise KeyboardInterrupt(f"signal {signum}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--decisions", type=int, default=100_000)
    parser.add_argument("--rate", type=float, default=400.0, help="decisions per second")
    parser.add_argument("--sample-rate", type=float, default=0.05)
    parser.add_argument("--kills", type=int, default=20)
    parser.add_argument("--broker-restarts", type=int, default=3)
    parser.add_argument("--postgres-restarts", type=int, default=1)
    parser.add_argument("--no-second-sampler", action="store_true")
    parser.add_argument("--auditors", type=int, default=8)
    parser.add_argument("--poison-rate", type=float, default=0.01)
    parser.add_argument("--settle-seconds", type=float, default=900)
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args()
    # a SIGTERM (Ctrl-C's sibling, e.g. from `kill`) unwinds like Ctrl-C, so the services, the
    # broker and PostgreSQL started below are stopped instead of left running
    signal.signal(signal.SIGTERM, _terminated)
    started = time.monotonic()
    home = fresh_home()
    system = ChaosSystem(home, rate=args.sample_rate)
    checks: list[Check] = []
    try:
        system.start()
        workload = Workload.of(args.decisions, args.seed, args.poison_rate)
        log, checks = asyncio.run(run(args, system, workload))
        report(log, checks, system, workload, time.monotonic() - started)
    finally:
        system.stop()
        if checks and all(c.ok for c in checks):
            remove(home)
        else:
            print(f"kept {home} for inspection (logs under logs/)")
    sys.exit(0 if checks and all(c.ok for c in checks) else 1)


if __name__ == "__main__":
    main()
