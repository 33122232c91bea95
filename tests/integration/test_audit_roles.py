"""Every audit endpoint checks the caller's role: each role is refused where it does not belong,
admitted where it does, and a request without a token is refused everywhere."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator

import pytest

from services.audit.app import create_app
from shared.auth import Role
from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.audit import Audit, running_audit
from tests.support.builders import NOW

A, L, S, P, SY = Role.AUDITOR, Role.LEAD, Role.SME, Role.POLICY, Role.SYSTEM

WHO_MAY: dict[tuple[str, str], set[Role]] = {
    ("POST", "/v1/tasks/claim"): {A},
    ("GET", "/v1/tasks/mine"): {A},
    ("GET", "/v1/tasks"): {L, S},
    ("GET", "/v1/tasks/{task_id}"): {A, L, S},
    ("POST", "/v1/tasks/{task_id}/lease/extend"): {A},
    ("POST", "/v1/tasks/{task_id}/release"): {A},
    ("POST", "/v1/tasks/{task_id}/verdict"): {A},
    ("GET", "/v1/tasks/{task_id}/verdicts"): {A, L, S},
    ("POST", "/v1/tasks/{task_id}/adjudication"): {S},
    ("PATCH", "/v1/tasks/{task_id}"): {L},
    ("POST", "/v1/tasks/{task_id}/cancel"): {L},
    ("PUT", "/v1/auditors/{auditor_id}"): {L},
    ("GET", "/v1/auditors"): {L, S},
    ("GET", "/v1/auditors/{auditor_id}"): {L, S},
    ("GET", "/v1/auditors/{auditor_id}/stats"): {L, S},
    ("GET", "/v1/me"): {A},
    ("GET", "/v1/me/stats"): {A},
    ("GET", "/v1/policies"): set(Role),
    ("PUT", "/v1/policies/{policy_id}"): {P, L},
    ("GET", "/v1/scorecards"): {A, L, S},
    ("GET", "/v1/scorecards/{scorecard_id}"): {A, L, S},
    ("PUT", "/v1/scorecards/{scorecard_id}"): {L},
    ("POST", "/v1/gold"): {L},
    ("GET", "/v1/gold"): {L},
    ("GET", "/v1/verdicts"): {L, S},
    ("GET", "/v1/verdicts/export.csv"): {L},
    ("GET", "/v1/verdicts/{verdict_id}"): {SY, L, S},
    ("POST", "/v1/verdicts/{verdict_id}/disputes"): {SY, L},
    ("GET", "/v1/disputes"): {SY, L, S},
    ("GET", "/v1/disputes/{dispute_id}"): {SY, L, S},
    ("POST", "/v1/disputes/{dispute_id}/arbitration"): {S},
    ("GET", "/v1/audit-log"): {L},
}
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
