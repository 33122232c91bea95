"""Webhooks to a real local HTTP receiver that checks signatures on its own: delivery, a bad
signature rejected, retries with backoff, parking, replay, and a slow receiver that never
holds up the consumer."""

from __future__ import annotations

import asyncio
import datetime as dt
import hashlib
import hmac
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from shared.auth import Role
from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.builders import NOW
from tests.support.escalation import Escalation, a_miss, fast, running_escalation
from tests.support.waiting import eventually
from tools.infra.common import free_port

SECRET = "receiver-shared-secret-0123456789"


class Receiver:
    """An HTTP endpoint that accepts only deliveries signed with SECRET."""

    def __init__(self) -> None:
        self.received: dict[str, list[dict[str, Any]]] = {}
        self.rejected = 0
        self.failures_left: dict[str, int] = {}
        self.open = asyncio.Event()
        self.open.set()
        self.held = 0
        self.port = free_port()
        self.app = Starlette(routes=[Route("/{name}", self.hook, methods=["POST"])])

    def url(self, name: str) -> str:
        return f"http://127.0.0.1:{self.port}/{name}"

    async def hook(self, request: Request) -> Response:
        name = request.path_params["name"]
        body = await request.body()
        signed = f"{request.headers['x-modqa-timestamp']}.".encode() + body
        expected = "sha256=" + hmac.new(SECRET.encode(), signed, hashlib.sha256).hexdigest()
        if not hmac.compare_digest(expected, request.headers["x-modqa-signature"]):
            self.rejected += 1
            return Response("bad signature", status_code=401)
        if self.failures_left.get(name, 0) > 0:
            self.failures_left[name] -= 1
            return Response("try later", status_code=503)
        self.held += 1
        await self.open.wait()
        self.held -= 1
        delivery = json.loads(body)
        assert request.headers["x-modqa-delivery"] == delivery["id"]
        assert request.headers["x-modqa-event"] == delivery["type"]
        self.received.setdefault(name, []).append(delivery)
        return Response(status_code=204)


@asynccontextmanager
async def receiving() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    config = uvicorn.Config(
        receiver.app, host="127.0.0.1", port=receiver.port, log_level="warning", lifespan="off"
    )
    server = uvicorn.Server(config)
    task = asyncio.create_task(server.serve())
    await eventually(lambda: server.started, until=bool, what="receiver listening")
    try:
        yield receiver
    finally:
        receiver.open.set()
        server.should_exit = True
        await task


async def subscribe(esc: Escalation, url: str, events: list[str], secret: str) -> str:
    response = await esc.client.post(
        "/v1/webhooks",
        json={"url": url, "events": events, "secret": secret},
        headers=esc.as_(Role.OPS),
    )
    assert response.status_code == 201, response.text
    assert response.json()["secret"] == secret
    subscription_id: str = response.json()["subscription_id"]
    return subscription_id


async def deliveries(esc: Escalation, **params: Any) -> list[dict[str, Any]]:
    response = await esc.client.get(
        "/v1/webhooks/deliveries", params=params, headers=esc.as_(Role.LEAD)
    )
    assert response.status_code == 200, response.text
    items: list[dict[str, Any]] = response.json()["items"]
    return items


async def test_signed_deliveries_retries_with_backoff_parking_and_replay(
    settings: Settings,
) -> None:
    clock = ManualClock(NOW)
    async with (
        receiving() as receiver,
        running_escalation(
            fast(settings, webhook_max_attempts=3, webhook_backoff_seconds=60), clock
        ) as esc,
    ):
        good = await subscribe(esc, receiver.url("good"), ["escalation.*", "correction.*"], SECRET)
        wrong = await subscribe(
            esc, receiver.url("wrong"), ["correction.issued"], "not-the-receivers-secret"
        )
        flaky = await subscribe(esc, receiver.url("flaky"), ["escalation.opened"], SECRET)
        receiver.failures_left["flaky"] = 2
        listed = (await esc.client.get("/v1/webhooks", headers=esc.as_(Role.LEAD))).json()
        assert {s["subscription_id"] for s in listed} == {good, wrong, flaky}
        assert all("secret" not in s for s in listed)
        assert (await esc.client.get("/v1/webhooks", headers=esc.as_(Role.SME))).status_code == 403

        await esc.send(a_miss("d-1"))
        got = await eventually(
            lambda: receiver.received.get("good", []), until=lambda r: len(r) == 2, what="both"
        )
        [case] = await esc.cases()
        by_type = {d["type"]: d for d in got}
        assert by_type["escalation.opened"]["data"]["escalation_id"] == case["escalation_id"]
        assert by_type["escalation.opened"]["id"] == f"escalation:{case['escalation_id']}:1"
        assert by_type["correction.issued"]["data"]["decision_id"] == "d-1"

        # the wrong secret is rejected; the flaky receiver answers 503: both wait 60 s to retry
        await eventually(
            lambda: deliveries(esc, subscription_id=wrong),
            until=lambda d: d and d[0]["attempts"] == 1,
            what="first attempt rejected",
        )
        [rejected] = await deliveries(esc, subscription_id=wrong)
        assert (rejected["status"], rejected["last_status_code"]) == ("pending", 401)
        assert rejected["next_attempt_at"] == "2026-11-20T12:01:00Z"
        await eventually(
            lambda: deliveries(esc, subscription_id=flaky),
            until=lambda d: d and d[0]["attempts"] == 1,
            what="flaky first attempt",
        )
        clock.advance(dt.timedelta(seconds=60))
        await eventually(
            lambda: deliveries(esc, subscription_id=wrong),
            until=lambda d: d[0]["attempts"] == 2,
            what="second attempt",
        )
        [second] = await deliveries(esc, subscription_id=wrong)
        assert second["next_attempt_at"] == "2026-11-20T12:03:00Z", "the wait doubled"
        clock.advance(dt.timedelta(seconds=120))
        [parked] = await eventually(
            lambda: deliveries(esc, status="parked"), until=lambda d: len(d) == 1, what="parked"
        )
        assert (parked["subscription_id"], parked["attempts"], parked["next_attempt_at"]) == (
            wrong,
            3,
            None,
        )
        assert "bad signature" in parked["last_error"]
        detail = (
            await esc.client.get(
                f"/v1/webhooks/deliveries/{parked['delivery_id']}", headers=esc.as_(Role.OPS)
            )
        ).json()
        assert [(a["attempt"], a["status_code"], a["at"]) for a in detail["attempts"]] == [
            (1, 401, "2026-11-20T12:00:00Z"),
            (2, 401, "2026-11-20T12:01:00Z"),
            (3, 401, "2026-11-20T12:03:00Z"),
        ]
        [flaky_done] = await eventually(
            lambda: deliveries(esc, subscription_id=flaky),
            until=lambda d: d[0]["status"] == "delivered",
            what="flaky delivered on the third attempt",
        )
        assert flaky_done["attempts"] == 3 and len(receiver.received["flaky"]) == 1
        assert receiver.rejected == 3

        # fix the secret and replay the parked delivery by hand
        fixed = await esc.client.patch(
            f"/v1/webhooks/{wrong}", json={"secret": SECRET}, headers=esc.as_(Role.LEAD)
        )
        assert fixed.status_code == 200
        replayed = await esc.client.post(
            f"/v1/webhooks/deliveries/{parked['delivery_id']}/replay", headers=esc.as_(Role.LEAD)
        )
        assert replayed.status_code == 200 and replayed.json()["status"] == "pending"
        [corrected] = await eventually(
            lambda: receiver.received.get("wrong", []), until=lambda r: len(r) == 1, what="replayed"
        )
        assert corrected["type"] == "correction.issued"
        [done] = await eventually(
            lambda: deliveries(esc, subscription_id=wrong),
            until=lambda d: d[0]["status"] == "delivered",
            what="recorded delivered",
        )
        again = await esc.client.post(
            f"/v1/webhooks/deliveries/{done['delivery_id']}/replay", headers=esc.as_(Role.LEAD)
        )
        assert again.status_code == 200, "a delivered one can be sent again on request"
        assert (
            await esc.client.post(
                f"/v1/webhooks/deliveries/{done['delivery_id']}/replay", headers=esc.as_(Role.LEAD)
            )
        ).status_code == 409, "but not while it is pending"


async def test_a_receiver_that_hangs_never_holds_up_the_consumer(settings: Settings) -> None:
    async with (
        receiving() as receiver,
        running_escalation(
            fast(settings, webhook_concurrency=1, webhook_timeout_seconds=120), ManualClock(NOW)
        ) as esc,
    ):
        await subscribe(esc, receiver.url("slow"), ["escalation.opened"], SECRET)
        receiver.open.clear()
        await esc.send(a_miss("d-1"))
        await eventually(lambda: receiver.held, until=lambda n: n == 1, what="receiver holding")

        # the only webhook worker is stuck; verdicts keep turning into cases and events
        await esc.send(a_miss("d-2"), a_miss("d-3"))
        await esc.wait_cases(lambda c: len(c) == 3, "cases opened while the receiver hangs")
        await esc.drained()
        assert len(await esc.events(esc.topics.escalations)) == 3
        assert receiver.held == 1 and receiver.received == {}

        receiver.open.set()
        await eventually(
            lambda: receiver.received.get("slow", []), until=lambda r: len(r) == 3, what="caught up"
        )


async def test_subscriptions_are_validated_changed_and_removed(settings: Settings) -> None:
    async with running_escalation(fast(settings), ManualClock(NOW)) as esc:
        lead = esc.as_(Role.LEAD)
        bad = await esc.client.post(
            "/v1/webhooks", json={"url": "http://x/h", "events": ["escalation.opend"]}, headers=lead
        )
        assert bad.status_code == 422 and "matches no event type" in bad.json()["detail"]
        made = await esc.client.post(
            "/v1/webhooks", json={"url": "https://example.test/h", "events": ["*"]}, headers=lead
        )
        assert made.status_code == 201 and len(made.json()["secret"]) >= 32
        sub = made.json()["subscription_id"]
        paused = await esc.client.patch(f"/v1/webhooks/{sub}", json={"active": False}, headers=lead)
        assert paused.json()["active"] is False
        await esc.send(a_miss("d-1"))
        await esc.wait_cases(lambda c: len(c) == 1, "case")
        await esc.drained()
        assert await deliveries(esc) == [], "an inactive subscription gets nothing"
        assert (await esc.client.delete(f"/v1/webhooks/{sub}", headers=lead)).status_code == 204
        assert (await esc.client.get(f"/v1/webhooks/{sub}", headers=lead)).status_code == 404
