"""Neyman allocation's error rates from a real (tiny) HTTP server standing in for the metrics
service: the request the sampler makes, and what it does when that service is down."""

from __future__ import annotations

import datetime as dt
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

import asyncpg

from services.sampler.domain.plan import Dimension
from services.sampler.errorrates import ErrorRates
from shared.auth import Role, verify_token
from shared.clock import SystemClock
from shared.settings import Settings
from shared.topics import Topics
from tests.support.builders import a_decision
from tests.support.sampler_app import committed_count, fast, headers, sampler, send_decisions
from tests.support.waiting import eventually

ANSWER = {
    "by": ["queue", "market"],
    "strata": [
        {"key": {"queue": "video", "market": "KR"}, "error_rate": 0.20, "n": 412},
        {"key": {"queue": "video", "market": "US"}, "error_rate": 0.01, "n": 950},
        {"key": {"queue": "video"}, "error_rate": 0.5, "n": 3},
    ],
}


@dataclass
class FakeMetrics:
    """A real HTTP server on a free port answering the error-rates endpoint."""

    status: int = 200
    body: bytes = json.dumps(ANSWER).encode()
    requests: list[tuple[str, dict[str, list[str]], str]] = field(default_factory=list)

    @contextmanager
    def serving(self) -> Iterator[str]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                url = urlsplit(self.path)
                fake.requests.append(
                    (url.path, parse_qs(url.query), self.headers.get("Authorization", ""))
                )
                self.send_response(fake.status)
                self.send_header("Content-Type", "application/json")
                self.end_headers()
                self.wfile.write(fake.body)

            def log_message(self, *args: object) -> None:
                return None

        server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        thread = threading.Thread(target=server.serve_forever, daemon=True)
        thread.start()
        try:
            yield f"http://127.0.0.1:{server.server_address[1]}"
        finally:
            server.shutdown()
            server.server_close()
            thread.join(timeout=5)


DIMS = [Dimension.QUEUE, Dimension.MARKET]


async def test_error_rates_are_fetched_with_a_system_token_and_keyed_by_stratum(
    settings: Settings,
) -> None:
    fake = FakeMetrics()
    with fake.serving() as url:
        client = ErrorRates(base_url=url, secret=settings.auth_secret, clock=SystemClock())
        try:
            rates = await client.fetch(DIMS, 28)
        finally:
            await client.close()
    assert rates.keys() == {"queue=video|market=KR", "queue=video|market=US"}
    assert (rates["queue=video|market=KR"].error_rate, rates["queue=video|market=KR"].n) == (
        0.2,
        412,
    )
    path, query, authorization = fake.requests[0]
    assert path == "/v1/strata/error-rates"
    assert query == {"by": ["queue,market"], "days": ["28"]}
    principal = verify_token(settings.auth_secret, authorization.removeprefix("Bearer "))
    assert principal.roles == {Role.SYSTEM}


async def test_a_metrics_service_that_is_down_or_failing_gives_no_rates(settings: Settings) -> None:
    for fake in (FakeMetrics(status=503, body=b"down"), FakeMetrics(body=b"<html>")):
        with fake.serving() as url:
            client = ErrorRates(base_url=url, secret=settings.auth_secret, clock=SystemClock())
            try:
                assert await client.fetch_or_none(DIMS, 28) is None
            finally:
                await client.close()
    with FakeMetrics().serving() as url:
        pass
    client = ErrorRates(base_url=url, secret=settings.auth_secret, clock=SystemClock())
    try:
        assert await client.fetch_or_none(DIMS, 28) is None, "nothing listens any more"
    finally:
        await client.close()


async def traffic_days(database_url: str) -> int:
    db = await asyncpg.connect(database_url.replace("+asyncpg", ""))
    try:
        value = await db.fetchval(
            "SELECT coalesce(sum((summary->>'count')::int), 0) FROM sampler.traffic_days"
        )
        return int(value)
    finally:
        await db.close()


PLAN = {
    "strata": ["queue", "market"],
    "allocation": {"daily_tasks": 300, "days": 28},
    "pools": [{"name": "korean", "match": {"language": "ko"}, "daily_budget": 50}],
}


async def test_applying_a_plan_allocates_by_error_rates_and_keeps_them_when_metrics_is_down(
    settings: Settings, topics: Topics, database_url: str
) -> None:
    fake = FakeMetrics()
    lead = headers(settings, Role.LEAD)
    with fake.serving() as url:
        async with sampler(fast(settings, metrics_url=url)) as (_, client):
            now = dt.datetime.now(dt.UTC)
            await send_decisions(
                settings,
                topics,
                [
                    a_decision(
                        decision_id=f"n-{i}",
                        moderator_id=f"m-{i % 7}",
                        market=["KR", "US"][i % 2],
                        language=["ko", "en"][i % 2],
                        decided_at=now,
                    )
                    for i in range(1000)
                ],
            )
            await eventually(
                lambda: traffic_days(database_url), until=lambda n: n == 1000, what="traffic"
            )
            assert (await client.put("/v1/sampling-plans/n", json=PLAN, headers=lead)).is_success
            applied = await client.put(
                "/v1/sampling-plans/current", json={"plan_id": "n", "version": 1}, headers=lead
            )
            assert applied.status_code == 202, applied.text
            allocation = applied.json()["allocation"]
            assert allocation["source"] == "metrics"
            rates = allocation["rates"]
            assert rates["queue=video|market=KR"] > 3 * rates["queue=video|market=US"]
            assert 0 < applied.json()["scales"]["korean"] < 1, "50 of ~500 Korean decisions a day"

        fake.status, fake.body = 503, b"down"
        async with sampler(fast(settings, metrics_url=url)) as (_, client):
            replanned = await client.post("/v1/sampling-plans/replan", headers=lead)
            assert replanned.status_code == 200
            current = await eventually(
                lambda: client.get("/v1/sampling-plans/current", headers=lead),
                until=lambda r: r.json()["plan_id"] == "n",
                what="the plan in force",
            )
            kept = current.json()["allocation"]
            assert kept["source"] == "metrics" and kept["rates"] == rates
            assert kept["computed_at"] == allocation["computed_at"]
            assert await committed_count(settings, topics) == 1000
