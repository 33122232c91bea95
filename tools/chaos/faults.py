"""Faults at random moments: SIGKILLs of each service in turn, broker restarts, a PostgreSQL
restart, a second sampler joining and leaving (a rebalance)."""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from dataclasses import dataclass, field

from tools.chaos.system import ChaosSystem

SERVICES = ("sampler", "audit", "escalation", "metrics")


@dataclass
class FaultPlan:
    kills: int = 20
    broker_restarts: int = 3
    postgres_restarts: int = 1
    second_sampler: bool = True
    seed: int = 7


@dataclass
class FaultLog:
    injected: Counter[str] = field(default_factory=Counter)
    timeline: list[tuple[float, str]] = field(default_factory=list)

    def note(self, what: str, started: float) -> None:
        self.injected[what] += 1
        self.timeline.append((round(time.monotonic() - started, 1), what))


async def inject(system: ChaosSystem, plan: FaultPlan, *, duration_s: float, log: FaultLog) -> None:
    """Spread the plan's faults over `duration_s` seconds, in a random order."""
    rng = random.Random(plan.seed)
    events: list[str] = [f"kill:{SERVICES[i % len(SERVICES)]}" for i in range(plan.kills)]
    events += ["broker"] * plan.broker_restarts + ["postgres"] * plan.postgres_restarts
    rng.shuffle(events)
    if plan.second_sampler:
        events.insert(len(events) // 3, "second-sampler:join")
        events.insert(2 * len(events) // 3, "second-sampler:leave")
    gap = duration_s / (len(events) + 1)
    started = time.monotonic()
    for event in events:
        await asyncio.sleep(gap * rng.uniform(0.5, 1.5))
        await asyncio.to_thread(_apply, system, event, rng)
        log.note(event, started)


def _apply(system: ChaosSystem, event: str, rng: random.Random) -> None:
    if event.startswith("kill:"):
        name = event.split(":", 1)[1]
        process = system.services[name]
        system.paused.add(name)
        process.kill()
        time.sleep(rng.uniform(0.5, 3.0))
        process.start()
        system.paused.discard(name)
    elif event == "broker":
        system.kafka.stop()
        time.sleep(rng.uniform(1.0, 4.0))
        system.kafka.start()
    elif event == "postgres":
        system.postgres.stop()
        time.sleep(rng.uniform(1.0, 3.0))
        system.postgres.start()
    elif event == "second-sampler:join":
        system.start_second_sampler()
    elif event == "second-sampler:leave":
        system.stop_second_sampler()
