"""The access-control matrix against the four running services: every endpoint with no token,
a malformed one, one signed with another secret, an expired one and an unknown API key (401),
and with a token of each single role (403 exactly where the table says the role does not
belong). The table in tests/support/access_table.py is the specification."""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import re

import httpx
import pytest

from shared.auth import Role, issue_token
from tests.support.access_table import ACCESS, PUBLIC, Row
from tests.support.system import RunningSystem

CALLER = "matrix-caller"
MADE_UP_ID = "999999"
"""Fills every path parameter: numeric ones accept it, and no such resource exists."""


def _secret() -> str:
    return os.environ["MODQA_AUTH_SECRET"]


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def refused_credentials() -> dict[str, dict[str, str]]:
    """Headers that must all be answered with 401."""
    long_ago = dt.datetime.now(dt.UTC) - dt.timedelta(days=2)
    return {
        "no token": {},
        "malformed token": _bearer("not-a-token"),
        "token signed with another secret": _bearer(
            issue_token(
                "another-secret-of-at-least-32-characters",
                subject=CALLER,
                roles=list(Role),
                ttl=dt.timedelta(hours=1),
            )
        ),
        "expired token": _bearer(
            issue_token(
                _secret(), subject=CALLER, roles=list(Role), ttl=dt.timedelta(hours=1), now=long_ago
            )
        ),
        "unregistered API key": _bearer("mqk_0123456789ab_not-a-registered-key"),
        "basic auth": {"Authorization": "Basic bWF0cml4OmNhbGxlcg=="},
    }


def concrete(template: str) -> str:
    return re.sub(r"\{[a-z_]+\}", MADE_UP_ID, template)


async def call(
    http: httpx.AsyncClient, base: str, row: Row, headers: dict[str, str]
) -> httpx.Response:
    method, template = row
    body = None if method in ("GET", "DELETE") else {}
    return await http.request(method, base + concrete(template), json=body, headers=headers)


@pytest.fixture(scope="module")
async def registered(system: RunningSystem) -> RunningSystem:
    """The caller has a registry record in audit, so role checks are all that can refuse them."""
    await system.register_auditor(CALLER)
    return system


@pytest.mark.parametrize("service", sorted(ACCESS))
async def test_the_table_names_every_operation_and_public_ones_need_no_token(
    system: RunningSystem, service: str
) -> None:
    async with httpx.AsyncClient(timeout=30) as http:
        document = (await http.get(f"{system.url(service)}/openapi.json")).json()
        published = {
            (method.upper(), path)
            for path, operations in document["paths"].items()
            for method in operations
        }
        assert published - PUBLIC == set(ACCESS[service]), (
            "every operation needs a row in tests/support/access_table.py, and every row an "
            f"operation: missing rows {sorted(published - PUBLIC - set(ACCESS[service]))}, "
            f"stale rows {sorted(set(ACCESS[service]) - published)}"
        )
        assert published >= PUBLIC
        for _, path in sorted(PUBLIC):
            answer = await http.get(system.url(service) + path)
            assert answer.status_code == 200, f"{service} {path}: {answer.status_code}"


@pytest.mark.parametrize("service", sorted(ACCESS))
async def test_bad_credentials_get_401_with_a_message_everywhere(
    registered: RunningSystem, service: str
) -> None:
    wrong: list[str] = []
    async with httpx.AsyncClient(timeout=30) as http:

        async def check(row: Row, what: str, headers: dict[str, str]) -> None:
            response = await call(http, registered.url(service), row, headers)
            detail = _detail(response)
            if response.status_code != 401 or not isinstance(detail, str) or not detail:
                wrong.append(f"{row} with {what}: {response.status_code} {response.text[:120]}")

        await asyncio.gather(
            *(
                check(row, what, headers)
                for row in ACCESS[service]
                for what, headers in refused_credentials().items()
            )
        )
    assert not wrong, "\n".join(sorted(wrong))


@pytest.mark.parametrize("service", sorted(ACCESS))
async def test_each_role_gets_403_exactly_where_the_table_says_it_does_not_belong(
    registered: RunningSystem, service: str
) -> None:
    wrong: list[str] = []
    async with httpx.AsyncClient(timeout=30) as http:

        async def check(row: Row, role: Role) -> None:
            allowed = role in ACCESS[service][row]
            response = await call(
                http, registered.url(service), row, registered.headers(CALLER, role)
            )
            code = response.status_code
            if code >= 500:
                wrong.append(f"{row} as {role}: server error {code} {response.text[:120]}")
            elif allowed and code in (401, 403):
                wrong.append(f"{row} refused {role}: {code} {response.text[:120]}")
            elif not allowed and (code != 403 or not _detail(response)):
                wrong.append(f"{row} admitted {role}: {code} {response.text[:120]}")

        # one role at a time: an admitted call may change state (a claim, a replan)
        for role in Role:
            await asyncio.gather(*(check(row, role) for row in ACCESS[service]))
    assert not wrong, "\n".join(sorted(wrong))


def _detail(response: httpx.Response) -> object:
    try:
        return response.json().get("detail")
    except ValueError:
        return None
