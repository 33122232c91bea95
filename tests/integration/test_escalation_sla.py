"""SLA timers live in the database: a breach that fell due while the service was down is
found by the next process, on a clock the test controls."""

from __future__ import annotations

import datetime as dt

from prometheus_client import REGISTRY

from shared.auth import Role
from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.builders import NOW
from tests.support.escalation import a_drift, a_miss, fast, running_escalation
from tests.support.waiting import eventually


def breaches(kind: str, phase: str) -> float:
    return (
        REGISTRY.get_sample_value(
            "modqa_escalation_sla_breaches_total", {"kind": kind, "phase": phase}
        )
        or 0.0
    )


def sample(name: str, **labels: str) -> float:
    value = REGISTRY.get_sample_value(
        f"modqa_escalation_{name}", {"kind": "critical_miss", **labels}
    )
    return value or 0.0


async def test_a_breach_that_fell_due_while_down_is_raised_and_notified_after_a_restart(
    settings: Settings,
) -> None:
    clock = ManualClock(NOW)
    settings = fast(settings)
    async with running_escalation(settings, clock) as esc:
        await esc.send(a_miss("d-1"), a_drift("drift-1"))
        cases = await esc.wait_cases(lambda c: len(c) == 2, "two cases")
        by_kind = {c["kind"]: c for c in cases}
        assert by_kind["critical_miss"]["due_at"] == "2026-11-20T12:15:00Z"
        assert by_kind["moderator_performance"]["due_at"] == "2026-11-20T20:00:00Z"
        await esc.drained()
    before = breaches("critical_miss", "acknowledge")

    clock.advance(dt.timedelta(minutes=16))  # the p0 missed its 15 minutes while nothing ran
    async with running_escalation(settings, clock) as esc:
        [p0] = await esc.wait_cases(
            lambda c: c[0]["sla_breaches"] == 1, "p0 breach found", kind="critical_miss"
        )
        assert (p0["severity"], p0["change"], p0["actor"], p0["revision"]) == (
            "p0",
            "sla_breached",
            "system",
            2,
        )
        assert p0["due_at"] == "2026-11-20T12:31:00Z", "reminded again within p0's 15 minutes"
        [p2] = await esc.cases(kind="moderator_performance")
        assert (p2["severity"], p2["sla_breaches"]) == ("p2", 0), "not due yet"
        assert breaches("critical_miss", "acknowledge") == before + 1

        # acknowledged, then the resolve deadline (4 hours from opening) passes too
        await esc.act(p0["escalation_id"], action="acknowledge")
        clock.advance(dt.timedelta(hours=8))
        [late] = await esc.wait_cases(
            lambda c: c[0]["sla_breaches"] == 2, "resolve deadline missed", kind="critical_miss"
        )
        assert late["status"] == "acknowledged" and late["severity"] == "p0"
        # and the p2 coaching case missed its 8 hours to acknowledge: one step more urgent
        [raised] = await esc.wait_cases(
            lambda c: c[0]["sla_breaches"] == 1, "p2 breach", kind="moderator_performance"
        )
        assert raised["severity"] == "p1"
        assert raised["due_at"] == "2026-11-20T21:16:00Z", "due within p1's hour of the breach"

        detail = (
            await esc.client.get(
                f"/v1/escalations/{raised['escalation_id']}", headers=esc.as_(Role.LEAD)
            )
        ).json()
        assert detail["history"][-1]["details"] == {
            "phase": "acknowledge",
            "missed_due_at": "2026-11-20T20:00:00+00:00",
            "severity_before": "p2",
        }
        events = await eventually(
            lambda: esc.events(esc.topics.escalations),
            until=lambda e: sum(x["change"] == "sla_breached" for x in e) == 3,
            what="breaches notified",
        )
        assert [e["change"] for e in events if e["escalation_id"] == p0["escalation_id"]] == [
            "opened",
            "sla_breached",
            "acknowledged",
            "sla_breached",
        ]


async def test_targeting_is_renewed_while_the_case_is_open_and_lifted_when_it_closes(
    settings: Settings,
) -> None:
    clock = ManualClock(NOW)
    async with running_escalation(fast(settings), clock) as esc:
        await esc.send(a_miss("d-1", moderator_id="mod-5"))
        [case] = await esc.wait_cases(lambda c: len(c) == 1, "case")
        [first] = await eventually(
            lambda: esc.events(esc.topics.targeting), until=lambda t: len(t) == 1, what="target"
        )
        assert (first["moderator_id"], first["expires_at"]) == ("mod-5", "2026-11-23T12:00:00Z")
        await eventually(
            lambda: esc.client.get("/metrics"),
            until=lambda r: (
                'modqa_escalation_open_cases{kind="critical_miss",severity="p0"} 1.0' in r.text
            ),
            what="open cases gauge",
        )
        assert "modqa_escalation_rules_version 0.0" in (await esc.client.get("/metrics")).text

        clock.advance(dt.timedelta(hours=37))  # past half of the 3-day lifetime
        renewed = await eventually(
            lambda: esc.events(esc.topics.targeting), until=lambda t: len(t) == 2, what="renewal"
        )
        assert renewed[1]["expires_at"] == "2026-11-25T01:00:00Z" and renewed[1]["active"]
        assert renewed[1]["rule_id"] == first["rule_id"]

        acknowledged = sample("time_to_acknowledge_seconds_count", severity="p0")
        closed = sample("time_to_resolve_seconds_count", outcome="dismissed")
        waited = sample("time_to_acknowledge_seconds_sum", severity="p0")
        await esc.act(case["escalation_id"], action="acknowledge")
        await esc.act(case["escalation_id"], action="dismiss", resolution="test content")
        assert sample("time_to_acknowledge_seconds_count", severity="p0") == acknowledged + 1
        assert sample("time_to_resolve_seconds_count", outcome="dismissed") == closed + 1
        assert sample("time_to_acknowledge_seconds_sum", severity="p0") == waited + 37 * 3600
        lifted = await eventually(
            lambda: esc.events(esc.topics.targeting), until=lambda t: len(t) == 3, what="lifted"
        )
        assert lifted[2]["active"] is False and lifted[2]["rule_id"] == first["rule_id"]
        await eventually(
            lambda: esc.client.get("/metrics"),
            until=lambda r: 'modqa_escalation_open_cases{kind="critical_miss"' not in r.text,
            what="no open case left",
        )
