"""The load: decisions with known truth (and optionally malformed ones) produced to Kafka, and
simulated auditors who judge each task with that truth."""

from __future__ import annotations

import asyncio
import datetime as dt
import json
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


def malformed_kinds(valid: dict[str, object]) -> tuple[bytes, ...]:
    """Malformed decisions of every kind the sampler must dead-letter, built around a valid one:
    broken JSON, missing fields, wrong types, unknown enum values, a huge payload, a wrong
    encoding, not an object."""

    def dump(value: object) -> bytes:
        return json.dumps(value).encode()

    missing = {k: v for k, v in valid.items() if k not in ("moderator_id", "policy_id")}
    return (
        b"{not json",
        dump(valid)[:-7],
        dump(missing),
        dump({**valid, "policy_version": "latest"}),
        dump({**valid, "confidence": "high"}),
        dump({**valid, "action": "obliterate"}),
        dump({**valid, "moderator_kind": "robot"}),
        dump({**valid, "notes": "x" * 600_000}),
        json.dumps({**valid, "queue": "café"}, ensure_ascii=False).encode("latin-1"),
        b"\xff\xfe\x00",
        b"[]",
        b"null",
    )


@dataclass
class Workload:
    stream: DecisionStream
    count: int
    poison_rate: float
    produced: int = 0
    poisoned: int = 0
    resends: int = 0
    malformed: tuple[bytes, ...] = ()
    decided_at: dt.datetime = field(default_factory=lambda: dt.datetime.now(dt.UTC))

    @classmethod
    def of(cls, count: int, seed: int, poison_rate: float) -> Workload:
        return cls(DecisionStream(load_taxonomy(), seed=seed), count, poison_rate)

    def decision(self, i: int):  # type: ignore[no-untyped-def]
        return self.stream.decision(i, self.decided_at + dt.timedelta(milliseconds=i))

    async def produce(self, bootstrap: str, topic: str, *, rate: float) -> None:
        """Send every decision (acks=all, idempotent) through broker restarts. A send that
        fails is sent again by a new producer: aiokafka keeps the failed batch's sequence
        number spent, so the old producer's next batch would be refused as out of order
        forever. A failure can be ambiguous (the broker stored the batch but its answer was
        lost), so a decision may reach the topic twice; the sampler must give it one task."""
        rng = random.Random(self.stream.decision_id(0))
        self.malformed = malformed_kinds(json.loads(encode(self.decision(0))))
        sender = _Sender(bootstrap)
        await sender.start()
        try:
            loop = asyncio.get_running_loop()
            started = loop.time()
            for i in range(self.count):
                decision = self.decision(i)
                key = decision.moderator_id.encode()
                if rng.random() < self.poison_rate:
                    await sender.send(topic, key, rng.choice(self.malformed))
                    self.poisoned += 1
                await sender.send(topic, key, encode(decision))
                self.produced += 1
                ahead = (i + 1) / rate - (loop.time() - started)
                if ahead > 0:
                    await asyncio.sleep(ahead)
        finally:
            self.resends = sender.resends
            await sender.stop()


class _Sender:
    """One record at a time; a failed send is retried by a fresh producer."""

    def __init__(self, bootstrap: str) -> None:
        self._bootstrap = bootstrap
        self._producer: AIOKafkaProducer | None = None
        self.resends = 0

    async def start(self) -> None:
        while True:
            producer = AIOKafkaProducer(
                bootstrap_servers=self._bootstrap,
                acks="all",
                enable_idempotence=True,
                linger_ms=0,
                request_timeout_ms=30_000,
                max_request_size=2_000_000,
            )
            try:
                await producer.start()
                self._producer = producer
                return
            except KafkaError:
                await producer.stop()
                await asyncio.sleep(1)

    async def stop(self) -> None:
        if self._producer is not None:
            await self._producer.stop()
            self._producer = None

    async def send(self, topic: str, key: bytes, value: bytes) -> None:
        while True:
            assert self._producer is not None
            try:
                await (await self._producer.send(topic, value, key=key))
                return
            except KafkaError:
                self.resends += 1
                await self.stop()
                await asyncio.sleep(1)
                await self.start()


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
