"""Hostile input against the four running services: injection strings in every filter of the
list endpoints (a 2xx with no rows, or a 4xx with a message; never a 5xx, and the tables stay
intact), request bodies over the limit (413, with or without Content-Length), and a service
that refuses to start outside development with the built-in secret."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import AsyncIterator
from urllib.parse import quote

import asyncpg
import httpx
import pytest

from shared.auth import Role
from shared.http import MAX_BODY_BYTES
from shared.settings import DEFAULT_AUTH_SECRET
from tests.support.system import RunningSystem
from tools.infra.common import ROOT

HOSTILE = [
    "' OR '1'='1",
    "1; DROP TABLE audit.verdicts; --",
    "%",
    "_",
    "\\",
    "\x00",
    "x" * 5000,
    "ünïcødé ✓ 🙂 \u202e",
]

FILTERS: dict[str, dict[str, list[str]]] = {
    "audit": {
        "/v1/verdicts": [
            "auditor_id", "moderator_id", "queue", "market", "policy_id", "task_id",
            "decision_id", "cursor",
        ],
        "/v1/verdicts/export.csv": ["auditor_id", "moderator_id", "queue", "policy_id"],
        "/v1/tasks": ["status", "purpose", "queue"],
        "/v1/audit-log": ["actor", "action", "subject_id"],
        "/v1/scorecards": ["queue"],
        "/v1/disputes": ["status"],
    },
    "escalation": {
        "/v1/escalations": ["subject", "owner", "moderator_id", "market", "policy_id", "cursor"],
        "/v1/webhooks/deliveries": ["subscription_id", "status"],
    },
    "metrics": {
        "/v1/quality": [
            "group_by", "market", "queue", "policy_id", "moderator_id", "moderator_team",
            "language", "content_type", "category",
        ],
        "/v1/agreement": ["market", "policy_id", "queue"],
        "/v1/policy-impact": ["policy_id", "market"],
        "/v1/reports/daily": ["market"],
        "/v1/reports/weekly": ["week", "market"],
        "/v1/strata/error-rates": ["by"],
    },
}  # fmt: skip
"""Per service, the list endpoints and the free-text filters each one takes."""

PLAN_PATHS = ["/v1/sampling-plans/{}", "/v1/sampling-plans/{}/versions/1"]
TABLES = ["audit.verdicts", "audit.tasks", "audit.auditors", "audit.audit_log"]
EVERYONE = tuple(Role)


@pytest.fixture(scope="module")
async def seeded(system: RunningSystem) -> RunningSystem:
    """A registry record (and so an audit-log entry) that a filter which leaked would return."""
    async with httpx.AsyncClient(timeout=30) as http:
        response = await http.put(
            f"{system.url('audit')}/v1/auditors/hardening-auditor",
            json={"name": "someone", "languages": ["en"]},
            headers=system.headers("lead-1", Role.LEAD),
        )
        assert response.status_code == 200, response.text
    return system


async def table_counts(database_url: str) -> dict[str, int]:
    conn = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        return {table: await conn.fetchval(f"SELECT count(*) FROM {table}") for table in TABLES}
    finally:
        await conn.close()


def rows_in(body: object) -> int:
    """How many records an answer lists, whatever its shape."""
    if isinstance(body, list):
        return len(body)
    if isinstance(body, dict):
        for key in ("items", "rows", "changes", "strata", "signals"):
            if isinstance(body.get(key), list):
                return len(body[key])
    return 0


async def test_injection_strings_in_filters_match_nothing_and_break_nothing(
    seeded: RunningSystem,
) -> None:
    before = await table_counts(seeded.database_url)
    assert before["audit.audit_log"] >= 1
    wrong: list[str] = []
    headers = seeded.headers("hardening-lead", *EVERYONE)
    async with httpx.AsyncClient(timeout=60) as http:
        calls: list[tuple[str, str, dict[str, str]]] = [
            (service, path, {name: value})
            for service, endpoints in FILTERS.items()
            for path, names in endpoints.items()
            for name in names
            for value in HOSTILE
        ]
        calls += [
            ("sampler", template.format(quote(value, safe="")), {})
            for template in PLAN_PATHS
            for value in HOSTILE
        ]
        calls += [("sampler", "/v1/sampling-plans/dry-run", {"plan_id": v}) for v in HOSTILE]
        for service, path, params in calls:
            method = "POST" if path.endswith("dry-run") else "GET"
            what = f"{service} {method} {path} {repr(params)[:80]}"
            try:
                response = await http.request(
                    method,
                    seeded.url(service) + path,
                    params=params,
                    headers=headers,
                    json={} if method == "POST" else None,
                )
            except httpx.TransportError as error:
                wrong.append(f"{what}: the connection broke ({type(error).__name__})")
                continue
            code = response.status_code
            if code >= 500:
                wrong.append(f"{what}: {code} {response.text[:200]}")
            elif 400 <= code < 500 and not _has_detail(response):
                wrong.append(f"{what}: {code} without a message: {response.text[:200]}")
            elif code < 300 and "json" in response.headers.get("content-type", ""):
                if rows_in(response.json()):
                    wrong.append(f"{what}: matched rows {response.text[:200]}")
            elif code < 300 and path.endswith(".csv") and response.text.count("\n") > 1:
                wrong.append(f"{what}: matched rows {response.text[:200]}")
    assert not wrong, "\n".join(wrong)
    assert await table_counts(seeded.database_url) == before


async def test_bodies_over_the_limit_get_413_with_or_without_a_content_length(
    seeded: RunningSystem,
) -> None:
    too_big = b"{" + b" " * MAX_BODY_BYTES + b"}"

    def chunks() -> list[bytes]:
        return [too_big[i : i + 65536] for i in range(0, len(too_big), 65536)]

    targets = {
        "sampler": "/v1/decisions",
        "audit": "/v1/gold",
        "escalation": "/v1/webhooks",
        "metrics": "/v1/quality",
    }
    async with httpx.AsyncClient(timeout=60) as http:
        for service, path in targets.items():
            method = "GET" if service == "metrics" else "POST"
            headers = {**seeded.headers("big", *EVERYONE), "Content-Type": "application/json"}

            async def streamed() -> AsyncIterator[bytes]:
                for chunk in chunks():
                    yield chunk

            declared = await http.request(
                method, seeded.url(service) + path, content=too_big, headers=headers
            )
            chunked = await http.request(
                method, seeded.url(service) + path, content=streamed(), headers=headers
            )
            assert "content-length" not in {k.lower() for k in chunked.request.headers}
            answers = [("declared", declared), ("chunked", chunked)]
            if service == "metrics":
                # metrics has no route that reads a body: a chunked one is never read, so there
                # is nothing to cut short; only a declared length can be refused up front
                answers = answers[:1]
            for how, response in answers:
                assert response.status_code == 413, f"{service} {how}: {response.status_code}"
                assert str(MAX_BODY_BYTES) in response.json()["detail"]


@pytest.mark.parametrize(
    ("service", "secret"), [("audit", DEFAULT_AUTH_SECRET), ("sampler", "short-secret")]
)
def test_a_service_outside_development_refuses_the_built_in_or_a_short_secret(
    service: str, secret: str
) -> None:
    env = {
        **os.environ,
        "MODQA_ENVIRONMENT": "production",
        "MODQA_AUTH_SECRET": secret,
        "MODQA_PORT": "1",
        "MODQA_KAFKA_BOOTSTRAP": "127.0.0.1:1",
        "MODQA_DATABASE_URL": "postgresql+asyncpg://nobody@127.0.0.1:1/none",
    }
    done = subprocess.run(
        [sys.executable, "-m", f"services.{service}"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=120,
    )
    output = (done.stdout + done.stderr).decode(errors="replace")
    assert done.returncode != 0, f"{service} started: {output[-500:]}"
    assert "MODQA_AUTH_SECRET" in output and "production" in output, output[-1000:]


def _has_detail(response: httpx.Response) -> bool:
    try:
        return bool(response.json().get("detail"))
    except ValueError:
        return False
