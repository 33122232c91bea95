"""The `modqa` command line run as a separate process against a running system, with one
profile per person (their own token), in a configuration folder of the test's own."""

from __future__ import annotations

import datetime as dt
import json
import os
import subprocess
import sys
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx

from modqa_client import config
from shared.auth import Role, issue_token
from shared.events import Decision, Task, TaskReason
from shared.ids import task_id
from tests.support.kafka import produce
from tests.support.system import RunningSystem
from tests.support.terminal import Terminal
from tests.support.waiting import eventually

SERVICES = ("sampler", "audit", "escalation", "metrics")


@dataclass(frozen=True)
class Ran:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        assert self.code == 0, f"exit {self.code}: {self.stderr}"
        return json.loads(self.stdout)


@dataclass
class Cli:
    system: RunningSystem
    config_dir: Path

    @property
    def env(self) -> dict[str, str]:
        return {**os.environ, "MODQA_CONFIG_DIR": str(self.config_dir), "COLUMNS": "160"}

    def argv(self, profile: str, args: Sequence[str]) -> list[str]:
        return [sys.executable, "-m", "modqa_client", "--profile", profile, *args]

    def token(self, subject: str, *roles: Role, secret: str | None = None) -> str:
        return issue_token(
            secret or self.system.env.get("MODQA_AUTH_SECRET") or os.environ["MODQA_AUTH_SECRET"],
            subject=subject,
            roles=list(roles),
            ttl=dt.timedelta(hours=2),
        )

    def login(self, profile: str, token: str) -> None:
        """`modqa login` with the running system's addresses."""
        urls = [arg for s in SERVICES for arg in (f"--{s}", self.system.url(s))]
        done = self.run(profile, "login", "--token", token, *urls)
        assert done.code == 0, done.stderr

    def profile(self, profile: str, token: str) -> None:
        """What `modqa login` saves, written in-process (a process start less per person)."""
        previous = os.environ.get("MODQA_CONFIG_DIR")
        os.environ["MODQA_CONFIG_DIR"] = str(self.config_dir)
        try:
            settings = config.load()
            saved = settings.profile(profile)
            saved.token = token
            saved.urls = {s: self.system.url(s) for s in SERVICES}
            config.save(settings)
        finally:
            if previous is None:
                del os.environ["MODQA_CONFIG_DIR"]
            else:
                os.environ["MODQA_CONFIG_DIR"] = previous

    def run(self, profile: str, *args: str, stdin: str = "") -> Ran:
        """One command, its exit code and outputs (no terminal: input from a pipe)."""
        done = subprocess.run(
            self.argv(profile, args),
            input=stdin,
            capture_output=True,
            text=True,
            env=self.env,
            timeout=120,
        )
        return Ran(done.returncode, done.stdout, done.stderr)

    def terminal(self, profile: str, *args: str) -> Terminal:
        """One command in a pseudo-terminal, to drive with keys."""
        return Terminal(self.argv(profile, args), self.env)

    def pending_file(self, profile: str) -> Path:
        return self.config_dir / "pending" / f"{profile}.json"

    async def register(self, person: str, **fields: Any) -> None:
        """A registry record, put by a lead over HTTP (the CLI has no command for it)."""
        body = {"name": person, "languages": ["ko", "en", "de"], **fields}
        async with httpx.AsyncClient(base_url=self.system.url("audit")) as http:
            answer = await http.put(
                f"/v1/auditors/{person}",
                json=body,
                headers=self.system.headers("lead-setup", Role.LEAD),
            )
        assert answer.status_code == 200, answer.text

    async def staff_get(self, service: str, path: str, **params: Any) -> Any:
        """What a lead sees over HTTP, to check what the CLI did."""
        async with httpx.AsyncClient(base_url=self.system.url(service)) as http:
            answer = await http.get(
                path, params=params, headers=self.system.headers("lead-check", Role.LEAD, Role.SME)
            )
        assert answer.status_code == 200, answer.text
        return answer.json()


def a_decision(decision_id: str, **fields: Any) -> Decision:
    now = dt.datetime.now(dt.UTC)
    values: dict[str, Any] = {
        "decision_id": decision_id,
        "content_id": f"content-{decision_id}",
        "content_type": "video",
        "content_ref": f"https://content.example/video/{decision_id}",
        "queue": "video",
        "market": "KR",
        "language": "ko",
        "moderator_id": "mod-7",
        "moderator_kind": "human",
        "moderator_team": "team-a",
        "policy_id": "spam",
        "policy_version": 1,
        "action": "remove",
        "source": "report",
        "decided_at": now - dt.timedelta(minutes=30),
    }
    values.update(fields)
    return Decision.model_validate(values)


def a_task(decision: Decision, *, priority: int = 50, **fields: Any) -> Task:
    now = dt.datetime.now(dt.UTC)
    values: dict[str, Any] = {
        "task_id": task_id(decision.decision_id, "audit"),
        "decision": decision,
        "plan_id": "default",
        "plan_version": 1,
        "stratum": "all",
        "inclusion_probability": 0.1,
        "reasons": [TaskReason.UNIFORM],
        "priority": priority,
        "due_at": now + dt.timedelta(days=1),
        "created_at": now,
    }
    values.update(fields)
    return Task.model_validate(values)


async def send_tasks(system: RunningSystem, tasks: Sequence[Task]) -> None:
    """Tasks on `audit.tasks`, as the sampler publishes them; returns once audit holds them."""
    await produce(
        system.bootstrap,
        system.topics.tasks,
        [(t.task_id.encode(), t.model_dump_json(by_alias=True).encode()) for t in tasks],
    )
    headers = system.headers("lead-check", Role.LEAD)
    async with httpx.AsyncClient(base_url=system.url("audit"), headers=headers) as http:

        async def stored() -> int:
            answers = [await http.get(f"/v1/tasks/{t.task_id}") for t in tasks]
            return sum(answer.status_code == 200 for answer in answers)

        await eventually(stored, until=lambda n: n == len(tasks), what="audit stored the tasks")
