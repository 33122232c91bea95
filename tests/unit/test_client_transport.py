"""The SDK's transport: retries with backoff on connection errors and 502/503/504, one
idempotency key for every attempt of a write, errors that carry the server's message."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest

from modqa_client import AsyncModqaClient, ModqaClient, ModqaError, ServiceUnavailable, api
from modqa_client.transport import RetryPolicy

FAST = RetryPolicy(attempts=4, base_delay_s=0.001, max_delay_s=0.002)
VERDICT = {
    "verdict_id": "v-1",
    "task_id": "t-1",
    "auditor_id": "ana",
    "outcome": "correct",
    "submitted_at": "2026-11-20T12:00:00Z",
}


def client(handler: Callable[[httpx.Request], httpx.Response]) -> ModqaClient:
    return ModqaClient("token", retry=FAST, transport=httpx.MockTransport(handler))


def test_a_write_is_retried_after_503_with_the_same_idempotency_key() -> None:
    keys: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers.get("Idempotency-Key"))
        if len(keys) < 3:
            return httpx.Response(503, json={"detail": "database away"})
        return httpx.Response(200, json=VERDICT)

    with client(handler) as sdk:
        verdict = sdk.submit_verdict("t-1", {"outcome": "correct"}, key="k-1")
    assert verdict.verdict_id == "v-1"
    assert keys == ["k-1", "k-1", "k-1"]


def test_without_a_key_one_is_made_and_kept_across_connection_errors() -> None:
    keys: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers.get("Idempotency-Key"))
        if len(keys) == 1:
            raise httpx.ConnectError("connection refused")
        return httpx.Response(200, json=VERDICT)

    with client(handler) as sdk:
        sdk.submit_verdict("t-1", {"outcome": "correct"})
    assert len(keys) == 2 and keys[0] == keys[1] and keys[0]


def test_a_service_that_stays_away_raises_service_unavailable_after_the_attempts() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        raise httpx.ConnectError("connection refused")

    with client(handler) as sdk, pytest.raises(ServiceUnavailable) as raised:
        sdk.claim_task()
    assert len(calls) == FAST.attempts
    assert "cannot reach" in raised.value.message and raised.value.service == "audit"


def test_a_refusal_is_not_retried_and_carries_the_servers_words() -> None:
    calls = []

    def handler(request: httpx.Request) -> httpx.Response:
        calls.append(request)
        return httpx.Response(409, json={"detail": "task t-1 is not leased to you (expired)"})

    with client(handler) as sdk, pytest.raises(ModqaError) as raised:
        sdk.submit_verdict("t-1", {"outcome": "correct"}, key="k")
    assert len(calls) == 1
    assert raised.value.status == 409
    assert raised.value.message == "task t-1 is not leased to you (expired)"
    assert not isinstance(raised.value, ServiceUnavailable)


@pytest.mark.parametrize(
    ("body", "message"),
    [
        (
            {"detail": [{"loc": ["body", "outcome"], "msg": "Input should be 'correct'"}]},
            "outcome: Input should be 'correct'",
        ),
        (
            {"detail": {"message": "the rule set is not valid", "problems": ["rules.0: kind"]}},
            "the rule set is not valid; rules.0: kind",
        ),
        (
            {"detail": "invalid plan", "errors": [{"field": "floor", "message": "must be > 0"}]},
            "invalid plan; floor: must be > 0",
        ),
    ],
)
def test_every_error_shape_of_the_services_becomes_one_message(
    body: dict[str, object], message: str
) -> None:
    with (
        client(lambda _: httpx.Response(422, json=body)) as sdk,
        pytest.raises(ModqaError) as raised,
    ):
        sdk.call(api.policies())
    assert raised.value.message == message


def test_an_answer_that_is_not_what_the_api_says_is_an_error_not_a_crash() -> None:
    with (
        client(lambda _: httpx.Response(200, text="<html>proxy</html>")) as sdk,
        pytest.raises(ModqaError) as raised,
    ):
        sdk.call(api.my_tasks())
    assert "unexpected answer" in raised.value.message


def test_no_task_is_none() -> None:
    with client(lambda _: httpx.Response(204)) as sdk:
        assert sdk.claim_task() is None


def test_a_yaml_plan_is_sent_as_written() -> None:
    seen: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        seen.append(request)
        return httpx.Response(201, json={"plan_id": "kr", "version": 2, "created": True})

    with client(handler) as sdk:
        stored = sdk.call(api.store_plan(b"base_rate: 0.1\n", yaml=True, plan_id="kr"))
    assert stored.version == 2
    assert seen[0].content == b"base_rate: 0.1\n"
    assert seen[0].headers["Content-Type"] == "application/yaml"
    assert seen[0].url.path == "/v1/sampling-plans/kr"


async def test_the_async_client_retries_the_same_way() -> None:
    keys: list[str | None] = []

    def handler(request: httpx.Request) -> httpx.Response:
        keys.append(request.headers.get("Idempotency-Key"))
        return httpx.Response(502) if len(keys) == 1 else httpx.Response(200, json=VERDICT)

    async with AsyncModqaClient("token", retry=FAST, transport=httpx.MockTransport(handler)) as sdk:
        verdict = await sdk.submit_verdict("t-1", {"outcome": "correct"}, key="k-9")
    assert verdict.outcome == "correct"
    assert keys == ["k-9", "k-9"]
