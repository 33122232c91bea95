"""A real Prometheus server from Debian's packages, scraping the local services.

The scrape configuration is `deploy/prometheus/prometheus.yml` (what docker-compose mounts)
with the targets rewritten to where the services listen locally; the rule files are the
same ones.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import urllib.parse
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

from tools.infra.common import ROOT, InfraError, port_open, read_pid, run, terminate, wait_until
from tools.infra.services import http_ok

CONFIG = ROOT / "deploy" / "prometheus" / "prometheus.yml"
RULES = ROOT / "deploy" / "prometheus" / "rules"


def prometheus_bin() -> str:
    """The prometheus binary; installs Debian's package when missing."""
    found = shutil.which("prometheus")
    if found:
        return found
    if os.geteuid() != 0 or shutil.which("apt-get") is None:
        raise InfraError("Prometheus is not installed; run `sudo apt-get install prometheus`")
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    run(["apt-get", "update", "-q"], what="apt-get update", env=env)
    run(
        ["apt-get", "install", "-y", "-q", "--no-install-recommends", "prometheus"],
        what="installing Prometheus from Debian's packages",
        env=env,
    )
    found = shutil.which("prometheus")
    if not found:
        raise InfraError("the prometheus package installed no `prometheus` binary")
    return found


def local_config(targets: dict[str, str]) -> dict[str, Any]:
    """The shipped configuration with each job's target replaced by `targets[job]`."""
    config: dict[str, Any] = yaml.safe_load(CONFIG.read_text())
    config["rule_files"] = [str(RULES / "*.yml")]
    for job in config["scrape_configs"]:
        job["static_configs"] = [{"targets": [targets[job["job_name"]]]}]
    return config


@dataclass
class PrometheusServer:
    """One Prometheus with its data under `home`."""

    home: Path
    port: int = 9090
    _process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid_file(self) -> Path:
        return self.home / "prometheus.pid"

    @property
    def log_file(self) -> Path:
        return self.home / "prometheus.log"

    def start(self, targets: dict[str, str], *, timeout_s: float = 60) -> None:
        """Write the local configuration, start scraping, wait until ready."""
        if read_pid(self.pid_file) is not None:
            return
        if port_open(self.port):
            raise InfraError(f"port {self.port} is already in use; stop what listens there")
        binary = prometheus_bin()
        self.home.mkdir(parents=True, exist_ok=True)
        config = self.home / "prometheus.yml"
        config.write_text(yaml.safe_dump(local_config(targets), sort_keys=False))
        with self.log_file.open("ab") as log:
            self._process = subprocess.Popen(
                [
                    binary,
                    f"--config.file={config}",
                    f"--storage.tsdb.path={self.home / 'data'}",
                    f"--web.listen-address=127.0.0.1:{self.port}",
                    "--web.enable-lifecycle",
                    "--storage.tsdb.retention.time=7d",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )
        self.pid_file.write_text(str(self._process.pid))
        wait_until(
            lambda: http_ok(f"{self.url}/-/ready"),
            timeout_s=timeout_s,
            what=f"Prometheus on port {self.port}",
            log=self.log_file,
        )

    def stop(self) -> None:
        pid = read_pid(self.pid_file)
        if pid is not None:
            terminate(pid, timeout_s=20)
        if self._process is not None:
            self._process.wait(timeout=10)
            self._process = None
        self.pid_file.unlink(missing_ok=True)

    def query(self, expr: str) -> dict[str, Any]:
        """The JSON answer of an instant query."""
        url = f"{self.url}/api/v1/query?{urllib.parse.urlencode({'query': expr})}"
        with urllib.request.urlopen(url, timeout=10) as response:
            body: dict[str, Any] = json.loads(response.read())
        return body
