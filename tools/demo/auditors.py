"""Simulated auditors: register, claim a task, judge it with the generator's ground truth,
submit, repeat. They handle blind tasks (they label the content), calibration tasks (they
answer like any other; the service closes the round) and scorecards (every criterion)."""

from __future__ import annotations

import asyncio
import logging
import random
from collections.abc import Callable, Sequence
from typing import Any

import httpx

from shared.background import pause
from shared.events import Action
from tools.demo.generator import DecisionStream

log = logging.getLogger(__name__)


def answer(stream: DecisionStream, task: dict[str, Any], *, slip: bool = False) -> dict[str, Any]:
    """The verdict a careful auditor gives a demo task (a label on a blind task); with `slip`
    the auditor gets it wrong (approves what should go, or flags what is fine)."""
    decision = task["decision"]
    try:
        truth = stream.truth(DecisionStream.index_of(decision["decision_id"]))
    except ValueError:  # not one of the stream's decisions (a lead's gold item, say)
        return {"outcome": "unsure", "notes": "not a decision this simulator knows"}
    if slip:
        truth = stream.mistaken(truth, decision)
    if task.get("blind"):
        body: dict[str, Any] = {"expected_action": truth.action.value}
        if truth.policy_id is not None:
            body["expected_policy_id"] = truth.policy_id
        right = None
    else:
        right = truth.action.value == decision["action"] and (
            truth.policy_id is None or truth.policy_id == decision["policy_id"]
        )
        body = (
            {"outcome": "correct"}
            if right
            else {
                "outcome": "incorrect",
                "expected_action": truth.action.value,
                "expected_policy_id": truth.policy_id
                if truth.action is not Action.APPROVE
                else decision["policy_id"],
            }
        )
    scorecard = task.get("scorecard")
    if scorecard:
        body["scorecard"] = {
            c["id"]: "fail" if c.get("critical") and right is False else "pass"
            for c in scorecard["criteria"]
        }
    return body


async def register(
    client: httpx.AsyncClient, *, auditor_id: str, languages: Sequence[str], lead_token: str
) -> None:
    """Put the auditor in the registry (as a lead), so the queue routes tasks to them."""
    response = await client.put(
        f"/v1/auditors/{auditor_id}",
        json={"name": auditor_id, "languages": list(languages), "roles": ["auditor"]},
        headers={"Authorization": f"Bearer {lead_token}"},
    )
    response.raise_for_status()


async def run_auditor(
    *,
    name: str,
    base_url: str,
    token: str,
    stream: DecisionStream,
    stop: asyncio.Event,
    think_s: tuple[float, float] = (0.2, 1.0),
    subject: str | None = None,
    languages: Sequence[str] = (),
    lead_token: str | None = None,
    slip_rate: float = 0.0,
    on_verdict: Callable[[dict[str, Any], dict[str, Any]], None] | None = None,
) -> None:
    """One auditor's working day, until `stop` is set (registering first when given a lead
    token and languages); `on_verdict(task, verdict)` sees each recorded verdict."""
    rng = random.Random(name)
    headers = {"Authorization": f"Bearer {token}"}
    registered = lead_token is None or not languages
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client:
        while not stop.is_set():
            try:
                if not registered:
                    assert lead_token is not None
                    await register(
                        client,
                        auditor_id=subject or name,
                        languages=languages,
                        lead_token=lead_token,
                    )
                    registered = True
                claimed = await client.post("/v1/tasks/claim")
                if claimed.status_code == 204:
                    await pause(stop, 1.0)
                    continue
                claimed.raise_for_status()
                task = claimed.json()
                await pause(stop, rng.uniform(*think_s))
                body = answer(stream, task, slip=rng.random() < slip_rate)
                response = await client.post(
                    f"/v1/tasks/{task['task_id']}/verdict",
                    json=body,
                    headers={"Idempotency-Key": f"{name}-{task['task_id']}"},
                )
                if response.status_code < 400 and on_verdict is not None:
                    on_verdict(task, response.json())
                elif response.status_code >= 400:
                    log.warning(
                        "verdict refused",
                        extra={"status": response.status_code, "body": response.text[:300]},
                    )
            except httpx.HTTPError as error:
                log.warning("audit service unreachable or refusing", extra={"error": str(error)})
                await pause(stop, 2.0)
