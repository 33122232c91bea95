"""schemathesis against each running service's OpenAPI document: generated requests (a bounded,
derandomized number per operation, so CI sees the same cases every run) sent with a token that
holds every role must never get a 5xx, and every answer must be one the document declares,
with its declared content type and schema."""

from __future__ import annotations

import asyncio
from typing import Any

import hypothesis
import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, Phase
from schemathesis.checks import (
    content_type_conformance,
    not_a_server_error,
    response_schema_conformance,
    status_code_conformance,
)

from shared.auth import Role
from tests.support.access_table import ACCESS
from tests.support.system import RunningSystem

EXAMPLES_PER_OPERATION = 6
CALLER = "fuzz-caller"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]


@pytest.fixture(scope="module")
async def registered(system: RunningSystem) -> RunningSystem:
    """The caller has a registry record in audit, so auditor routes get past the registry."""
    await system.register_auditor(CALLER)
    return system


def fuzz_operation(operation: Any, base_url: str, headers: dict[str, str]) -> str | None:
    """Run the generated cases of one operation; the first failure found, or None."""
    session = requests.Session()

    @hypothesis.settings(
        max_examples=EXAMPLES_PER_OPERATION,
        derandomize=True,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],
        suppress_health_check=list(HealthCheck),
        print_blob=False,
    )
    @hypothesis.given(case=operation.as_strategy())
    def run(case: Any) -> None:
        case.call_and_validate(
            base_url=base_url, session=session, headers=headers, checks=CHECKS, timeout=30
        )

    try:
        run()
    except (Exception, BaseExceptionGroup) as failure:  # a finding: keep fuzzing the others
        return f"{operation.method.upper()} {operation.path}: {failure}"[:3000]
    finally:
        session.close()
    return None


@pytest.mark.parametrize("service", sorted(ACCESS))
async def test_generated_requests_get_no_server_error_and_match_the_schema(
    registered: RunningSystem, service: str
) -> None:
    base_url = registered.url(service)
    schema = schemathesis.openapi.from_url(f"{base_url}/openapi.json")
    headers = registered.headers(CALLER, *Role)
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) >= len(ACCESS[service])

    def fuzz_all() -> list[str]:
        found = (fuzz_operation(operation, base_url, headers) for operation in operations)
        return [failure for failure in found if failure]

    failures = await asyncio.to_thread(fuzz_all)
    assert not failures, "\n\n".join(failures)
