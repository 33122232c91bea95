"""Service processes (`python -m services.<name>`) started, watched, stopped and killed by the
stack runner, the end-to-end tests and the chaos harness alike."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from tools.infra.common import ROOT, InfraError, terminate, wait_until

SERVICE_PORTS = {"sampler": 8001, "audit": 8002, "escalation": 8003, "metrics": 8004}


def http_ok(url: str, timeout_s: float = 1.0) -> bool:
    """True when a GET of the URL answers 2xx."""
    try:
        with urllib.request.urlopen(url, timeout=timeout_s) as response:
            return bool(200 <= response.status < 300)
    except (urllib.error.URLError, OSError):
        return False


@dataclass
class ServiceProcess:
    """One service process with its own log file and environment."""

    name: str
    port: int
    env: dict[str, str]
    log_dir: Path
    module: str = ""
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)
    starts: int = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def log_file(self) -> Path:
        return self.log_dir / f"{self.name}.log"

    def start(self) -> None:
        """Launch the process (its own session, so a terminal's Ctrl-C reaches only the runner)."""
        self.log_dir.mkdir(parents=True, exist_ok=True)
        env = {**os.environ, **self.env, "MODQA_PORT": str(self.port)}
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [sys.executable, "-m", self.module or f"services.{self.name}"],
                cwd=ROOT,
                env=env,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.starts += 1

    def wait_ready(self, timeout_s: float = 60) -> None:
        """Wait for `/readyz` to answer 200; fail with the log tail if the process dies."""

        def ready() -> bool:
            if self.process is not None and self.process.poll() is not None:
                raise InfraError(
                    f"{self.name} exited with {self.process.returncode}; see {self.log_file}"
                )
            return http_ok(f"{self.url}/readyz")

        wait_until(
            ready, timeout_s=timeout_s, what=f"{self.name} on port {self.port}", log=self.log_file
        )

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    def stop(self, timeout_s: float = 25) -> None:
        """Graceful stop: SIGTERM, then SIGKILL after the timeout."""
        if self.process is not None and self.process.poll() is None:
            terminate(self.process.pid, timeout_s=timeout_s)
            self.process.wait(timeout=5)

    def kill(self) -> None:
        """SIGKILL, as a crash would."""
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGKILL)
            self.process.wait(timeout=10)


def wait_all_ready(processes: list[ServiceProcess], timeout_s: float = 90) -> None:
    """Wait for every process's readiness, one deadline for all."""
    deadline = time.monotonic() + timeout_s
    for process in processes:
        process.wait_ready(timeout_s=max(1.0, deadline - time.monotonic()))
