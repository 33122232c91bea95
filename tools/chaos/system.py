"""The system under test: its own Kafka and PostgreSQL, the four services, a watchdog that
restarts a service that died (as a supervisor would), and the faults' levers."""

from __future__ import annotations

import asyncio
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

from shared.db.migrations import upgrade_all
from shared.kafka.admin import ensure_topics
from shared.topics import Topics
from tools.infra.common import free_port
from tools.infra.kafka import KafkaBroker
from tools.infra.postgres import PostgresServer
from tools.infra.services import SERVICE_PORTS, ServiceProcess, wait_all_ready

CHAOS_SECRET = "modqa-chaos-harness-secret-0123456789abcdef"


@dataclass
class ChaosSystem:
    """Everything the harness starts, kills and restarts."""

    home: Path
    rate: float
    kafka: KafkaBroker = field(init=False)
    postgres: PostgresServer = field(init=False)
    services: dict[str, ServiceProcess] = field(default_factory=dict)
    extra_sampler: ServiceProcess | None = None
    topics: Topics = field(default_factory=lambda: Topics(prefix="chaos."))
    unplanned_restarts: dict[str, int] = field(default_factory=dict)
    paused: set[str] = field(default_factory=set)

    def __post_init__(self) -> None:
        self.kafka = KafkaBroker(self.home / "kafka", port=free_port(), controller_port=free_port())
        self.postgres = PostgresServer(self.home / "postgres", port=free_port())

    @property
    def env(self) -> dict[str, str]:
        return {
            "MODQA_ENVIRONMENT": "test",
            "MODQA_AUTH_SECRET": CHAOS_SECRET,
            "MODQA_KAFKA_BOOTSTRAP": self.kafka.bootstrap,
            "MODQA_DATABASE_URL": self.postgres.url(),
            "MODQA_TOPIC_PREFIX": self.topics.prefix,
            "MODQA_SAMPLER_BASE_RATE": str(self.rate),
            "MODQA_CONSUMER_POLL_MS": "100",
            "MODQA_OUTBOX_POLL_MS": "50",
            "MODQA_CONSUMER_SESSION_TIMEOUT_MS": "10000",
            "MODQA_LEASE_SECONDS": "30",
            "MODQA_AUDIT_SWEEP_SECONDS": "2",
            "MODQA_LOG_LEVEL": "WARNING",
        }

    def start(self) -> None:
        self.kafka.start()
        self.postgres.start()
        asyncio.run(ensure_topics(self.kafka.bootstrap, self.topics))
        upgrade_all(self.postgres.url())
        logs = self.home / "logs"
        self.services = {
            name: ServiceProcess(name, free_port(), self.env, logs) for name in SERVICE_PORTS
        }
        for process in self.services.values():
            process.start()
        wait_all_ready(list(self.services.values()), timeout_s=120)

    def url(self, service: str) -> str:
        return self.services[service].url

    def start_second_sampler(self) -> None:
        """A second sampler instance joins the group: partitions are rebalanced."""
        self.extra_sampler = ServiceProcess(
            "sampler", free_port(), {**self.env, "MODQA_INSTANCE_ID": "1"}, self.home / "logs2"
        )
        self.extra_sampler.start()

    def stop_second_sampler(self) -> None:
        if self.extra_sampler is not None:
            self.extra_sampler.stop()
            self.extra_sampler = None

    def watch(self) -> None:
        """Restart services that died on their own (a fault we did not inject)."""
        for name, process in self.services.items():
            if name not in self.paused and not process.alive():
                self.unplanned_restarts[name] = self.unplanned_restarts.get(name, 0) + 1
                process.start()

    def stop(self) -> None:
        self.stop_second_sampler()
        for process in self.services.values():
            process.stop()
        self.kafka.stop()
        self.postgres.stop()


def fresh_home() -> Path:
    """A folder the postgres system user can reach (not under a 0700 temp dir)."""
    home = Path(tempfile.mkdtemp(prefix="modqa-chaos-"))
    home.chmod(0o755)
    return home


def remove(home: Path) -> None:
    if not os.environ.get("MODQA_CHAOS_KEEP"):
        shutil.rmtree(home, ignore_errors=True)
