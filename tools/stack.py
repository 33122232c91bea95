"""`python -m tools.stack up|down|infra`: run the whole system locally, or stop it.

`up` starts Kafka and PostgreSQL (unless MODQA_KAFKA_BOOTSTRAP / MODQA_DATABASE_URL point
elsewhere), creates the topics, migrates every schema, starts the four services and the demo
stream, prints where everything is, restarts a service that dies, and on Ctrl-C or
`down` stops everything it started, services first.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import signal
import sys
import time
from pathlib import Path

from shared.db.migrations import upgrade_all
from shared.kafka.admin import ensure_topics
from shared.topics import Topics
from tools.infra.common import RUN, InfraError, read_pid, terminate
from tools.infra.kafka import KafkaBroker
from tools.infra.postgres import PostgresServer
from tools.infra.prometheus import PrometheusServer
from tools.infra.services import SERVICE_PORTS, ServiceProcess, wait_all_ready

STACK_PID = RUN / "stack.pid"
LOGS = RUN / "logs"


class Stack:
    """Everything `make up` runs, and the order to stop it in."""

    def __init__(self, *, demo: bool, demo_rate: float, prometheus: bool = True) -> None:
        self.kafka: KafkaBroker | None = None
        self.prometheus: PrometheusServer | None = None
        self.with_prometheus = prometheus
        self.postgres: PostgresServer | None = None
        self.bootstrap = os.environ.get("MODQA_KAFKA_BOOTSTRAP", "")
        self.database_url = os.environ.get("MODQA_DATABASE_URL", "")
        self.demo = demo
        self.demo_rate = demo_rate
        self.processes: list[ServiceProcess] = []

    def start(self) -> None:
        if not self.bootstrap:
            self.kafka = KafkaBroker(RUN / "kafka", port=9092, controller_port=9093)
            print("starting Kafka (KRaft) on localhost:9092 ...", flush=True)
            self.kafka.start()
            self.bootstrap = self.kafka.bootstrap
        if not self.database_url:
            self.postgres = PostgresServer(RUN / "postgres", port=5432)
            print("starting PostgreSQL on 127.0.0.1:5432 ...", flush=True)
            self.postgres.start()
            self.database_url = self.postgres.url()
        prefix = os.environ.get("MODQA_TOPIC_PREFIX", "")
        asyncio.run(ensure_topics(self.bootstrap, Topics(prefix)))
        print("migrating schemas ...", flush=True)
        upgrade_all(self.database_url)
        env = {"MODQA_KAFKA_BOOTSTRAP": self.bootstrap, "MODQA_DATABASE_URL": self.database_url}
        self.processes = [
            ServiceProcess(name, port, env, LOGS) for name, port in SERVICE_PORTS.items()
        ]
        for process in self.processes:
            process.start()
        wait_all_ready(self.processes)
        if self.with_prometheus:
            self.prometheus = PrometheusServer(RUN / "prometheus", port=9090)
            print("starting Prometheus on 127.0.0.1:9090 ...", flush=True)
            self.prometheus.start({p.name: f"127.0.0.1:{p.port}" for p in self.processes})
        if self.demo:
            demo = ServiceProcess("demo", 0, env, LOGS, module="tools.demo")
            demo.env = {**env, "MODQA_DEMO_RATE": str(self.demo_rate)}
            demo.start()
            self.processes.append(demo)
        self._print_addresses()

    def supervise(self, stop: list[bool]) -> None:
        """Restart a process that died, until asked to stop."""
        while not stop[0]:
            for process in self.processes:
                if not process.alive() and not stop[0]:
                    print(f"{process.name} exited; restarting (see {process.log_file})", flush=True)
                    process.start()
            time.sleep(1)

    def stop(self) -> None:
        for process in reversed(self.processes):
            process.stop()
        if self.prometheus is not None:
            self.prometheus.stop()
        if self.kafka is not None:
            self.kafka.stop()
        if self.postgres is not None:
            self.postgres.stop()

    def _print_addresses(self) -> None:
        lines = ["", "modqa is up:"]
        for process in self.processes:
            if process.port:
                lines.append(f"  {process.name:<11} {process.url}  (docs {process.url}/docs)")
        if self.prometheus is not None:
            lines.append(
                f"  prometheus  {self.prometheus.url}  (Grafana dashboards: "
                "deploy/grafana/, docker compose serves them on :3000)"
            )
        lines += [
            f"  kafka       {self.bootstrap}",
            f"  postgres    {self.database_url.replace(':modqa@', ':***@')}",
            f"  logs        {LOGS}/",
            "  demo figures: GET http://127.0.0.1:8004/v1/quality (token: python -m tools.token "
            "--role lead)",
            "Ctrl-C or `make down` stops everything.",
        ]
        print("\n".join(lines), flush=True)


def up(args: argparse.Namespace) -> int:
    RUN.mkdir(parents=True, exist_ok=True)
    running = read_pid(STACK_PID)
    if running is not None:
        print(f"modqa is already running (pid {running}); `make down` stops it", file=sys.stderr)
        return 1
    STACK_PID.write_text(str(os.getpid()))
    stack = Stack(
        demo=not args.no_demo, demo_rate=args.demo_rate, prometheus=not args.no_prometheus
    )
    stop = [False]

    def request_stop(*_: object) -> None:
        stop[0] = True

    signal.signal(signal.SIGINT, request_stop)
    signal.signal(signal.SIGTERM, request_stop)
    try:
        stack.start()
        stack.supervise(stop)
        return 0
    except InfraError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    finally:
        print("stopping modqa ...", flush=True)
        stack.stop()
        STACK_PID.unlink(missing_ok=True)
        print("stopped.", flush=True)


def down(_: argparse.Namespace) -> int:
    pid = read_pid(STACK_PID)
    if pid is not None:
        terminate(pid, timeout_s=90)
    STACK_PID.unlink(missing_ok=True)
    # whatever a killed runner left behind
    PrometheusServer(RUN / "prometheus").stop()
    KafkaBroker(RUN / "kafka").stop()
    if (RUN / "postgres" / "data" / "postmaster.pid").exists():
        PostgresServer(RUN / "postgres").stop()
    print("modqa is down.")
    return 0


def infra(args: argparse.Namespace) -> int:
    """Only Kafka and PostgreSQL, in a folder of the caller's choice (used by tests and bench)."""
    home = Path(args.home)
    kafka = KafkaBroker(home / "kafka", port=args.kafka_port, controller_port=args.kafka_port + 1)
    postgres = PostgresServer(home / "postgres", port=args.pg_port)
    if args.stop:
        kafka.stop()
        postgres.stop()
        return 0
    kafka.start()
    postgres.start()
    print(f"MODQA_KAFKA_BOOTSTRAP={kafka.bootstrap}")
    print(f"MODQA_DATABASE_URL={postgres.url()}")
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    sub = parser.add_subparsers(dest="command", required=True)
    p_up = sub.add_parser("up", help="run everything until Ctrl-C")
    p_up.add_argument("--no-demo", action="store_true")
    p_up.add_argument("--no-prometheus", action="store_true")
    p_up.add_argument("--demo-rate", type=float, default=40.0)
    p_up.set_defaults(run=up)
    sub.add_parser("down", help="stop what `up` started").set_defaults(run=down)
    p_infra = sub.add_parser("infra", help="start (or --stop) only Kafka and PostgreSQL")
    p_infra.add_argument("--home", default=str(RUN / "infra"))
    p_infra.add_argument("--kafka-port", type=int, default=19092)
    p_infra.add_argument("--pg-port", type=int, default=15432)
    p_infra.add_argument("--stop", action="store_true")
    p_infra.set_defaults(run=infra)
    args = parser.parse_args()
    sys.exit(args.run(args))


if __name__ == "__main__":
    main()
