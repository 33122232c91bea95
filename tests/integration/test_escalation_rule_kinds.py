"""Each rule kind through the real broker and database: events in, cases, corrections and
targeting rules out, grouped by subject; rules changed over HTTP apply without a restart."""

from __future__ import annotations

import datetime as dt

from services.escalation import tables
from shared.auth import Role
from shared.clock import ManualClock
from shared.settings import Settings
from tests.support.builders import NOW
from tests.support.escalation import (
    a_dispute,
    a_drift,
    a_miss,
    fast,
    judged,
    running_escalation,
)
from tests.support.waiting import eventually


async def test_a_critical_miss_opens_a_p0_case_a_correction_and_targets_the_moderator(
    settings: Settings,
) -> None:
    async with running_escalation(fast(settings), ManualClock(NOW)) as esc:
        await esc.send(a_miss("d-1", moderator_id="mod-4"), a_miss("d-2", moderator_id="mod-4"))
        cases = await esc.wait_cases(lambda c: len(c) == 2, "two critical-miss cases")
        assert {(c["kind"], c["severity"], c["subject"]) for c in cases} == {
            ("critical_miss", "p0", "decision:d-1"),
            ("critical_miss", "p0", "decision:d-2"),
        }
        assert {c["due_at"] for c in cases} == {"2026-11-20T12:15:00Z"}
        targeting = await eventually(
            lambda: esc.events(esc.topics.targeting), until=lambda t: len(t) == 2, what="targeting"
        )
        assert {(t["moderator_id"], t["rate"], t["active"]) for t in targeting} == {
            ("mod-4", 0.5, True)
        }
        assert {t["case_id"] for t in targeting} == {c["escalation_id"] for c in cases}
        corrections = await eventually(
            lambda: esc.events(esc.topics.corrections), until=lambda c: len(c) == 2, what="fixes"
        )
        assert sorted(c["decision_id"] for c in corrections) == ["d-1", "d-2"]
        assert {c["corrected_action"] for c in corrections} == {"remove"}


async def test_a_moderator_below_the_accuracy_bar_gets_one_coaching_case_that_grows(
    settings: Settings,
) -> None:
    async with running_escalation(fast(settings), ManualClock(NOW)) as esc:
        # 20 judged audits, 4 wrong: 80% < 85%
        first = [judged(i, moderator_id="mod-7", correct=i % 5 != 0) for i in range(20)]
        await esc.send(*first)
        [case] = await esc.wait_cases(
            lambda c: len(c) == 1, "coaching case", kind="moderator_performance"
        )
        assert (case["subject"], case["owner"], case["severity"]) == (
            "moderator:mod-7",
            "lead:team-b",
            "p2",
        )
        assert sorted(case["evidence"]) == sorted(
            v.verdict_id for v in first if v.outcome.value == "incorrect"
        )
        assert case["figures"][0]["name"] == "accuracy" and case["figures"][0]["value"] == 0.8

        await esc.send(judged(20, moderator_id="mod-7", correct=False))
        [grown] = await esc.wait_cases(
            lambda c: c[0]["trigger_count"] == 2, "the case grew", kind="moderator_performance"
        )
        assert grown["escalation_id"] == case["escalation_id"]
        assert "v-mod-7-spam-20" in grown["evidence"]

        await esc.send(a_drift("drift-1", moderator_id="mod-8", moderator_team="team-d"))
        drifted = await esc.wait_cases(
            lambda c: len(c) == 1, "drift case", subject="moderator:mod-8"
        )
        assert drifted[0]["owner"] == "lead:team-d" and "drift-1" in drifted[0]["evidence"]
        targeting = await eventually(
            lambda: esc.events(esc.topics.targeting),
            until=lambda t: {r.get("moderator_id") for r in t} >= {"mod-7", "mod-8"},
            what="both moderators targeted",
        )
        assert {r["rate"] for r in targeting} == {0.3}


async def test_unsure_verdicts_calibration_disagreements_and_overturns_open_a_policy_case(
    settings: Settings,
) -> None:
    clock = ManualClock(NOW + dt.timedelta(hours=1))
    async with running_escalation(fast(settings), clock) as esc:
        verdicts = [
            judged(
                i,
                moderator_id=f"m{i}",
                correct=True,
                market="ID",
                policy_id="hate_speech",
                outcome="unsure" if i < 5 else None,
            )
            for i in range(20)
        ]
        await esc.send(*verdicts)
        [case] = await esc.wait_cases(lambda c: len(c) == 1, "policy case", kind="policy_gap")
        assert (case["subject"], case["market"], case["policy_id"], case["owner"]) == (
            "market-policy:ID/hate_speech",
            "ID",
            "hate_speech",
            "policy-team",
        )
        assert sorted(case["evidence"]) == sorted(v.verdict_id for v in verdicts[:5])
        [figure] = case["figures"]
        assert (figure["name"], figure["numerator"], figure["denominator"]) == (
            "unsure_share",
            5,
            20,
        )
        assert figure["window_end"] == "2026-11-20T13:00:00Z"

        policy_view = await esc.cases(Role.POLICY)
        assert [c["escalation_id"] for c in policy_view] == [case["escalation_id"]]
        targeting = await eventually(
            lambda: esc.events(esc.topics.targeting), until=lambda t: len(t) == 1, what="targeting"
        )
        assert (targeting[0]["market"], targeting[0]["policy_id"]) == ("ID", "hate_speech")

        # another market and policy: 20 closing calibration verdicts, 7 disagreed (35% > 30%)
        calibrations = [
            judged(
                i,
                moderator_id=f"c{i}",
                correct=True,
                market="DE",
                policy_id="harassment",
                purpose="calibration",
                round=4,
                calibration_agreed=i >= 7,
            )
            for i in range(20)
        ]
        # and 20 arbitrated disputes in a third, 6 overturned (30% > 25%)
        disputes = [
            a_dispute(
                f"disp-{i}",
                market="US",
                policy_id="spam",
                status="overturned" if i < 6 else "upheld",
                resolved_by="sme-1",
            )
            for i in range(20)
        ]
        await esc.send(*calibrations, *disputes)
        gaps = await esc.wait_cases(lambda c: len(c) == 3, "three policy cases", kind="policy_gap")
        by_subject = {c["subject"]: c for c in gaps}
        disagreement = by_subject["market-policy:DE/harassment"]
        assert disagreement["figures"][0]["name"] == "calibration_disagreement_share"
        assert sorted(disagreement["evidence"]) == sorted(v.verdict_id for v in calibrations[:7])
        overturned = by_subject["market-policy:US/spam"]
        assert overturned["figures"][0]["name"] == "overturned_dispute_share"
        assert sorted(overturned["evidence"]) == sorted(f"disp-{i}" for i in range(6))


async def test_a_dispute_not_arbitrated_in_time_opens_a_case_closed_by_its_arbitration(
    settings: Settings,
) -> None:
    clock = ManualClock(NOW)
    async with running_escalation(fast(settings), clock) as esc:
        await esc.send(a_dispute("disp-late", due_at=NOW + dt.timedelta(hours=1)))
        await eventually(
            lambda: esc.rows(tables.disputes), until=lambda d: len(d) == 1, what="kept"
        )
        ticks = esc.app.state.ticker.rounds
        await eventually(
            lambda: esc.app.state.ticker.rounds, until=lambda r: r > ticks + 2, what="ticks"
        )
        assert await esc.cases(kind="dispute") == [], "not due yet"

        clock.advance(dt.timedelta(hours=1, seconds=1))
        [case] = await esc.wait_cases(lambda c: len(c) == 1, "dispute case", kind="dispute")
        assert (case["subject"], case["owner"], case["status"]) == (
            "dispute:disp-late",
            "sme",
            "open",
        )
        assert case["evidence"] == ["disp-late", "v-of-disp-late"]

        await esc.send(
            a_dispute(
                "disp-late",
                status="upheld",
                resolved_by="sme-2",
                updated_at=NOW + dt.timedelta(hours=2),
            )
        )
        [closed] = await esc.wait_cases(
            lambda c: c[0]["status"] == "resolved", "closed by arbitration", kind="dispute"
        )
        assert (closed["actor"], closed["resolution"]) == ("system", "dispute upheld by sme-2")


async def test_rules_uploaded_and_applied_over_http_take_effect_without_a_restart(
    settings: Settings,
) -> None:
    async with running_escalation(fast(settings), ManualClock(NOW)) as esc:
        lead = esc.as_(Role.LEAD, "lead-9")
        listing = (await esc.client.get("/v1/rules", headers=lead)).json()
        assert listing["in_force"] == 0 and listing["versions"][-1]["version"] == 0

        bad = await esc.client.post(
            "/v1/rules",
            content=b"rules:\n  - {id: p, kind: moderator_performance, last_n: -1}",
            headers=lead,
        )
        assert bad.status_code == 422
        assert bad.json()["detail"]["problems"] == [
            "rules[0] (id 'p').last_n: Input should be greater than or equal to 1"
        ]
        strict = (
            "rules:\n  - {id: strict, kind: moderator_performance, last_n: 3, min_accuracy: 0.9}\n"
        )
        sme = await esc.client.post("/v1/rules", content=strict.encode(), headers=esc.as_(Role.SME))
        assert sme.status_code == 403
        created = await esc.client.post(
            "/v1/rules", params={"note": "tighter"}, content=strict.encode(), headers=lead
        )
        assert created.status_code == 201, created.text
        assert (created.json()["version"], created.json()["in_force"]) == (1, False)

        # with the built-in rules (last 20 audits) three audits, one wrong, open nothing
        await esc.send(*(judged(i, moderator_id="mod-r", correct=i != 2) for i in range(3)))
        await eventually(
            lambda: esc.rows(tables.verdicts), until=lambda v: len(v) == 3, what="kept"
        )
        assert await esc.cases() == []
        applied = await esc.client.post("/v1/rules/1/apply", headers=lead)
        assert applied.status_code == 200 and applied.json()["in_force"] is True
        await esc.send(judged(3, moderator_id="mod-r", correct=True))
        [case] = await esc.wait_cases(lambda c: len(c) == 1, "case under the new rules")
        assert case["rule_id"] == "strict" and case["figures"][0]["denominator"] == 3

        shown = (await esc.client.get("/v1/rules/active", headers=esc.as_(Role.POLICY))).json()
        assert (shown["version"], shown["source"]) == (1, strict)
        history = (await esc.client.get("/v1/rules", headers=lead)).json()
        assert history["in_force"] == 1
        assert history["applications"][0] == {
            "version": 1,
            "applied_by": "lead-9",
            "applied_at": "2026-11-20T12:00:00Z",
        }
        assert (await esc.client.get("/v1/rules/7", headers=lead)).status_code == 404
