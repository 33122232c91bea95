"""The load: decisions with known truth (and optionally malformed ones) produced to Kafka, and
simulated auditors who judge each task with that truth."""

from __future__ import annotations

import asyncio
import datetime as dt
import random
from dataclasses import dataclass, field

from aiokafka import AIOKafkaProducer
from aiokafka.errors import KafkaError

from shared.auth import Role, issue_token
from shared.events import encode
from shared.taxonomy import load_taxonomy
from tools.chaos.system import CHAOS_SECRET
from tools.demo.auditors import run_auditor
from tools.demo.generator import MARKETS, DecisionStream

MALFORMED = (b"{not json", b'{"decision_id": "x"}', b"\xff\xfe\x00", b"[]")


@dataclass
class Workload:
    stream: DecisionStream
    count: int
    poison_rate: float
    produced: int = 0
    poisoned: int = 0
    decided_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @classmethod
    def of(cls, count: int, seed: int, poison_rate: float) -> Workload:
        return cls(DecisionStream(load_taxonomy(), seed=seed), count, poison_rate)

    def decision(self, i: int):  # type: ignore[no-untyped-def]
        return self.stream.decision(i, self.decided_at + dt.timedelta(milliseconds=i))

    async def produce(self, bootstrap: str, topic: str, *, rate: float) -> None:
        """Send every decision once (acks=all, idempotent), retrying through broker restarts."""
        rng = random.Random(self.stream.decision_id(0))
        producer = AIOKafkaProducer(
            bootstrap_servers=bootstrap,
            acks="all",
            enable_idempotence=True,
            linger_ms=20,
            request_timeout_ms=60_000,
        )
        await _start(producer)
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            for i in range(self.count):
                decision = self.decision(i)
                key = decision.moderator_id.encode()
                value = encode(decision)
                if rng.random() < self.poison_rate:
                    await _send(producer, topic, key, rng.choice(MALFORMED))
                    self.poisoned += 1
                await _send(producer, topic, key, value)
                self.produced += 1
                ahead = (i + 1) / rate - (loop.time() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
            await producer.flush()
        finally:
            await producer.stop()


async def _start(producer: AIOKafkaProducer) -> None:
    while True:
        try:
            await producer.start()
            return
        except KafkaError:
            await asyncio.sleep(1)


async def _send(producer: AIOKafkaProducer, topic: str, key: bytes, value: bytes) -> None:
    while True:
        try:
            await (await producer.send(topic, value, key=key))
            return
        except KafkaError:
            await asyncio.sleep(1)


def auditors(*, count: int, audit_url: str, stream: DecisionStream, stop: asyncio.Event) -> list:  # type: ignore[type-arg]
    """Simulated auditors (every language, so every task finds someone)."""
    ttl = dt.timedelta(days=1)
    lead = issue_token(CHAOS_SECRET, subject="chaos-lead", roles=[Role.LEAD], ttl=ttl)
    languages = list(MARKETS.values())
    return [
        run_auditor(
            name=f"chaos-auditor-{n}",
            base_url=audit_url,
            token=issue_token(
                CHAOS_SECRET, subject=f"chaos-auditor-{n}", roles=[Role.AUDITOR], ttl=ttl
            ),
            stream=stream,
            stop=stop,
            think_s=(0.0, 0.05),
            subject=f"chaos-auditor-{n}",
            languages=languages,
            lead_token=lead,
        )
        for n in range(count)
    ]
