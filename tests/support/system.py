"""The four services as real processes on free ports, for end-to-end tests."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import httpx

from shared.auth import Role, issue_token
from shared.topics import Topics
from tools.infra.common import free_port
from tools.infra.services import SERVICE_PORTS, ServiceProcess, wait_all_ready


@dataclass
class RunningSystem:
    processes: dict[str, ServiceProcess]
    env: dict[str, str]
    topics: Topics

    @property
    def bootstrap(self) -> str:
        return self.env["MODQA_KAFKA_BOOTSTRAP"]

    @property
    def database_url(self) -> str:
        return self.env["MODQA_DATABASE_URL"]

    def url(self, service: str) -> str:
        return self.processes[service].url

    def headers(self, subject: str, *roles: Role) -> dict[str, str]:
        token = issue_token(
            self.env.get("MODQA_AUTH_SECRET") or os.environ["MODQA_AUTH_SECRET"],
            subject=subject,
            roles=list(roles),
            ttl=dt.timedelta(hours=1),
        )
        return {"Authorization": f"Bearer {token}"}

    async def register_auditor(self, auditor_id: str) -> None:
        """Give a caller a registry record in audit with every reviewing role, so that role
        checks are all that can refuse them."""
        async with httpx.AsyncClient(timeout=30) as http:
            response = await http.put(
                f"{self.url('audit')}/v1/auditors/{auditor_id}",
                json={"name": auditor_id, "languages": ["en"], "roles": ["auditor", "sme", "lead"]},
                headers=self.headers("lead-1", Role.LEAD),
            )
        assert response.status_code == 200, response.text


@contextmanager
def running_system(env: dict[str, str], topics: Topics, log_dir: Path) -> Iterator[RunningSystem]:
    """Start the four services with `env`, wait until all are ready, stop them afterwards."""
    processes = {
        name: ServiceProcess(name, free_port(), {**env, "MODQA_LOG_JSON": "true"}, log_dir)
        for name in SERVICE_PORTS
    }
    try:
        for process in processes.values():
            process.start()
        wait_all_ready(list(processes.values()))
        yield RunningSystem(processes=processes, env=env, topics=topics)
    finally:
        for process in processes.values():
            process.stop()
