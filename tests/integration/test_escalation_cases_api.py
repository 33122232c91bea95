"""Cases over HTTP: transitions with role checks, refusals, history, filters and pagination."""

from __future__ import annotations

import datetime as dt

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from services.escalation import tables
from shared.auth import Role
from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.builders import NOW
from tests.support.escalation import a_drift, a_miss, fast, judged, running_escalation
from tests.support.waiting import eventually


async def test_a_case_goes_from_open_to_resolved_with_history_events_and_targeting_lifted(
    settings: Settings,
) -> None:
    clock = ManualClock(NOW)
    async with running_escalation(fast(settings), clock) as esc:
        await esc.send(a_miss("d-1"))
        [case] = await esc.wait_cases(lambda c: len(c) == 1, "case opened")
        case_id = case["escalation_id"]

        assert (await esc.act(case_id, Role.AUDITOR, action="acknowledge")).status_code == 403
        assert (await esc.act(case_id, Role.POLICY, action="acknowledge")).status_code == 403
        assert (await esc.act(case_id, Role.OPS, action="acknowledge")).status_code == 403
        refused = await esc.act(case_id, action="resolve", resolution="x", root_cause="other")
        assert refused.status_code == 409
        assert (
            "cannot resolve a case that is open; acknowledge it first" in refused.json()["detail"]
        )

        clock.advance(dt.timedelta(minutes=6))
        acked = await esc.act(case_id, Role.SME, action="acknowledge", note="on it")
        assert acked.status_code == 200, acked.text
        assert (acked.json()["status"], acked.json()["owner"]) == ("acknowledged", "sme-1")
        assert acked.json()["due_at"] == "2026-11-20T16:00:00Z"
        stale = await esc.act(case_id, action="investigate", expected_revision=1)
        assert stale.status_code == 409 and "revision 2" in stale.json()["detail"]
        assert (
            await esc.act(case_id, action="investigate", expected_revision=2)
        ).status_code == 200
        incomplete = await esc.act(case_id, action="resolve", resolution="removed")
        assert incomplete.status_code == 422 and "root_cause" in incomplete.json()["detail"]
        unknown = await esc.act(case_id, action="resolve", resolution="r", root_cause="bad luck")
        assert unknown.status_code == 422
        resolved = await esc.act(
            case_id,
            action="resolve",
            root_cause="training_gap",
            root_cause_note="missed grooming cues",
            resolution="content removed, moderator coached",
        )
        assert resolved.status_code == 200, resolved.text
        body = resolved.json()
        assert (body["status"], body["root_cause"], body["revision"]) == (
            "resolved",
            "training_gap",
            4,
        )
        closed = await esc.act(case_id, action="note", note="late remark")
        assert closed.status_code == 409 and "closed" in closed.json()["detail"]

        detail = (
            await esc.client.get(f"/v1/escalations/{case_id}", headers=esc.as_(Role.OPS))
        ).json()
        assert [
            (h["revision"], h["actor"], h["change"], h["from_status"], h["to_status"])
            for h in detail["history"]
        ] == [
            (1, "system", "opened", None, "open"),
            (2, "sme-1", "acknowledged", "open", "acknowledged"),
            (3, "lead-1", "investigating", "acknowledged", "investigating"),
            (4, "lead-1", "resolved", "investigating", "resolved"),
        ]
        assert detail["history"][1]["note"] == "on it"
        assert [t["active"] for t in detail["targeting"]] == [False]

        events = await eventually(
            lambda: esc.events(esc.topics.escalations), until=lambda e: len(e) == 4, what="events"
        )
        assert [(e["revision"], e["status"], e["change"]) for e in events] == [
            (1, "open", "opened"),
            (2, "acknowledged", "acknowledged"),
            (3, "investigating", "investigating"),
            (4, "resolved", "resolved"),
        ]
        targeting = await eventually(
            lambda: esc.events(esc.topics.targeting), until=lambda t: len(t) == 2, what="lifted"
        )
        assert [t["active"] for t in targeting] == [True, False]
        assert targeting[0]["rule_id"] == targeting[1]["rule_id"]

        async with esc.app.state.kit.engine.connect() as conn:
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(
                    text("UPDATE escalation.case_history SET actor = 'someone else'")
                )
            await conn.rollback()
            with pytest.raises(DBAPIError, match="append-only"):
                await conn.execute(text("DELETE FROM escalation.case_history"))
        [acknowledged_at] = [r.acknowledged_at for r in await esc.rows(tables.cases)]
        assert acknowledged_at == NOW + dt.timedelta(minutes=6)


async def test_every_status_can_be_dismissed_from_until_it_closes(settings: Settings) -> None:
    async with running_escalation(fast(settings), ManualClock(NOW)) as esc:
        await esc.send(a_miss("d-1"), a_miss("d-2"), a_miss("d-3"))
        cases = await esc.wait_cases(lambda c: len(c) == 3, "three cases")
        ids = [c["escalation_id"] for c in cases]
        await esc.act(ids[1], action="acknowledge")
        await esc.act(ids[2], action="investigate")
        for case_id in ids:
            assert (await esc.act(case_id, action="dismiss")).status_code == 422, "needs a reason"
            dismissed = await esc.act(
                case_id, Role.SME, action="dismiss", resolution="test content"
            )
            assert dismissed.json()["status"] == "dismissed"
            again = await esc.act(case_id, action="acknowledge")
            assert again.status_code == 409
            assert again.json()["detail"] == "cannot acknowledge a dismissed case: it is closed"
        assert (await esc.act("nope", action="acknowledge")).status_code == 404


async def test_listing_filters_pages_and_shows_each_role_what_it_may_see(
    settings: Settings,
) -> None:
    clock = ManualClock(NOW)
    async with running_escalation(fast(settings), clock) as esc:
        for i in range(5):
            await esc.send(a_miss(f"d-{i}", moderator_id=f"mod-{i % 2}"))
            await esc.wait_cases(lambda c, n=i + 1: len(c) == n, "one more case")
            clock.advance(dt.timedelta(minutes=1))
        await esc.send(
            a_drift(
                "drift-1", scope="market_policy", moderator_id=None, market="KR", policy_id="spam"
            )
        )
        await esc.wait_cases(lambda c: len(c) == 1, "policy case", kind="policy_gap")

        everything = await esc.cases()
        assert len(everything) == 6
        opened = [c["opened_at"] for c in everything]
        assert opened == sorted(opened, reverse=True), "newest first"

        pages, cursor = [], None
        while True:
            params = {"limit": 2, "kind": "critical_miss", **({"cursor": cursor} if cursor else {})}
            body = (
                await esc.client.get("/v1/escalations", params=params, headers=esc.as_(Role.SME))
            ).json()
            pages.append([c["subject"] for c in body["items"]])
            cursor = body["next_cursor"]
            if cursor is None:
                break
        assert pages == [
            ["decision:d-4", "decision:d-3"],
            ["decision:d-2", "decision:d-1"],
            ["decision:d-0"],
        ]

        assert {c["subject"] for c in await esc.cases(moderator_id="mod-1")} == {
            "decision:d-1",
            "decision:d-3",
        }
        assert [c["subject"] for c in await esc.cases(market="KR", kind="policy_gap")] == [
            "market-policy:KR/spam"
        ]
        assert len(await esc.cases(severity="p0", status="open")) == 5
        assert len(await esc.cases(opened_after="2026-11-20T12:03:00Z")) == 3
        assert await esc.cases(subject="decision:d-2") == [
            c for c in everything if c["subject"] == "decision:d-2"
        ]

        policy = await esc.cases(Role.POLICY)
        assert [c["kind"] for c in policy] == ["policy_gap"]
        assert await esc.cases(Role.POLICY, kind="critical_miss") == []
        hidden = everything[-1]["escalation_id"]
        assert (
            await esc.client.get(f"/v1/escalations/{hidden}", headers=esc.as_(Role.POLICY))
        ).status_code == 404
        auditor = await esc.client.get("/v1/escalations", headers=esc.as_(Role.AUDITOR))
        assert auditor.status_code == 403
        assert (await esc.client.get("/v1/escalations")).status_code == 401
        bad = await esc.client.get(
            "/v1/escalations", params={"cursor": "!!"}, headers=esc.as_(Role.LEAD)
        )
        assert bad.status_code == 400


async def test_a_second_opinion_and_replays_grow_one_case_and_issue_one_correction(
    settings: Settings,
) -> None:
    async with running_escalation(fast(settings), ManualClock(NOW)) as esc:
        first = a_miss("d-1")
        second = a_miss("d-1", verdict_id="v-second", auditor_id="auditor-2")
        await esc.send(first, first, second, first)
        [case] = await esc.wait_cases(lambda c: len(c) == 1 and c[0]["trigger_count"] == 2, "grown")
        assert case["evidence"] == [first.verdict_id, "v-second"]
        await esc.send(judged(0, moderator_id="mod-z", correct=True))
        await eventually(
            lambda: esc.rows(tables.verdicts), until=lambda v: len(v) == 3, what="all seen"
        )
        await esc.drained()
        corrections = await esc.events(esc.topics.corrections)
        assert [c["verdict_id"] for c in corrections] == [first.verdict_id]
        assert len(await esc.events(esc.topics.escalations)) == 2
