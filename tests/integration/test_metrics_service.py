"""The metrics service as a real process: figures over HTTP, reports, restart and replay."""

from __future__ import annotations

import datetime as dt
import time
from pathlib import Path

import httpx

from shared.auth import Role
from shared.events import encode
from shared.settings import Settings
from shared.topics import Topics
from tests.conftest import TEMPLATE_DB, Infra, _drop_database, _recreate_database
from tests.support.events import MISSED, audited
from tests.support.kafka import produce
from tests.support.system import RunningSystem
from tests.support.waiting import eventually
from tools.infra.common import free_port
from tools.infra.services import ServiceProcess

NOW = dt.datetime.now(dt.UTC) - dt.timedelta(hours=2)


def metrics_process(settings: Settings, log_dir: Path, **extra: str) -> ServiceProcess:
    env = {
        "MODQA_ENVIRONMENT": "test",
        "MODQA_KAFKA_BOOTSTRAP": settings.kafka_bootstrap,
        "MODQA_DATABASE_URL": settings.database_url,
        "MODQA_TOPIC_PREFIX": settings.topic_prefix,
        "MODQA_CONSUMER_POLL_MS": "50",
        "MODQA_METRICS_REFRESH_SECONDS": "0.3",
        **extra,
    }
    return ServiceProcess("metrics", free_port(), env, log_dir)


def headers() -> dict[str, str]:
    return RunningSystem(processes={}, env={}, topics=Topics()).headers("lead-1", Role.LEAD)


async def produce_scenario(settings: Settings, topics: Topics) -> int:
    pairs = [
        audited(
            i,
            wrong=i % 7 == 0,
            decided_at=NOW,
            queue=["video", "comments"][i % 2],
            market=["KR", "DE"][i % 3 == 0],
            language=["ko", "de"][i % 3 == 0],
            verdict=MISSED if i % 7 == 0 and i % 2 else None,
            action="remove" if not (i % 7 == 0 and i % 2) else "approve",
        )
        for i in range(120)
    ]
    await produce(
        settings.kafka_bootstrap, topics.tasks, [(t.task_id.encode(), encode(t)) for t, _ in pairs]
    )
    await produce(
        settings.kafka_bootstrap,
        topics.verdicts,
        [(v.task_id.encode(), encode(v)) for _, v in pairs],
    )
    return len(pairs)


async def figures(url: str) -> dict:  # type: ignore[type-arg]
    async with httpx.AsyncClient(base_url=url, headers=headers()) as client:
        response = await client.get("/v1/quality", params={"group_by": "market,queue"})
        return response.json() if response.status_code == 200 else {}


def judged(body: dict) -> int:  # type: ignore[type-arg]
    return sum(row["judged"] for row in body.get("rows", []))


async def test_figures_reports_restart_and_replay(
    settings: Settings, topics: Topics, infra: Infra, tmp_path: Path
) -> None:
    n = await produce_scenario(settings, topics)
    service = metrics_process(settings, tmp_path)
    service.start()
    try:
        service.wait_ready()
        first = await eventually(
            lambda: figures(service.url),
            until=lambda b: judged(b) == n,
            timeout_s=60,
            what="every verdict counted",
        )
        await check_endpoints(service.url)
        await check_roles(service.url)

        service.kill()
        service.start()
        service.wait_ready()
        assert await figures(service.url) == first, "figures changed across a crash"
    finally:
        service.stop()

    # replay every topic from the beginning into an empty store: the same figures
    fresh = f"replay_{int(time.time() * 1000)}"
    await _recreate_database(infra, fresh, template=TEMPLATE_DB)
    replay = metrics_process(
        settings,
        tmp_path,
        MODQA_DATABASE_URL=infra.database_url(fresh),
        MODQA_CONSUMER_GROUP_PREFIX=f"{topics.prefix}replay.",
    )
    replay.start()
    try:
        replay.wait_ready()
        again = await eventually(
            lambda: figures(replay.url),
            until=lambda b: judged(b) == n,
            timeout_s=60,
            what="replay counted every verdict",
        )
        assert again == first
    finally:
        replay.stop()
        await _drop_database(infra, fresh)


async def check_endpoints(url: str) -> None:
    async with httpx.AsyncClient(base_url=url, headers=headers()) as client:
        weekly = await client.get(
            "/v1/reports/weekly",
            params={"week": f"{NOW.isocalendar().year}-W{NOW.isocalendar().week:02d}"},
        )
        assert weekly.status_code == 200, weekly.text
        body = weekly.json()
        assert body["headline"]["n"] > 0 and body["headline"]["low"] <= body["headline"]["rate"]
        markdown = await client.get("/v1/reports/weekly", params={"format": "md", "market": "KR"})
        assert markdown.headers["content-type"].startswith("text/markdown")
        assert "# Weekly quality report: KR" in markdown.text
        daily = await client.get(
            "/v1/reports/daily", params={"date": NOW.date().isoformat(), "format": "csv"}
        )
        assert daily.text.splitlines()[0].startswith("section,name,accuracy")
        dsa = await client.get("/v1/reports/dsa")
        kinds = {(r["dimension"], r["moderator_kind"]) for r in dsa.json()["rows"]}
        assert ("language", "human") in kinds
        strata = await client.get("/v1/strata/error-rates", params={"by": "queue,market"})
        assert {tuple(sorted(s["key"])) for s in strata.json()["strata"]} == {("market", "queue")}
        bad = await client.get("/v1/quality", params={"group_by": "market;drop table"})
        assert bad.status_code == 422 and "unknown field" in bad.json()["detail"]
        assert (await client.get("/v1/drift")).status_code == 200
        assert (await client.get("/v1/agreement")).status_code == 200
        exposition = (await client.get("/metrics")).text
        assert 'modqa_metrics_accuracy_ratio{market="KR",policy_id="all",queue="all"}' in exposition


async def check_roles(url: str) -> None:
    for role in (Role.AUDITOR, Role.SYSTEM):
        caller = RunningSystem(processes={}, env={}, topics=Topics()).headers("x", role)
        async with httpx.AsyncClient(base_url=url, headers=caller) as client:
            assert (await client.get("/v1/quality")).status_code == 403
            assert (await client.get("/v1/reports/weekly")).status_code == 403
    async with httpx.AsyncClient(base_url=url) as anonymous:
        assert (await anonymous.get("/v1/quality")).status_code == 401
