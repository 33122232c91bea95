"""Simulated auditors: claim a task, judge it with the generator's ground truth, submit, repeat."""

from __future__ import annotations

import asyncio
import logging
import random
from typing import Any

import httpx

from shared.background import pause
from shared.events import Action
from tools.demo.generator import DecisionStream

log = logging.getLogger(__name__)


def answer(stream: DecisionStream, decision: dict[str, Any]) -> dict[str, Any]:
    """The verdict a careful auditor gives a demo decision."""
    truth = stream.truth(DecisionStream.index_of(decision["decision_id"]))
    right = truth.action.value == decision["action"] and (
        truth.policy_id is None or truth.policy_id == decision["policy_id"]
    )
    if right:
        return {"outcome": "correct"}
    return {
        "outcome": "incorrect",
        "expected_action": truth.action.value,
        "expected_policy_id": truth.policy_id
        if truth.action is not Action.APPROVE
        else decision["policy_id"],
    }


async def run_auditor(
    *,
    name: str,
    base_url: str,
    token: str,
    stream: DecisionStream,
    stop: asyncio.Event,
    think_s: tuple[float, float] = (0.2, 1.0),
) -> None:
    """One auditor's working day, until `stop` is set."""
    rng = random.Random(name)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client:
        while not stop.is_set():
            try:
                claimed = await client.post("/v1/tasks/claim")
                if claimed.status_code == 204:
                    await pause(stop, 1.0)
                    continue
                claimed.raise_for_status()
                task = claimed.json()
                await pause(stop, rng.uniform(*think_s))
                body = answer(stream, task["decision"])
                response = await client.post(
                    f"/v1/tasks/{task['task_id']}/verdict",
                    json=body,
                    headers={"Idempotency-Key": f"{name}-{task['task_id']}"},
                )
                if response.status_code >= 400:
                    log.warning(
                        "verdict refused",
                        extra={"status": response.status_code, "body": response.text[:300]},
                    )
            except httpx.HTTPError as error:
                log.warning("audit service unreachable", extra={"error": str(error)})
                await pause(stop, 2.0)
