"""A real Apache Kafka broker (KRaft, combined broker+controller) assembled from Maven Central.

The jars come from `mvn dependency:copy-dependencies` on `deploy/kafka/pom.xml` into
`.cache/kafka/`; the storage is formatted with Kafka's own StorageTool and the broker runs
with `java -cp`.
"""

from __future__ import annotations

import base64
import re
import shutil
import subprocess
import uuid
from dataclasses import dataclass, field
from pathlib import Path

from tools.infra.common import (
    CACHE,
    ROOT,
    InfraError,
    port_open,
    read_pid,
    run,
    terminate,
    wait_until,
)

POM = ROOT / "deploy" / "kafka" / "pom.xml"
LOG4J = ROOT / "deploy" / "kafka" / "log4j2.properties"


def kafka_version() -> str:
    """The broker version pinned in the POM."""
    match = re.search(r"<kafka.version>([^<]+)</kafka.version>", POM.read_text())
    if not match:
        raise InfraError(f"no <kafka.version> in {POM}")
    return match.group(1)


def ensure_jars() -> Path:
    """The folder of the broker's jars, resolved from Maven Central on first use."""
    libs = CACHE / "kafka" / f"libs-{kafka_version()}"
    if (libs / ".complete").exists():
        return libs
    for tool in ("java", "mvn"):
        if shutil.which(tool) is None:
            raise InfraError(f"`{tool}` is not on PATH; install a JDK 17+ and Maven first")
    libs.mkdir(parents=True, exist_ok=True)
    run(
        [
            "mvn",
            "-q",
            "-B",
            "-f",
            str(POM),
            "dependency:copy-dependencies",
            f"-DoutputDirectory={libs}",
            "-DincludeScope=runtime",
        ],
        what="resolving the Kafka broker from Maven Central",
        timeout_s=900,
    )
    (libs / ".complete").write_text(kafka_version())
    return libs


@dataclass
class KafkaBroker:
    """One single-node KRaft broker whose data and logs live under `home`."""

    home: Path
    port: int = 9092
    controller_port: int = 9093
    heap: str = "1g"
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def bootstrap(self) -> str:
        return f"localhost:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.home / "kafka.log"

    @property
    def pid_file(self) -> Path:
        return self.home / "kafka.pid"

    def running_pid(self) -> int | None:
        return read_pid(self.pid_file)

    def start(self, *, timeout_s: float = 90) -> None:
        """Format the storage on first start, launch the broker, wait until it accepts clients."""
        if self.running_pid() is not None:
            wait_until(
                lambda: port_open(self.port), timeout_s=timeout_s, what="Kafka", log=self.log_file
            )
            return
        if port_open(self.port):
            raise InfraError(
                f"port {self.port} is already in use by another process; stop it, or point "
                "MODQA_KAFKA_BOOTSTRAP at that broker to use it instead"
            )
        libs = ensure_jars()
        data = self.home / "data"
        config = self._write_config(data)
        classpath = f"{libs}/*"
        if not (data / "meta.properties").exists():
            data.mkdir(parents=True, exist_ok=True)
            run(
                [
                    "java",
                    "-cp",
                    classpath,
                    f"-Dlog4j2.configurationFile={LOG4J}",
                    "kafka.tools.StorageTool",
                    "format",
                    "--standalone",
                    # Eligible Leader Replicas (on by default for new 4.1 clusters) cannot help a
                    # single replica, and after an unclean restart of the only broker under load
                    # its partitions answered NOT_ENOUGH_REPLICAS for good (seen in make chaos)
                    "--feature",
                    "eligible.leader.replicas.version=0",
                    # one argument: an id that starts with "-" would read as an option
                    f"--cluster-id={_cluster_id()}",
                    "-c",
                    str(config),
                ],
                what="formatting Kafka storage",
            )
        with self.log_file.open("ab") as log:
            process = subprocess.Popen(
                [
                    "java",
                    "-Xms256m",
                    f"-Xmx{self.heap}",
                    "-XX:+UseG1GC",
                    "-Djava.awt.headless=true",
                    f"-Dlog4j2.configurationFile={LOG4J}",
                    "-cp",
                    classpath,
                    "kafka.Kafka",
                    str(config),
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self._process = process
        self.pid_file.write_text(str(process.pid))
        wait_until(
            lambda: process.poll() is None and port_open(self.port),
            timeout_s=timeout_s,
            what=f"Kafka on port {self.port}",
            log=self.log_file,
        )
        if process.poll() is not None:
            raise InfraError(f"Kafka exited at start; see {self.log_file}")

    def stop(self, *, timeout_s: float = 30) -> None:
        """Controlled shutdown (SIGTERM), SIGKILL after the timeout."""
        pid = self.running_pid()
        if pid is not None:
            terminate(pid, timeout_s=timeout_s)
        self._reap()
        self.pid_file.unlink(missing_ok=True)

    def _reap(self) -> None:
        if self._process is not None:
            self._process.wait(timeout=10)
            self._process = None

    def kill(self) -> None:
        """SIGKILL the broker (chaos)."""
        pid = self.running_pid()
        if pid is not None:
            terminate(pid, timeout_s=0)
        self._reap()
        self.pid_file.unlink(missing_ok=True)

    def _write_config(self, data: Path) -> Path:
        self.home.mkdir(parents=True, exist_ok=True)
        config = self.home / "server.properties"
        config.write_text(
            "\n".join(
                [
                    "process.roles=broker,controller",
                    "node.id=1",
                    f"controller.quorum.bootstrap.servers=localhost:{self.controller_port}",
                    f"listeners=PLAINTEXT://localhost:{self.port},"
                    f"CONTROLLER://localhost:{self.controller_port}",
                    f"advertised.listeners=PLAINTEXT://localhost:{self.port}",
                    "controller.listener.names=CONTROLLER",
                    "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT",
                    "inter.broker.listener.name=PLAINTEXT",
                    f"log.dirs={data}",
                    "num.partitions=1",
                    "auto.create.topics.enable=false",
                    "offsets.topic.replication.factor=1",
                    "offsets.topic.num.partitions=10",
                    "transaction.state.log.replication.factor=1",
                    "transaction.state.log.min.isr=1",
                    "transaction.state.log.num.partitions=10",
                    "share.coordinator.state.topic.replication.factor=1",
                    "share.coordinator.state.topic.min.isr=1",
                    "group.initial.rebalance.delay.ms=0",
                    "log.retention.hours=168",
                    "message.max.bytes=2097152",
                    "",
                ]
            )
        )
        return config


def _cluster_id() -> str:
    """A Kafka cluster id: 16 random bytes in URL-safe base64 without padding, never starting
    with '-' (the storage tool would read it as an option, as Kafka's own ids avoid)."""
    while True:
        candidate = base64.urlsafe_b64encode(uuid.uuid4().bytes).decode().rstrip("=")
        if not candidate.startswith("-"):
            return candidate
