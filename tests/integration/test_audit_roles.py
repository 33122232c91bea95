"""Every audit endpoint checks the caller's role: each role is refused where it does not belong,
admitted where it does, and a request without a token is refused everywhere."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest
from sqlalchemy import func, select

from services.audit import handlers
from services.audit.app import create_app
from services.audit.tables import verdicts
from shared.auth import Role
from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.access_table import AUDIT
from tests.support.audit import Audit, running_audit
from tests.support.builders import NOW, a_task

WHO_MAY = AUDIT
"""The audit rows of the access table (tests/support/access_table.py)."""
OPEN = {"/healthz", "/readyz", "/metrics"}
"""The only routes without a role check."""


def api_routes() -> set[tuple[str, str]]:
    """Every operation the app publishes in its OpenAPI document."""
    paths = create_app(Settings(environment="test")).openapi()["paths"]
    return {
        (method.upper(), path)
        for path, operations in paths.items()
        if path not in OPEN
        for method in operations
    }


def test_the_role_table_names_every_endpoint() -> None:
    assert api_routes() == set(WHO_MAY), "add new endpoints to WHO_MAY with their roles"


@pytest.fixture
async def audit(settings: Settings) -> AsyncIterator[Audit]:
    async with running_audit(settings, ManualClock(NOW)) as running:
        yield running


async def test_each_role_is_refused_where_it_does_not_belong(audit: Audit) -> None:
    await audit.register("caller")
    wrong: list[str] = []
    for (method, template), allowed in sorted(WHO_MAY.items()):
        path = re.sub(r"\{[a-z_]+\}", "missing-id", template)
        body = None if method == "GET" else {}
        anonymous = await audit.http.request(method, path, json=body)
        if anonymous.status_code != 401:
            wrong.append(f"{method} {template} without a token: {anonymous.status_code}")
        for role in Role:
            response = await audit.http.request(
                method, path, json=body, headers=audit.as_("caller", role)
            )
            refused = response.status_code == 403
            if role in allowed and (refused or response.status_code == 401):
                wrong.append(f"{method} {template} refused {role}: {response.text[:120]}")
            if role not in allowed and not refused:
                wrong.append(f"{method} {template} admitted {role}: {response.status_code}")
    assert not wrong, "\n".join(wrong)


async def test_an_auditor_can_neither_read_nor_touch_a_task_leased_to_someone_else(
    audit: Audit,
) -> None:
    task = a_task()
    await handlers.store_tasks(sessions=audit.sessions, batch=[task])
    for name in ("a1", "a2"):
        await audit.register(name)
    claimed = await audit.claim("a1")
    assert claimed is not None and claimed["task_id"] == task.task_id
    other = audit.as_("a2", Role.AUDITOR)
    base = f"/v1/tasks/{task.task_id}"

    read = await audit.http.get(base, headers=other)
    assert read.status_code == 404, read.text
    assert "a1" not in read.text and task.decision.content_ref not in read.text
    verdicts_read = await audit.http.get(f"{base}/verdicts", headers=other)
    assert verdicts_read.status_code == 404, verdicts_read.text
    for action in ("lease/extend", "release"):
        refused = await audit.http.post(f"{base}/{action}", headers=other)
        assert refused.status_code == 409, refused.text
        assert "not leased to you" in refused.json()["detail"]
    submitted = await audit.verdict("a2", task.task_id, {"outcome": "correct"})
    assert submitted.status_code == 409, submitted.text
    assert "not leased to you" in submitted.json()["detail"]

    mine = await audit.http.get("/v1/tasks/mine", headers=audit.as_("a1", Role.AUDITOR))
    assert [t["task_id"] for t in mine.json()] == [task.task_id], "a1 still holds the lease"
    async with audit.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(verdicts)) == 0
    assert (await audit.verdict("a1", task.task_id, {"outcome": "correct"})).status_code == 200
