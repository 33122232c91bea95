"""The people around the auditors, simulated: moderators who dispute verdicts through their
moderation tool, an SME who arbitrates disputes and calibration rounds with the ground truth,
and a lead who acknowledges, investigates and resolves escalation cases."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from typing import Any

import httpx

from shared.background import pause
from tools.demo.generator import DecisionStream

log = logging.getLogger(__name__)

ROOT_CAUSES = ("training_gap", "policy_unclear", "localisation", "workload", "model_error")


def truth_label(stream: DecisionStream, decision_id: str) -> dict[str, Any] | None:
    """The correct label of a demo decision, as the audit API takes it."""
    try:
        truth = stream.truth(DecisionStream.index_of(decision_id))
    except ValueError:
        return None
    label: dict[str, Any] = {"expected_action": truth.action.value}
    if truth.policy_id is not None:
        label["expected_policy_id"] = truth.policy_id
    return label


class Moderators:
    """Moderators who read their verdicts and dispute the ones they think are wrong: mostly the
    verdicts that really are (the auditor slipped), sometimes ones that are not."""

    def __init__(
        self, stream: DecisionStream, *, honest: float = 0.8, stubborn: float = 0.05
    ) -> None:
        self._stream = stream
        self._queue: asyncio.Queue[tuple[dict[str, Any], dict[str, Any]]] = asyncio.Queue(1000)
        self._honest = honest
        self._stubborn = stubborn
        self._rng = random.Random(7)

    def saw(self, task: dict[str, Any], verdict: dict[str, Any]) -> None:
        """Called with each recorded verdict (drops it when the queue is full)."""
        if verdict.get("outcome") == "incorrect":
            with contextlib.suppress(asyncio.QueueFull):  # a busy tool skips some verdicts
                self._queue.put_nowait((task, verdict))

    async def run(self, *, base_url: str, token: str, stop: asyncio.Event) -> None:
        headers = {"Authorization": f"Bearer {token}"}
        async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client:
            while not stop.is_set():
                try:
                    task, verdict = await asyncio.wait_for(self._queue.get(), timeout=1.0)
                except TimeoutError:
                    continue
                decision = task["decision"]
                truth = truth_label(self._stream, decision["decision_id"])
                moderator_right = truth is not None and truth["expected_action"] == decision.get(
                    "action"
                )
                chance = self._honest if moderator_right else self._stubborn
                if "moderator_id" not in decision or self._rng.random() >= chance:
                    continue
                try:
                    await client.post(
                        f"/v1/verdicts/{verdict['verdict_id']}/disputes",
                        json={
                            "reason": "I applied the policy as written; please review.",
                            "on_behalf_of": decision["moderator_id"],
                        },
                    )
                except httpx.HTTPError as error:
                    log.warning("dispute not sent", extra={"error": str(error)})


async def run_sme(
    *, base_url: str, token: str, stream: DecisionStream, stop: asyncio.Event, every_s: float = 5.0
) -> None:
    """Rule on open disputes and disagreeing calibration rounds with the ground truth."""
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client:
        while not stop.is_set():
            try:
                await _arbitrate(client, stream)
                await _adjudicate(client, stream)
            except httpx.HTTPError as error:
                log.warning("sme paused", extra={"error": str(error)})
            await pause(stop, every_s)


async def _arbitrate(client: httpx.AsyncClient, stream: DecisionStream) -> None:
    response = await client.get("/v1/disputes", params={"status": "open"})
    if response.status_code != 200:
        return
    for dispute in response.json():
        truth = truth_label(stream, dispute["decision_id"])
        verdict = (await client.get(f"/v1/verdicts/{dispute['verdict_id']}")).json()
        auditor_right = truth is not None and truth["expected_action"] == verdict.get(
            "expected_action"
        )
        ruling: dict[str, Any] = (
            {"ruling": "uphold", "note": "the verdict follows the policy"}
            if auditor_right or truth is None
            else {"ruling": "overturn", "note": "the auditor misread the content", "label": truth}
        )
        await client.post(f"/v1/disputes/{dispute['dispute_id']}/arbitration", json=ruling)


async def _adjudicate(client: httpx.AsyncClient, stream: DecisionStream) -> None:
    response = await client.get("/v1/tasks", params={"status": "adjudicating"})
    if response.status_code != 200:
        return
    for task in response.json():
        truth = truth_label(stream, task["decision"]["decision_id"])
        if truth is None:
            continue
        right = truth["expected_action"] == task["decision"].get("action")
        label = {"outcome": "correct"} if right else {"outcome": "incorrect", **truth}
        await client.post(f"/v1/tasks/{task['task_id']}/adjudication", json=label)


async def run_lead(
    *, base_url: str, token: str, stop: asyncio.Event, every_s: float = 10.0
) -> None:
    """Acknowledge new cases, then investigate and resolve them a little later."""
    rng = random.Random(11)
    headers = {"Authorization": f"Bearer {token}"}
    async with httpx.AsyncClient(base_url=base_url, headers=headers, timeout=10) as client:
        while not stop.is_set():
            try:
                for status, action in (
                    ("investigating", "resolve"),
                    ("acknowledged", "investigate"),
                    ("open", "acknowledge"),
                ):
                    page = await client.get(
                        "/v1/escalations", params={"status": status, "limit": 20}
                    )
                    if page.status_code != 200:
                        continue
                    for case in page.json().get("items", []):
                        body: dict[str, Any] = {"action": action}
                        if action == "resolve":
                            body.update(
                                root_cause=rng.choice(ROOT_CAUSES),
                                root_cause_note="found in the weekly review",
                                resolution="content re-actioned; coaching given",
                            )
                        await client.post(
                            f"/v1/escalations/{case['escalation_id']}/actions", json=body
                        )
            except httpx.HTTPError as error:
                log.warning("lead paused", extra={"error": str(error)})
            await pause(stop, every_s)
