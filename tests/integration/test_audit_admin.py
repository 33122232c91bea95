"""What leads manage over HTTP against the real database: the policy taxonomy, tasks, the
verdict listing and its CSV export, and the append-only audit log."""

from __future__ import annotations

import csv
import datetime as dt
import io
from collections.abc import AsyncIterator

import pytest
import sqlalchemy
from sqlalchemy import text

from services.audit import handlers
from shared.auth import Role
from shared.clock import ManualClock
from shared.settings import Settings
from shared.taxonomy import load_taxonomy
from tests.support.audit import Audit, running_audit
from tests.support.builders import NOW, a_decision, a_task

LEAD = ("lead-1", Role.LEAD)


@pytest.fixture
async def audit(settings: Settings) -> AsyncIterator[Audit]:
    async with running_audit(settings, ManualClock(NOW)) as running:
        yield running


async def test_the_taxonomy_is_seeded_from_the_file_and_managed_over_http(audit: Audit) -> None:
    policy_team = audit.as_("policy-1", Role.POLICY)
    listed = await audit.http.get("/v1/policies", headers=audit.as_("a1", Role.AUDITOR))
    file_ids = sorted(p.id for p in load_taxonomy().policies)
    assert sorted(p["policy"]["id"] for p in listed.json()) == file_ids

    spam = next(p["policy"] for p in listed.json() if p["policy"]["id"] == "spam")
    rewritten = {**spam, "versions": [{**spam["versions"][0], "actions": ["approve"]}]}
    refused = await audit.http.put("/v1/policies/spam", json=rewritten, headers=policy_team)
    assert refused.status_code == 409 and "cannot change" in refused.json()["detail"]

    new_version = {
        "version": 2,
        "effective_from": "2026-11-01",
        "actions": ["approve", "suspend_account"],
    }
    edited = await audit.http.put(
        "/v1/policies/spam",
        json={**spam, "severity": "major", "versions": [*spam["versions"], new_version]},
        headers=policy_team,
    )
    assert edited.status_code == 200, edited.text
    assert (edited.json()["revision"], edited.json()["policy"]["severity"]) == (2, "major")

    created = await audit.http.put(
        "/v1/policies/deepfakes",
        json={
            "id": "deepfakes",
            "name": "Deceptive synthetic media",
            "severity": "major",
            "versions": [
                {
                    "version": 1,
                    "effective_from": "2026-01-01",
                    "actions": ["approve", "label", "remove"],
                }
            ],
        },
        headers=policy_team,
    )
    assert created.status_code == 200 and created.json()["revision"] == 1

    # verdicts are checked against the stored taxonomy: the new policy and version count
    await handlers.store_tasks(
        sessions=audit.sessions,
        batch=[
            a_task(a_decision(decision_id="d-1", action="remove")),
            a_task(a_decision(decision_id="d-2", action="remove")),
        ],
    )
    await audit.register("a1")
    first = await audit.claim("a1")
    assert first is not None
    relabelled = await audit.verdict(
        "a1",
        first["task_id"],
        {"outcome": "incorrect", "expected_action": "label", "expected_policy_id": "deepfakes"},
    )
    assert relabelled.status_code == 200, relabelled.text
    assert relabelled.json()["error_type"] == "wrong_policy"
    second = await audit.claim("a1")
    assert second is not None
    not_allowed = await audit.verdict(
        "a1",
        second["task_id"],
        {"outcome": "incorrect", "expected_action": "terminate_account"},
    )
    assert not_allowed.status_code == 422, "the decision was judged under spam v1"


async def test_leads_list_filter_page_and_export_verdicts(audit: Audit) -> None:
    markets = ["KR", "US", "KR", "DE", "KR"]
    await handlers.store_tasks(
        sessions=audit.sessions,
        batch=[
            a_task(a_decision(decision_id=f"d-{i}", market=m, action="remove", language="ko"))
            for i, m in enumerate(markets)
        ],
    )
    await audit.register("a1")
    for i in range(len(markets)):
        audit.clock.advance(dt.timedelta(minutes=1))
        task = await audit.claim("a1")
        assert task is not None
        body = (
            {"outcome": "incorrect", "expected_action": "approve", "notes": "=HYPERLINK(1)"}
            if i % 2
            else {"outcome": "correct"}
        )
        assert (await audit.verdict("a1", task["task_id"], body)).status_code == 200

    lead = audit.as_(*LEAD)
    seen: list[str] = []
    cursor = None
    while True:
        params = {"market": "KR", "limit": 2, **({"cursor": cursor} if cursor else {})}
        page = (await audit.http.get("/v1/verdicts", params=params, headers=lead)).json()
        seen += [v["decision_id"] for v in page["items"]]
        cursor = page["next_cursor"]
        if cursor is None:
            break
    assert seen == ["d-4", "d-2", "d-0"], "newest first, every KR verdict once"

    wrong = await audit.http.get(
        "/v1/verdicts", params={"outcome": "incorrect", "auditor_id": "a1"}, headers=lead
    )
    assert sorted(v["decision_id"] for v in wrong.json()["items"]) == ["d-1", "d-3"]
    window = await audit.http.get(
        "/v1/verdicts",
        params={
            "since": (NOW + dt.timedelta(minutes=2)).isoformat(),
            "until": (NOW + dt.timedelta(minutes=4)).isoformat(),
        },
        headers=lead,
    )
    assert sorted(v["decision_id"] for v in window.json()["items"]) == ["d-1", "d-2"]
    bad = await audit.http.get("/v1/verdicts", params={"cursor": "nonsense"}, headers=lead)
    assert bad.status_code == 422

    exported = await audit.http.get(
        "/v1/verdicts/export.csv", params={"market": "KR"}, headers=lead
    )
    assert exported.status_code == 200
    assert exported.headers["content-type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(exported.text)))
    assert [r["decision_id"] for r in rows] == ["d-0", "d-2", "d-4"]
    assert {r["market"] for r in rows} == {"KR"} and rows[0]["auditor_id"] == "a1"
    everything = list(
        csv.DictReader(
            io.StringIO((await audit.http.get("/v1/verdicts/export.csv", headers=lead)).text)
        )
    )
    assert everything[1]["notes"] == "'=HYPERLINK(1)", "cells must not run as formulas"


async def test_leads_steer_tasks_and_every_change_is_in_the_append_only_log(
    audit: Audit,
) -> None:
    task = a_task()
    await handlers.store_tasks(
        sessions=audit.sessions, batch=[task, a_task(a_decision(decision_id="d-2"))]
    )
    lead = audit.as_(*LEAD)
    patched = await audit.http.patch(
        f"/v1/tasks/{task.task_id}", json={"blind": True, "priority": 99}, headers=lead
    )
    assert patched.status_code == 200 and patched.json()["blind"] is True
    await audit.register("a1")
    claimed = await audit.claim("a1")
    assert claimed is not None and claimed["task_id"] == task.task_id and claimed["blind"]
    too_late = await audit.http.patch(
        f"/v1/tasks/{task.task_id}", json={"blind": False}, headers=lead
    )
    assert too_late.status_code == 409
    cancelled = await audit.http.post(
        f"/v1/tasks/{task.task_id}/cancel", json={"reason": "duplicate content"}, headers=lead
    )
    assert cancelled.status_code == 204
    gone = await audit.verdict("a1", task.task_id, {"outcome": "unsure"})
    assert gone.status_code == 409

    log = (
        await audit.http.get("/v1/audit-log", params={"subject_id": task.task_id}, headers=lead)
    ).json()
    assert [(e["action"], e["actor"]) for e in log["items"]] == [
        ("task.updated", "lead-1"),
        ("task.claimed", "a1"),
        ("task.cancelled", "lead-1"),
    ]
    page = (await audit.http.get("/v1/audit-log", params={"limit": 2}, headers=lead)).json()
    rest = (
        await audit.http.get(
            "/v1/audit-log", params={"after_id": page["next_after_id"]}, headers=lead
        )
    ).json()
    assert page["items"][0]["action"] == "taxonomy.seeded"
    assert rest["items"][0]["id"] > page["items"][1]["id"]

    async with audit.sessions.begin() as session:
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
            await session.execute(text("UPDATE audit.audit_log SET actor = 'someone-else'"))
    async with audit.sessions.begin() as session:
        with pytest.raises(sqlalchemy.exc.DBAPIError, match="append-only"):
            await session.execute(text("DELETE FROM audit.audit_log"))
