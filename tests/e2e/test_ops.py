"""Ops against the running system with the demo load: a real Prometheus scrapes the four
services, every query of every Grafana panel returns data, and the alert and recording rules
pass promtool's checks and unit tests."""

from __future__ import annotations

import asyncio
import json
import subprocess
from pathlib import Path

import pytest

from tests.support.system import RunningSystem
from tests.support.waiting import eventually
from tools.dashboards.__main__ import OUT, panel_queries
from tools.infra.common import ROOT, free_port
from tools.infra.prometheus import CONFIG, RULES, PrometheusServer, local_config, prometheus_bin
from tools.infra.services import ServiceProcess

PROMTOOL_TESTS = ROOT / "deploy" / "prometheus" / "tests"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = Path(prometheus_bin()).with_name("promtool")
    return subprocess.run([str(binary), *args], capture_output=True, text=True, check=False)


def test_promtool_accepts_the_config_and_rules_and_their_unit_tests_pass() -> None:
    config = promtool("check", "config", "--syntax-only", str(CONFIG))
    assert config.returncode == 0, config.stdout + config.stderr
    rules = promtool("check", "rules", *map(str, sorted(RULES.glob("*.yml"))))
    assert rules.returncode == 0, rules.stdout + rules.stderr
    tests = promtool("test", "rules", *map(str, sorted(PROMTOOL_TESTS.glob("*.yml"))))
    assert tests.returncode == 0, tests.stdout + tests.stderr


@pytest.fixture(scope="module")
def demo(system: RunningSystem, tmp_path_factory: pytest.TempPathFactory):  # type: ignore[no-untyped-def]
    process = ServiceProcess(
        "demo",
        0,
        {
            **system.env,
            "MODQA_DEMO_RATE": "40",
            "MODQA_DEMO_AUDIT_URL": system.url("audit"),
            "MODQA_DEMO_ESCALATION_URL": system.url("escalation"),
        },
        tmp_path_factory.mktemp("demo"),
        module="tools.demo",
    )
    process.start()
    yield process
    process.stop()


async def test_every_dashboard_query_returns_data_from_a_real_prometheus(
    system: RunningSystem, demo: ServiceProcess, tmp_path: Path
) -> None:
    server = PrometheusServer(tmp_path / "prometheus", port=free_port())
    server.start({name: f"127.0.0.1:{p.port}" for name, p in system.processes.items()})
    try:
        queries = [
            (board.name, title, expr.replace("$market", ".*"))
            for board in sorted(OUT.glob("*.json"))
            for title, expr in panel_queries(json.loads(board.read_text()))
        ]
        assert len(queries) > 20
        for board, title, expr in queries:
            await eventually(
                lambda expr=expr: asyncio.to_thread(server.query, expr),
                until=lambda a: a.get("status") == "success" and bool(a["data"]["result"]),
                timeout_s=240,
                interval_s=5,
                what=f"data for {board}: {title} ({expr})",
            )
        assert demo.alive(), "the demo load must run throughout"
    finally:
        server.stop()


def test_the_local_scrape_config_points_every_job_at_its_service() -> None:
    config = local_config({"sampler": "a:1", "audit": "b:2", "escalation": "c:3", "metrics": "d:4"})
    targets = {
        job["job_name"]: job["static_configs"][0]["targets"] for job in config["scrape_configs"]
    }
    assert targets == {
        "sampler": ["a:1"],
        "audit": ["b:2"],
        "escalation": ["c:3"],
        "metrics": ["d:4"],
    }
